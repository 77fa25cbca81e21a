"""What a message asks for: the intent and its args, read from the words `reading` found.

`read_message(text, today)` is the one reader: the conversation calls it for every typed message and
`hesabu chat parse` prints what it returns. Rules run in a fixed order, from what must never be booked
(negations, promises, money paid out) to the weakest cue (help); every rule looks at the message once.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from bot.assistant import lexicon as lx
from bot.assistant.reading import (
    Facts,
    Lang,
    Reading,
    find_amounts,
    find_dates,
    find_phones,
    find_receipts,
    find_refs,
    language_evidence,
    tokenize,
)
from bot.ledger.chat_input import InputError
from bot.ledger.spoken import DateProblem, find_month, read_date_at

_FUTURE = re.compile(r"^(?:nita|tuta)(?!ka)[a-z]{3,}$")  # nitatuma, tutalipa (nataka is "I want": not future)
_THEY_WILL = re.compile(r"^(?:ata|wata)(?:ni|tu|m)?(?:lipa|leta|tuma|pay|clear|lipia|maliza|settle)[a-z]*$")
# "Mpelekee", "Mtumie", "Mwambie": a verb with "him/her" in it, the first word of a request to a customer
_OBJECT_VERB = re.compile(r"^mw?[bcdfghjklmnprstvyz][a-z]{2,}(?:ie|ee|e)$")
_HABIT = re.compile(r"^hu(?:lipa|leta|tuma|ja|nunua|chukua|kuja)[a-z]*$")
_NEGATIVE = re.compile(r"^(?:usi|msi)[a-z]{3,}$")
_PAID_OUT = frozenset({"nimelipa", "nimemlipa", "nimewalipa", "tumelipa", "tumemlipa", "nililipa", "nilimlipa",
                       "tulilipa", "nimetuma", "tumetuma", "nimelipia", "nimemtumia", "nimewatumia"})
_PROMISE = frozenset({"alisema", "amesema", "wamesema", "walisema", "said", "says", "promised", "ameahidi",
                      "aliahidi", "ataleta", "atatuma", "will"})
_PAYER_VERBS = frozenset({"amelipa", "wamelipa", "amepay", "wamepay", "ameclear", "wameclear", "ametuma",
                          "wametuma", "ameleta", "wameleta", "ameniletea", "amenitumia", "wamenitumia",
                          "amelipia", "alilipa", "walilipa", "alileta", "alituma", "ameweka", "amenilipa",
                          "wamenilipa", "paid", "sent", "amesettle", "ameniwekea"})
_RECEIVED = frozenset({"nimepokea", "tumepokea", "received", "nimelipwa", "tumelipwa", "got", "nimepata"})
_ALREADY = frozenset({"ameshalipa", "wameshalipa", "ashalipa", "ameshapay", "ashapay"})
_QUESTION_WORDS = frozenset({"je", "ngapi", "gani", "kama", "nani", "how", "what", "which", "who", "did", "does",
                             "has", "have", "is", "was", "kweli", "whether", "if"})
_LANG_NAMES = {"kiswahili": "sw", "swahili": "sw", "kiswahiri": "sw", "sw": "sw", "kiingereza": "en",
               "english": "en", "kimombo": "en", "en": "en", "eng": "en"}
_LANG_CUES = frozenset({"lugha", "language", "switch", "use", "speak", "talk", "ongea", "niongeleshe", "badilisha",
                        "tafadhali", "please", "reply", "jibu", "nijibu", "from", "iwe", "tumia", "in", "kwa",
                        "change", "ongeleshe", "niandikie", "write"})
_VERIFY_CUES = frozenset({"verify", "real", "kweli", "fake", "genuine", "legit", "halali", "imefika", "imeingia",
                          "iko", "arrived", "reached", "through", "thibitisha", "confirm", "check", "angalia",
                          "received", "imekuja", "uongo", "feki", "original", "ipo", "imepokelewa"})
_MATCH_CUES = frozenset({"match", "link", "unganisha", "weka", "malipo", "ilikuwa", "pays", "apply", "allocate",
                         "assign", "for", "ya", "is", "ni", "kwa", "to", "na", "paid"})
_REQUEST_CUES = frozenset({"request", "stk", "prompt", "ombi", "push", "mwombe", "stkpush", "requests"})
_UNDO_CUES = frozenset({"undo", "tengua", "reverse", "revert"})
_DELETE = frozenset({"rudisha", "ondoa", "futa", "cancel", "remove", "delete", "toa", "batilisha"})
_UNDO_OBJECTS = frozenset({"match", "hiyo", "that", "last", "mwisho", "nimekosea", "vibaya", "nimematch",
                           "mistake", "wrong", "hio", "it", "this", "hii", "umematch", "oops"})
_UNMATCHED = frozenset({"unmatched", "haijamatch", "hazijamatch", "hayajamatch", "hayajaunganishwa",
                        "haijaunganishwa", "hazijaunganishwa", "unassigned", "unallocated", "unknown", "unmached",
                        "unmatch", "hayana", "haina"})
_EXPORT = frozenset({"export", "excel", "csv", "spreadsheet", "xlsx", "file", "faili", "statement", "download",
                     "quickbooks", "xero", "sheet"})
_SUMMARY = frozenset({"summary", "muhtasari", "ripoti", "report", "takings", "mauzo", "mapato", "tumepata",
                      "tulipata", "tumeingiza", "tuliingiza", "tumeuza", "tuliuza", "sales", "earned", "made",
                      "make", "collected", "tumekusanya", "revenue", "income", "summery", "sumary"})
_SETTINGS = frozenset({"settings", "setting", "mipangilio", "mpangilio", "preferences"})
_HELP = frozenset({"help", "msaada", "nisaidie", "saidia", "menu", "commands", "command", "maelekezo", "usaidizi",
                   "options"})
_LIST_OPEN = frozenset({"hajalipa", "hawajalipa", "hazijalipwa", "haijalipwa", "unpaid", "outstanding",
                        "open", "pending", "madeni", "wadeni", "wanaodaiwa", "wanadaiwa", "debtors"})
_LIST_OVERDUE = frozenset({"overdue", "amechelewa", "wamechelewa", "zimechelewa", "zilizochelewa", "late",
                           "zimepitwa", "zimepita", "imechelewa", "zilizopitwa"})
_LIST_ALL = frozenset({"all", "zote", "zilizolipwa", "every", "including", "hata"})
_LIST_CUES = frozenset({"list", "show", "nionyeshe", "onyesha", "orodha", "which", "nani", "who", "akina",
                        "wale", "wote", "invoices", "zote", "all", "ambazo", "see", "view", "nipe", "gani"})
_CUSTOMER_CUES = frozenset({"balance", "owe", "owes", "owing", "anadaiwa", "wanadaiwa", "akaunti", "account",
                            "deni", "statement", "amebaki", "anadai", "debt", "credit", "salio"})
_CREATE = frozenset({"tuma", "weka", "tengeneza", "andika", "create", "new", "send", "make", "raise", "issue",
                     "mtumie", "mwandikie", "niandikie", "mwekee", "ongeza", "add", "bill", "charge", "prepare",
                     "generate", "tumia", "unda", "undia", "nimemuuzia", "nimemkopesha", "amechukua", "wamechukua",
                     "amekopa",
                     "took", "bought", "mpe", "andikia", "tengenezea", "mtengenezee", "mwandikia", "put"})
_INVOICE_NOUNS = frozenset({"invoice", "invoce", "invoise", "bill", "ankara", "deni"})
_CREDIT = frozenset({"mkopo", "credit", "deni"})
_GREETING = frozenset({"habari", "mambo", "niaje", "hi", "hello", "hey", "morning", "jambo", "sasa", "vipi",
                       "asante", "thanks", "shukran", "sawa", "poa", "ok", "okay"})


def read_message(text: str, today: date) -> Reading:
    """What `text` asks for, read against the business's local `today`. Never raises."""
    toks = tokenize(text)
    sw, en = language_evidence(toks)
    lang: Lang = "sw" if sw > en else "en"
    sure = abs(sw - en) >= 2
    if not toks:
        return Reading(None, lang=lang, ask="chat", day=today, sure=False)
    facts = Facts(toks, today, question="?" in text)
    find_phones(facts)
    find_receipts(facts)
    command = _command_at_start(facts, text)
    reading = _by_command(facts, command) if command else _by_words(facts)
    return Reading(reading.intent, reading.args, _reply_lang(reading, lang), reading.ask, reading.partial, today,
                   sure or reading.intent == "language")


def _reply_lang(reading: Reading, lang: str) -> Lang:
    target = reading.args.get("lang") if reading.intent == "language" else None
    return "sw" if (target or lang) == "sw" else "en"


def _command_at_start(facts: Facts, text: str) -> str | None:
    """`/invoice@HesabuBot`, `invoice`, `INVOICE`, `invoce`: the command word that opens the message (after a
    greeting or `tafadhali`). A slash word that is no command is `?`."""
    toks = facts.toks
    first = 0
    while first < len(toks) - 1 and toks[first].low in lx.FILLER and not toks[first].low.startswith("/"):
        first += 1
    word = toks[first].low
    slash = word.startswith("/")
    word = word.lstrip("/").split("@")[0]
    found = lx.command_word(word)
    if found is None:
        return "?" + word if slash else None
    facts.used.add(first)
    facts.command_at = first
    return found


def _ask(ask: str, partial: str | None = None, **args: str) -> Reading:
    return Reading(None, dict(args), ask=ask, partial=partial)


def _ok(intent: str, **args: str) -> Reading:
    return Reading(intent, {k: v for k, v in args.items() if v})


# --- slash commands and a leading command word ---------------------------------------------------


def _by_command(facts: Facts, command: str) -> Reading:
    if command.startswith("?"):
        return _ask("unknown_command", command=command[1:])
    handler = _COMMAND_READERS.get(command)
    return handler(facts) if handler is not None else _by_words(facts)


def _cmd_start(facts: Facts) -> Reading:
    rest = _rest(facts)
    if not rest:
        return Reading("start", {})
    code = rest[0].raw.upper()
    return _ok("start", code=code) if re.match(r"^[A-Z0-9]{4,16}$", code) else _ask("start.code")


def _cmd_invoice(facts: Facts) -> Reading:
    find_refs_none = facts  # an invoice being made has no reference yet
    del find_refs_none
    if _list_words(facts) and not _has_amount_word(facts):
        return _invoices(facts)
    return _invoice(facts, command_form=True)


def _cmd_match(facts: Facts) -> Reading:
    refs = find_refs(facts)
    return _match(facts, refs)


def _cmd_summary(facts: Facts) -> Reading:
    return _summary(facts)


def _cmd_customer(facts: Facts) -> Reading:
    if facts.phones:
        return _ok("customer", query=facts.phones[0][2])
    rest = " ".join(t.raw for t in _rest(facts))
    return _ok("customer", query=rest) if rest else _ask("customer.query", "customer")


def _cmd_language(facts: Facts) -> Reading:
    for tok in _rest(facts):
        if tok.low in _LANG_NAMES:
            return _ok("language", lang=_LANG_NAMES[tok.low])
    return _ask("language.which", "language")


def _cmd_verify(facts: Facts) -> Reading:
    return _verify(facts)


def _cmd_request(facts: Facts) -> Reading:
    return _request(facts, find_refs(facts))


def _cmd_record(facts: Facts) -> Reading:
    return _record(facts)


def _cmd_settings(facts: Facts) -> Reading:
    rest = _rest(facts)
    if rest:  # `/settings summary 20:30`: out of the scored grammar, kept as extra args
        return Reading("settings", {"key": rest[0].low, "value": " ".join(t.raw for t in rest[1:])})
    return Reading("settings", {})


def _cmd_business(facts: Facts) -> Reading:
    rest = _rest(facts)
    number = rest[0].raw if rest and re.fullmatch(r"[0-9]{1,6}", rest[0].raw) else None
    return Reading("business", {"number": number} if number else {})


def _cmd_invoices(facts: Facts) -> Reading:
    return _invoices(facts)


def _cmd_export(facts: Facts) -> Reading:
    return _export(facts)


def _cmd_plain(intent: str) -> object:
    def read(facts: Facts) -> Reading:
        return Reading(intent, {})

    return read


def _rest(facts: Facts) -> list:  # type: ignore[type-arg]
    at = facts.command_at
    return [t for i, t in enumerate(facts.toks) if i > at and t.low not in lx.FILLER]


# --- plain sentences -----------------------------------------------------------------------------


def _by_words(facts: Facts) -> Reading:
    w = facts.words
    language = _language(facts)
    if language is not None:
        return language
    if _never_booked(facts):
        return _ask("chat")
    refs_probe = facts.receipts
    if refs_probe:
        return _with_receipt(facts)
    if w & _REQUEST_CUES or facts.phrase("ask") and w & {"pay", "alipe", "kulipa"}:
        return _request(facts, find_refs(facts))
    code = _link_code(facts)
    if code is not None:
        return _ok("start", code=code)
    if w & _UNDO_CUES or (w & _DELETE and w & _UNDO_OBJECTS):
        return _ok("undo")
    if w & _DELETE and len([t for t in facts.toks if t.low not in lx.FILLER]) <= 2:
        return _ask("delete.what")
    if w & {"code", "message", "ujumbe", "msg", "sms"} and w & _VERIFY_CUES:
        return _ask("verify.receipt", "verify")
    if w & _UNMATCHED or _phrase_any(facts, ("bila", "invoice"), ("without", "invoice"), ("not", "matched"),
                                     ("haven't", "been", "matched"), ("bila", "mwenyewe"), ("no", "invoice"),
                                     ("without", "an", "invoice"), ("without", "invoices"), ("not", "yet", "matched"),
                                     ("yasiyo", "na", "invoice"), ("isiyo", "na", "invoice"),
                                     ("hayana", "invoice")):
        return _ok("unmatched")
    if w & _EXPORT and not (w & {"ripoti", "report"} and not w & {"file", "excel", "csv"}):
        return _export(facts)
    if w & _SETTINGS:
        return Reading("settings", {})
    payer = _payer_reading(facts)
    if payer is not None:
        return payer
    owe = w & _CUSTOMER_CUES
    if (w & _SUMMARY or _summary_phrase(facts)) and (not owe or w & {"ripoti", "report", "summary", "muhtasari"}):
        return _summary(facts)
    creating = _creating(facts)
    if creating:
        return _invoice(facts, command_form=False)
    if _list_words(facts) and (w & (_LIST_OPEN | _LIST_OVERDUE) or w & {"invoices", "invoice", "ankara"}):
        if not w & _LIST_CUES and (_name_runs(facts, command_form=False) or facts.phones):
            return _customer(facts)  # "Mary hajalipa?" asks about Mary
        return _invoices(facts)
    if owe or w & _ALREADY:
        if w & {"who", "nani", "wanaodaiwa"} and not _name_runs(facts, command_form=False) and not facts.phones:
            return _invoices(facts)  # "who still owes me?": the list, not one customer
        return _customer(facts)
    if w & _HELP or _phrase_any(facts, ("what", "can", "you", "do"), ("unaweza", "kufanya"), ("how", "do", "i"),
                                ("ninaweza", "kufanya"), ("naweza", "kufanya"), ("kufanya", "nini"),
                                ("how", "does", "this"), ("ku-use",), ("kutumia",)):
        return _ok("help")
    return _bare(facts)


def _phrase_any(facts: Facts, *phrases: tuple[str, ...]) -> bool:
    return any(facts.phrase(*p) for p in phrases)


def _language(facts: Facts) -> Reading | None:
    named = [(i, _LANG_NAMES[t.low]) for i, t in enumerate(facts.toks) if t.low in _LANG_NAMES
             and t.low not in ("sw", "en", "eng")]
    if not named:
        return None
    content = [t for t in facts.toks if t.low not in lx.FILLER]
    if not (facts.words & _LANG_CUES) and len(content) > 2:
        return None
    after = [lang for i, lang in named if i > 0 and facts.toks[i - 1].low in ("to", "into", "iwe", "kwa", "in", "ya")]
    return _ok("language", lang=(after or [named[-1][1]])[-1])


def _never_booked(facts: Facts) -> bool:
    """Negations, promises, intentions, habits and money the owner paid out: statements, not requests."""
    w = facts.words
    if facts.prefixed(_NEGATIVE) or w & {"don't", "dont", "do not", "usitume", "never"} or facts.phrase("do", "not"):
        return True
    if w & _PAID_OUT or _phrase_any(facts, ("i", "paid"), ("we", "paid"), ("i", "sent"), ("we", "sent"),
                                    ("i", "have", "paid"), ("i've", "paid")):
        return True
    if facts.prefixed(_FUTURE) or w & {"i'll", "we'll", "later", "baadaye"}:
        return not w & {"alipe", "ilipwe"} or facts.prefixed(_FUTURE)
    if w & _PROMISE and not w & (_CREDIT | {"invoice", "ankara", "bill"}):
        return True
    if facts.prefixed(_THEY_WILL) and not w & (_CREDIT | {"invoice", "ankara", "bill", "nimemuuzia"}):
        return True
    return bool(facts.prefixed(_HABIT))


def _link_code(facts: Facts) -> str | None:
    w = facts.words
    if not w & {"code", "link", "niunganishe", "unganisha", "connect", "join", "kodi", "msimbo"}:
        return None
    if w & {"kweli", "real", "fake", "genuine", "imeingia", "imefika"}:
        return None
    for i, tok in enumerate(facts.toks):
        up = tok.raw.upper()
        if (i not in facts.used and _is_code(up)):
            return up
    return None


def _is_code(up: str) -> bool:
    return bool(re.match(r"^[A-Z0-9]{6,8}$", up)) and any(c.isdigit() for c in up) and any(c.isalpha() for c in up)


def _summary_phrase(facts: Facts) -> bool:
    return _phrase_any(facts, ("how", "much", "did", "we"), ("came", "in"), ("come", "in"), ("hesabu", "ya"),
                       ("hesabu", "za"), ("pesa", "ngapi"), ("tumepata", "ngapi"), ("how", "much", "came"))


def _list_words(facts: Facts) -> bool:
    w = facts.words
    return bool(w & (_LIST_CUES | _LIST_OPEN | _LIST_OVERDUE)) or facts.phrase("past", "due")


def _has_amount_word(facts: Facts) -> bool:
    return any(re.match(r"^\d", t.raw) for i, t in enumerate(facts.toks) if i not in facts.used) or bool(
        facts.words & {"elfu", "mia", "laki", "thao", "ngiri"})


def _creating(facts: Facts) -> bool:
    """A sale on credit: an invoice or bill noun with a verb that makes one, `deni` with andika/weka, `kwa
    mkopo`/`kwa deni` after a sale, or an invoice noun with an amount."""
    w = facts.words
    noun = w & _INVOICE_NOUNS
    if noun and w & _CREATE:
        return True
    if facts.toks[0].low in ("charge", "bill") and _has_amount_word(facts):
        return True  # "Charge Otieno 2000 for delivery": the verb is the invoice
    if w & {"nimemuuzia", "amechukua", "wamechukua", "nimemkopesha", "amekopa", "took", "bought"} and w & _CREDIT:
        return True
    if facts.phrase("kwa", "mkopo") or facts.phrase("on", "credit") or facts.phrase("kwa", "deni"):
        return True
    return bool(noun - {"deni"}) and _has_amount_word(facts) and not w & (_LIST_CUES - {"nipe"})


# --- each intent's args --------------------------------------------------------------------------


def _with_receipt(facts: Facts) -> Reading:
    refs = find_refs(facts)
    w = facts.words
    if refs and not (w & (_VERIFY_CUES - {"check", "angalia", "received", "confirm"})):
        if w & _REQUEST_CUES:
            return _request(facts, refs)
        return _match(facts, refs)
    if w & {"match", "link", "unganisha"} and not w & (_VERIFY_CUES - {"check", "angalia"}):
        return _ask("match.invoice", "match", receipt=facts.receipts[0][1])
    return _verify(facts)


def _match(facts: Facts, refs: list[str]) -> Reading:
    if not facts.receipts:
        return _ask("match.receipt", "match", **({"invoice": refs[0]} if refs else {}))
    receipt = facts.receipts[0][1]
    if not refs:
        return _ask("match.invoice", "match", receipt=receipt)
    args = {"receipt": receipt, "invoice": refs[0]}
    if len(refs) > 1:
        args["invoices"] = ",".join(refs)
    return Reading("match", args)


def _verify(facts: Facts) -> Reading:
    if not facts.receipts:
        return _ask("verify.receipt", "verify")
    find_dates(facts)
    find_amounts(facts)
    args = {"receipt": facts.receipts[0][1]}
    amount = _first_amount(facts)
    if isinstance(amount, Decimal):
        args["amount"] = str(amount)
    return Reading("verify", args)


def _request(facts: Facts, refs: list[str]) -> Reading:
    w = facts.words
    if "overdue" in w and not refs:
        return Reading("request", {"which": "overdue"}) if facts.command_at >= 0 else _ask(
            "request.invoice", "request")
    args = {"phone": facts.phones[0][2]} if facts.phones else {}
    if not refs:
        return _ask("request.invoice", "request", **args)
    return Reading("request", {"invoice": refs[0], **args})


def _payer_reading(facts: Facts) -> Reading | None:
    """`Mary amelipa 2000 cash`, `received 800 from Brian`, `Cash payment from Peter, 12,000`: a record; the same
    words as a question (`Je, Achieng ameshalipa?`, `has John paid?`) look the customer up instead."""
    w = facts.words
    verb = w & _PAYER_VERBS or w & _RECEIVED or facts.phrase("cash", "payment") or (
        w & {"payment", "malipo"} and w & {"from", "kutoka"})
    if not verb and not w & _ALREADY:
        if _is_question(facts) and w & {"pay", "lipa", "kulipa"} and _name_runs(facts, command_form=False):
            return _customer(facts)
        return None
    if _is_question(facts) or (w & _ALREADY and not _has_amount_word(facts)):
        if not _name_runs(facts, command_form=False) and not facts.phones and w & {"who", "nani", "which"}:
            return _invoices(facts)
        return _customer(facts)
    if w & _ALREADY:
        return _customer(facts)
    return _record(facts)


def _is_question(facts: Facts) -> bool:
    return facts.question or bool(facts.words & (_QUESTION_WORDS - {"is", "was", "kweli", "have", "has", "if"})) or (
        facts.toks[0].low in ("has", "did", "have", "is", "was", "je"))


def _record(facts: Facts) -> Reading:
    find_dates(facts)
    find_amounts(facts)
    amount = _first_amount(facts)
    name = _customer_name(facts)
    args: dict[str, str] = {}
    if name:
        args["customer"] = name
    if isinstance(amount, Decimal):
        args["amount"] = str(amount)
    if isinstance(amount, InputError):
        return _ask("amount.bad", "record", **args)
    if not name:
        return _ask("record.customer", "record", **args)
    if amount is None:
        return _ask("record.amount", "record", **args)
    return Reading("record", args)


def _customer(facts: Facts) -> Reading:
    if facts.phones:
        return _ok("customer", query=facts.phones[0][2])
    name = _customer_name(facts)
    return _ok("customer", query=name) if name else _ask("customer.query", "customer")


def _invoices(facts: Facts) -> Reading:
    w = facts.words
    if w & _LIST_OVERDUE or facts.phrase("past", "due"):
        return _ok("invoices", filter="overdue")
    if w & (_LIST_OPEN - {"madeni"}) or _phrase_any(facts, ("not", "paid"), ("hasn't", "paid"),
                                                      ("haven't", "paid")):
        return _ok("invoices", filter="open")
    if w & _LIST_ALL:
        return _ok("invoices", filter="all")
    return _ok("invoices", filter="open")


def _summary(facts: Facts) -> Reading:
    w = facts.words
    if _phrase_any(facts, ("wiki", "hii"), ("this", "week"), ("hii", "wiki")) or w & {"week", "weekly", "wiki"}:
        return _ok("summary", period="week")
    if _phrase_any(facts, ("mwezi", "huu"), ("this", "month"), ("huu", "mwezi")) or w & {"month", "monthly",
                                                                                           "mwezi"}:
        return _ok("summary", period="month")
    find_dates(facts, past=True)
    for found in facts.dates:
        if isinstance(found.value, date):
            day = found.value
            if day == facts.today:
                return _ok("summary", period="today")
            if day == facts.today - timedelta(days=1):
                return _ok("summary", period="yesterday")
            return _ok("summary", period=day.isoformat())
        return _ask("summary.day", "summary")
    if w & {"today's", "todays"}:
        return _ok("summary", period="today")
    return _ok("summary", period="today")


def _export(facts: Facts) -> Reading:
    args: dict[str, str] = {}
    found = find_month(facts.lows, facts.today)
    if found is None and any(re.fullmatch(r"[0-9]+-[0-9]+", low) for low in facts.lows):
        return _ask("export.month", "export")  # `2026-13`, `0000-01`: a month that is not one
    if found is not None:
        args["month"] = f"{found[0]:04d}-{found[1]:02d}"
    layout = facts.words & {"quickbooks", "xero", "qbo"}
    if layout:
        args["layout"] = "quickbooks" if layout & {"quickbooks", "qbo"} else "xero"
    return Reading("export", args)


def _invoice(facts: Facts, *, command_form: bool) -> Reading:
    """A new invoice: customer, amount, what was sold, due date. Anything missing or doubtful is asked."""
    due_at = _due_intro(facts)
    find_dates(facts)
    find_amounts(facts)
    args: dict[str, str] = {}
    amount = _first_amount(facts)
    if isinstance(amount, Decimal):
        args["amount"] = str(amount)
    names = _name_runs(facts, command_form=command_form)
    two_amounts = len([a for a in facts.amounts if isinstance(a[2], Decimal)]) >= 2
    if len(names) >= 2 and (_joined(facts, names[0], names[1]) or two_amounts):
        return _ask("invoice.two_customers", "invoice", **args)
    customer = _run_text(facts, names[0]) if names else (facts.phones[0][2] if facts.phones else "")
    if names:
        facts.used.update(range(*names[0]))
    elif facts.phones:
        pass
    if customer:
        args["customer"] = customer
    description = _description(facts)
    if description:
        args["description"] = description
    due = _due(facts, due_at)
    if isinstance(due, str):
        return _ask(due, "invoice", **args)
    if due is not None:
        args["due"] = due.isoformat()
    if isinstance(amount, InputError):
        return _ask("amount.bad", "invoice", **args)
    if not customer:
        return _ask("invoice.customer", "invoice", **args)
    if amount is None:
        return _ask("invoice.amount", "invoice", **args)
    return Reading("invoice", args)


def _bare(facts: Facts) -> Reading:
    """No cue at all. A name with an amount ("Mary 2500") could be a debt or a payment: ask which."""
    find_dates(facts)
    find_amounts(facts)
    amount = _first_amount(facts)
    names = _name_runs(facts, command_form=False)
    if isinstance(amount, Decimal) and (names or facts.phones) and not facts.words & _GREETING:
        who = _run_text(facts, names[0]) if names else facts.phones[0][2]
        return _ask("debt_or_payment", "invoice", customer=who, amount=str(amount))
    return _ask("chat")


def _first_amount(facts: Facts) -> Decimal | InputError | None:
    good = [a for a in facts.amounts if isinstance(a[2], Decimal)]
    if good:
        return good[0][2]
    return facts.amounts[0][2] if facts.amounts else None


def _due_intro(facts: Facts) -> int | None:
    for i, tok in enumerate(facts.toks):
        if tok.low in lx.DUE_INTROS and i not in facts.used:
            if tok.low in ("by", "before") and not (i + 1 < len(facts.toks)):
                continue
            return i
    return None


def _due(facts: Facts, due_at: int | None) -> object:
    """The due date (None when none is given), or the question to ask (`invoice.due`) when the date given
    cannot be used: missing after `due`, a day that does not exist, a day already gone."""
    chosen = None
    if due_at is not None:
        after = [d for d in facts.dates if d.start > due_at]
        chosen = after[0] if after else None
        if chosen is None and facts.toks[due_at].low in ("due", "alipe", "ilipwe", "lipwe", "deadline"):
            bare = _bare_day(facts, due_at)
            if bare is None:
                facts.used.add(due_at)
                return "invoice.due"
            return bare
        facts.used.add(due_at)
    if chosen is None:
        chosen = next(iter(facts.dates), None)
    if chosen is None:
        return None
    if isinstance(chosen.value, DateProblem):
        return "invoice.due"
    return chosen.value


def _bare_day(facts: Facts, due_at: int) -> date | str | None:
    """`due 15`: a bare day of the month after `due` is the next such day."""
    j = due_at + 1
    if j < len(facts.toks) and re.fullmatch(r"[0-9]{1,2}", facts.toks[j].raw) and 1 <= int(facts.toks[j].raw) <= 31:
        facts.used.update((due_at, j))
        facts.amounts[:] = [a for a in facts.amounts if a[0] != j]
        found = read_date_at(["tarehe", facts.toks[j].raw], 0, facts.today)
        if found is not None and isinstance(found.value, date):
            return found.value
        return "invoice.due"
    return None


def _name_like(facts: Facts, i: int, caseless: bool) -> bool:
    tok = facts.toks[i]
    if i in facts.used:
        return False
    if tok.quoted:
        return True
    if not re.match(r"^[^\W\d_][\w'\u2019.\-&]*$", tok.raw):
        return False
    if tok.low in lx.KNOWN or tok.low in _CUE_WORDS or tok.low in lx.SWAHILI_SHENG or tok.low in lx.DUE_INTROS:
        return False
    if caseless and tok.low in lx.GOODS:
        return False
    if tok.low in lx.VERBS or (i == 0 and _OBJECT_VERB.match(tok.low) and i + 1 < len(facts.toks)
                               and facts.toks[i + 1].raw[:1].isupper()):
        return False
    if lx.SWAHILI_VERB.match(tok.low) and (caseless or i == 0):
        return False
    return caseless or tok.raw[:1].isupper()


def _caseless(facts: Facts) -> bool:
    letters = [t.raw for t in facts.toks if any(c.isalpha() for c in t.raw) and not t.quoted]
    return all(r == r.lower() for r in letters) or all(r == r.upper() for r in letters)


def _name_runs(facts: Facts, *, command_form: bool) -> list[tuple[int, int]]:
    """Spans of words that can be a customer's name, in order: capitalised words not known as anything else,
    a title before them kept ("Mama Brian"). In an all-lower or all-upper message, in the command form
    (`invoice NAME AMOUNT …`), the words between the command and the amount are the name."""
    toks, caseless = facts.toks, _caseless(facts)
    at = facts.command_at
    if command_form and caseless and facts.amounts:
        start = at + 1
        while start < len(toks) and toks[start].low in (lx.CONNECTORS | lx.FILLER | {"for", "to"}):
            start += 1
        end = facts.amounts[0][0]
        span = [i for i in range(start, end) if _name_like(facts, i, True)]
        if span and span == list(range(span[0], span[-1] + 1)):
            return [(span[0], span[-1] + 1)]
    runs: list[tuple[int, int]] = []
    i = 0
    while i < len(toks):
        titled = (toks[i].low in lx.TITLES and i not in facts.used and i + 1 < len(toks)
                  and _name_like(facts, i + 1, caseless) and not toks[i].stop)
        if titled or _name_like(facts, i, caseless):
            j = i + 1
            while j < len(toks) and j - i < 4 and not toks[j - 1].stop and _name_like(facts, j, caseless):
                j += 1
            if not (caseless and not command_form and _after_amount_only(facts, i)):
                runs.append((i, j))
            i = j
        else:
            i += 1
    return runs


def name_runs(facts: Facts) -> list[tuple[int, int]]:
    """The spans that can be a customer's name in a sentence (the answer to "who is it for?")."""
    return _name_runs(facts, command_form=False)


def _after_amount_only(facts: Facts, i: int) -> bool:
    """In a lower-case sentence, words right after the amount are what was sold, not who bought it."""
    return any(end == i for _, end, _ in facts.amounts) and facts.toks[i - 1].low not in ("kwa", "to", "for")


def _joined(facts: Facts, a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Two names joined by na/and/& ("Mary na Kamau"): two customers in one invoice."""
    return b[0] == a[1] + 1 and facts.toks[a[1]].low in ("na", "and", "&", "n", "plus")


def _run_text(facts: Facts, run: tuple[int, int]) -> str:
    return " ".join(facts.toks[i].raw for i in range(*run))


def _description(facts: Facts) -> str:
    """What was sold: the first run of words left over, connectors inside it kept ("maziwa na mkate",
    "2 crates of soda", "sare za shule")."""
    toks, best = facts.toks, ""
    i = 0
    while i < len(toks):
        if _content(facts, i):
            j = i + 1
            while j < len(toks) and not toks[j - 1].stop and (_content(facts, j) or (
                    toks[j].low in lx.CONNECTORS and j not in facts.used and j + 1 < len(toks)
                    and _content(facts, j + 1) and not toks[j].stop)):
                j += 1
            words = [t.raw for t in toks[i:j]]
            while words and words[-1].casefold() in lx.CONNECTORS:
                words.pop()
            text = " ".join(words)
            if text and not best:
                best = text
            i = j
        else:
            i += 1
    return best


def _content(facts: Facts, i: int) -> bool:
    tok = facts.toks[i]
    if i in facts.used or tok.low in lx.KNOWN or tok.low in _CUE_WORDS or tok.low in lx.SWAHILI_SHENG \
            or tok.low in lx.CONNECTORS:
        return False
    if lx.SWAHILI_VERB.match(tok.low) or tok.low in lx.VERBS or (i == 0 and _OBJECT_VERB.match(tok.low)):
        return False
    return bool(re.match(r"^[\w][\w'\-]*$", tok.raw))


def _customer_name(facts: Facts) -> str:
    runs = _name_runs(facts, command_form=facts.command_at >= 0)
    if runs:
        return _run_text(facts, runs[0])
    if facts.phones:
        return facts.phones[0][2]
    return ""


_CUE_WORDS = (_PAID_OUT | _PROMISE | _PAYER_VERBS | _RECEIVED | _ALREADY | _QUESTION_WORDS | frozenset(_LANG_NAMES)
              | _LANG_CUES | _VERIFY_CUES | _MATCH_CUES | _REQUEST_CUES | _UNDO_CUES | _DELETE | _UNDO_OBJECTS
              | _UNMATCHED | _EXPORT | _SUMMARY | _SETTINGS | _HELP | _LIST_OPEN | _LIST_OVERDUE | _LIST_ALL
              | _LIST_CUES | _CUSTOMER_CUES | _CREATE | _INVOICE_NOUNS | _CREDIT | _GREETING)

_COMMAND_READERS = {
    "start": _cmd_start, "help": _cmd_plain("help"), "invoice": _cmd_invoice, "invoices": _cmd_invoices,
    "unmatched": _cmd_plain("unmatched"), "match": _cmd_match, "undo": _cmd_plain("undo"),
    "summary": _cmd_summary, "customer": _cmd_customer, "export": _cmd_export, "settings": _cmd_settings,
    "business": _cmd_business, "request": _cmd_request, "verify": _cmd_verify, "language": _cmd_language,
    "record": _cmd_record, "reconcile": _cmd_plain("reconcile"),
}
