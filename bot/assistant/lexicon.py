"""The words the reader knows: cues for each request, and the words that are never a name or a description.

Lower-case, as `reading` compares them. Kenyan English, Swahili and Sheng side by side; English nouns that
Kenyans use inside Swahili (invoice, bill, summary, balance, cash, code) count for neither language.
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())

COMMANDS = ("start", "help", "invoice", "invoices", "unmatched", "match", "undo", "summary", "customer", "export",
            "settings", "business", "request", "verify", "language", "record", "reconcile")

# Words that tell the reply language. Nouns shared by both ("invoice", "cash") are in neither.
SWAHILI = _words("""
na ya wa la za cha vya kwa ni je nini gani ngapi nani wapi lini kama bado tu pia sana hii hiyo huu hizi hao hawa
yule ile ule yangu yako yake lake langu zangu zake wangu wake wetu yetu letu leo kesho jana wiki mwezi mwaka huu
ujao uliopita ijayo iliyopita tarehe mwisho siku saa asubuhi jioni usiku mchana habari mambo sawa poa asante
shukran karibu tafadhali ndiyo ndio hapana hakuna kuna iko ako yuko tuko uko ziko iko pesa malipo mteja wateja
deni madeni mkopo ankara ripoti muhtasari mauzo mapato hesabu mipangilio msaada lugha kiswahili kiingereza tuma
weka ongeza andika tengeneza futa ondoa rudisha tengua unganisha angalia onyesha nionyeshe nipe nitumie mtumie
mwandikie niandikie mwombe ombi niunganishe nisaidie saidia naomba nataka ningependa kujua kuona kulipa kutuma
kutumia kufanya naweza unaweza tunaweza nifanye fanya badilisha iwe ongea niongeleshe nawe mimi wewe yeye sisi
ninyi wao kila hata tena bila ambazo ambayo ambao zote wote yote kwanza halafu sasa kisha kweli uongo mzuri
mbaya kubwa ndogo biashara kazi duka bei imepanda imeshuka mungu akubariki mwenyewe namba line hela elfu mia
laki thao ngiri moja mbili tatu nne tano sita saba nane tisa kumi ishirini thelathini arobaini hamsini jumatatu
jumanne jumatano alhamisi ijumaa jumamosi jumapili kutoka mpaka hadi kabla baada alipe ilipwe walipe atalipa
watalipa lipa lipia zilizolipwa zilizo zilizochelewa zimechelewa amechelewa wamechelewa hajalipa hawajalipa
hazijalipwa haijalipwa haijamatch hazijamatch hayajaunganishwa hayana ilikuwa imeingia imefika imekuja zimeingia
ameonyesha ujumbe message kuhusu akaunti orodha akina wenye mwenye nimekosea vibaya samahani oops hapo huyo huyu
hii kama nimeget nimepata tulipata tumepata tumeingiza tuliingiza mzee mama baba bibi shosh dada kaka ndugu
bwana bi mwalimu mimi lakini au ama sijui ku kwenye katika mara tumeuza tuliuza nimeuza nimemuuzia amechukua
wamechukua amenunua kiasi jumla
""")

ENGLISH = _words("""
the a an to for of from in on at by with and or but me my our your you i we us he she they it its this that
these those is are was were be been has have had do does did can could will would should shall please pls plz
thanks thank hello hi hey good morning evening afternoon night how what which who whom whose when where why much
many send show list create make new give get tell check open see view need needs want let all every any some
none only just still yet not no yes ok okay today tomorrow yesterday week month year last next this end due paid
pay pays received receive got came come through payment payments money amount owe owes owing account accounts
what's who's haven't hasn't didn't don't doesn't isn't aren't won't i'll i'm i've we'll switch use speak talk
english swahili language from now on reply answer about file spreadsheet download report takings sales made earn
earned late overdue past unpaid outstanding matched unmatched undo reverse cancel delete remove real fake
genuine verify confirm arrived reached link connect help menu commands cheque bank outside into onto as via
later soon accountant
""")

# Words that are never part of a customer's name nor of what was sold.
KNOWN = SWAHILI | ENGLISH | _words("""
invoice invoices invoce invoise inv bill bills receipt balance balances summary sumary statement excel csv xlsx
pdf export settings setting mipangilio msaada help start stk push prompt m-pesa mpesa mpesa's boss bro sis madam
sir customer client mteja niaje sasa vipi mambo poa fiti shwari freshi sema amepay ameclear amelipa wamelipa
ameshalipa wameshalipa ametuma wametuma ameleta wameleta ameniletea amenitumia amelipia nimepokea tumepokea
nimelipwa nimemlipa nimelipa tumelipa nimewalipa nilimlipa anadaiwa wanadaiwa anadai amebaki imebaki amebakisha
ana ameshindwa ku-use ku-check ku-see ku-match nimematch umematch match matched verify request record language
undo rudisha tengua ondoa futa cancel reverse payment payments pesa pay paid sent received cash ksh kes kshs sh
shs bob shillings shilingi ask asks asking genuine fake real legit kweli halali ok sawa kindly asap haraka
quickly please tafadhali plz pls thanx thnx asante pliz
""")

TITLES = frozenset({"mama", "baba", "mzee", "shosh", "dada", "kaka", "bibi", "bi", "bw", "bwana", "mwalimu",
                    "dr", "mr", "mrs", "ms", "madam", "pastor", "teacher", "uncle", "auntie", "aunt", "cucu",
                    "mami", "mathe", "father", "fr", "sister", "brother"})

# Filler that carries no meaning for the books.
FILLER = _words("""
please pls plz kindly tafadhali boss bro sis madam sir niaje sasa vipi mambo habari hi hello hey oya asap haraka
sana just tu pia now sasa hivi ok okay sawa poa oops sorry samahani aki jameni bana
""")

# Words that may sit inside a description or a name phrase without ending it.
CONNECTORS = frozenset({"ya", "za", "na", "of", "and", "wa", "la", "cha", "vya", "with", "the", "for", "&", "kwa"})

# A word that starts a run of due-date words: what follows is the due date.
DUE_INTROS = frozenset({"due", "alipe", "ilipwe", "walipe", "atalipa", "watalipa", "lipwe", "by", "before",
                        "kabla", "payable", "deadline"})

SWAHILI_VERB = re.compile(
    r"^(?:ni|u|a|tu|m|wa|i|zi|ha|hu|hawa|hatu|ham|hai|hazi|haya|si|ku)(?:me|na|li|ta|ja|sha|ki|nge)"
    r"(?:[mwn]?[a-z]{2,})$"
)


def edit_distance_one(word: str, target: str) -> bool:
    """True when `word` is `target` with one letter added, dropped, changed or two swapped (invoce, sumary)."""
    if word == target:
        return True
    a, b = len(word), len(target)
    if abs(a - b) > 1:
        return False
    if a == b:
        diffs = [i for i in range(a) if word[i] != target[i]]
        if len(diffs) == 1:
            return True
        return (len(diffs) == 2 and diffs[1] == diffs[0] + 1 and word[diffs[0]] == target[diffs[1]]
                and word[diffs[1]] == target[diffs[0]])
    short, long_ = (word, target) if a < b else (target, word)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1:]


def command_word(word: str) -> str | None:
    """The command a first word names, typos of five letters or more forgiven (`invoce`, `sumary`, `unmached`)."""
    if word in COMMANDS:
        return word
    if len(word) >= 5:
        for command in COMMANDS:
            if len(command) >= 5 and edit_distance_one(word, command):
                return command
    return None

SWAHILI_SHENG = _words("""
niaje amepay ameclear wamepay wameclear nimeget ameget mob fiti shwari freshi thao ngiri doh ganji vipi sema oya
manze msee wasee mabeste
""")

# Things sold, never a customer's name even in a message typed all in lower case.
GOODS = _words("""
simu mzigo mbao unga sukari maziwa mkate gas chai mchele maharagwe mafuta sabuni nguo viatu kitenge vitenge
mitumba mahindi mboga nyama samaki soda maji airtime credit stock goods cement mbolea sare kodi rent fees karo
chapati mandazi vitabu line namba pesa hela cash cheque repair delivery transport cake
""")

# Verbs that open a request ("Fungua invoice…", "Mpelekee Chebet bill…"): never part of a name.
VERBS = _words("""
fungua unda peleka mpelekee mletee mwambie mkumbushe kumbusha andaa tayarisha sajili rekodi ingiza niwekee
niandikie nitengenezee mtengenezee mwekee mwandikie mtumie mpe mpa mwombe niletee nitumie tuma weka andika
tengeneza ongeza toa lipisha mlipishe mdai dai anza
mpya
""")
