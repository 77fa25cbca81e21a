"""Every sample in sms_samples.txt, read or refused as its note says (table-driven)."""

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.ledger.phones import MsisdnKind, normalise_phone, phone_sha256
from bot.mpesa.fields import NAIROBI
from bot.mpesa.sms import SmsKind, SmsOutgoing, SmsPayment, SmsReversal, SmsUnread, is_mpesa_sender, read_sms

SAMPLES = Path(__file__).parent.parent / "payloads" / "sms_samples.txt"
_LINE = re.compile(r"^\[(\d{4})\]\s+(REAL-looking|REAL|PRESS|FIXTURE)(?:\s*\([^)]*\))?\s+(.*)$")


def samples() -> dict[str, str]:
    found = {}
    for line in SAMPLES.read_text(encoding="utf-8").splitlines():
        m = _LINE.match(line)
        if m:
            text = m.group(3).replace("\\n", "\n")
            found[text.split()[0] + ("/masked" if "XXXXX654" in text else "")] = text
    return found


# code -> kind, amount, Nairobi local time, payer name, phone kind, account, balance
PAYMENTS = {
    "AA64SF914": ("till", "33950.00", "2014-02-17 12:02", "Mark ADAMS", "plain", "", "2550.00"),
    "QAI1S35S7Z": ("till", "40.00", "2022-01-18 15:57", "MERCY MUGOIRI WAITHAKA", "plain", "", "440.00"),
    "QAI9S2XEPH": ("till", "200.00", "2022-01-18 15:54", "james kamau", "plain", "", "400.00"),
    "UJ2H08M4M3": ("till", "40.00", "2026-10-02 19:37", "Jane Doe", "plain", "", "1090.05"),
    "UJ2EP8HDF4": ("till", "60.00", "2026-10-02 19:39", "JOHN TEST KAMAU", "plain", "", "1150.05"),
    "UGFMXB3GR6": ("till", "20.00", "2026-07-15 13:06", "Skycope Bonke", "plain", "", "1300.22"),
    "UJ2X00000A": ("till", "1050.00", "2026-10-01 00:05", "Test Person", "masked", "", "2000.00"),
    "RCI0ABCDEF": ("till", "100.00", "2026-03-18 13:18", "JOHN DOE", "masked", "", "1234.00"),
    "BM46ST941": ("paybill", "8723.00", "2011-07-06 22:49", "RONALD NDALO", "plain", "5FML59-01", "6375223.00"),
    "BH45UU225": ("paybill", "950.00", "2011-04-05 14:45", "BORIS BECKER", "plain", "0700000021", "50802.00"),
    "JGU0SWAWMQ": ("paybill", "50.00", "2015-07-30 23:03", "ANTHONY BARASA", "plain", "IPN Test", "41614.00"),
    "LJI7QV5BP9": ("paybill", "5000.00", "2017-10-18 11:01", "MERCY NJERI", "plain", "Jeanah ventures", None),
    "BC8JT386": ("personal", "1230.00", "2011-04-06 17:40", "JAMES KORIR", "missing", "", "2150.00"),
    "DT85TH896H": ("personal", "3500.00", "2013-07-31 18:43", "JOHN DOE", "plain", "", "11312.00"),
    "OB57V1MMEV": ("personal", "1000.00", "2020-05-03 06:23", "Jane Rita Doe", "plain", "", "2345.00"),
    "OB57V1MMEV/masked": ("personal", "1000.00", "2020-05-03 06:23", "Jane", "masked", "", "2345.00"),
    "O87X2NNFY": ("personal", "2000.00", "2022-09-06 09:45", "James", "masked", "", None),
    "QLR75GRTQT": ("personal", "7500.00", "2022-12-27 18:47", "NCBA BANK", "missing", "", "7664.26"),
    "QLQ52P34V5": ("personal", "3000.00", "2022-12-26 14:27", "STANBIC to MPESA Retail 300248", "missing", "",
                   "4960.26"),
    "SLR41L5AO8": ("personal", "4870.00", "2024-12-27 15:41", "ZIIDI", "missing", "", "4870.00"),
    "TAB1CD2EF3": ("pochi", "200.00", "2026-09-01 08:05", "JANE AKINYI", "plain", "", "2450.00"),
}
# no date and time in the message (a fixture and a truncated one): kept raw and flagged, never guessed
UNREAD = {"TJ5BIZ0001", "UHNK63KR46"}
# what the payer receives: money out, refused as a payment
OUTGOING = {"UJ22T8IYOU": "1.00", "QLR551N4W5": "99.00", "QLR94D4CO7": "150.00", "QLQ236C2S6": "200.00",
            "QLR45W5W0K": "2528.00"}


def test_the_table_covers_every_sample():
    assert set(samples()) == set(PAYMENTS) | UNREAD | set(OUTGOING)


@pytest.mark.parametrize("key", sorted(PAYMENTS))
def test_payment_samples_are_read(key):
    kind, amount, local, name, phone_kind, account, balance = PAYMENTS[key]
    reading = read_sms(samples()[key])
    assert isinstance(reading, SmsPayment), reading
    assert reading.receipt == key.split("/")[0]
    assert reading.kind is SmsKind(kind)
    assert reading.amount == Decimal(amount)
    assert reading.paid_at.astimezone(NAIROBI).strftime("%Y-%m-%d %H:%M") == local
    assert reading.paid_at.utcoffset().total_seconds() == 0
    assert reading.payer_name == name
    assert reading.phone.kind is MsisdnKind(phone_kind)
    assert reading.account == account
    assert reading.balance == (Decimal(balance) if balance else None)


def test_plain_phones_are_kept_as_their_hash_only():
    reading = read_sms(samples()["UJ2H08M4M3"])
    assert reading.phone.sha256 == phone_sha256("254700000001")
    assert reading.phone.last_digits == "001"
    assert "254700000001" not in repr(reading)


@pytest.mark.parametrize(("key", "prefix", "suffix"), [
    ("UJ2X00000A", "2547", "635"), ("RCI0ABCDEF", "2547", "78"), ("OB57V1MMEV/masked", "2547", "654")])
def test_masked_phones_keep_their_visible_ends(key, prefix, suffix):
    phone = read_sms(samples()[key]).phone
    assert (phone.masked_prefix, phone.masked_suffix) == (prefix, suffix)


@pytest.mark.parametrize("key", sorted(UNREAD))
def test_messages_without_a_time_are_flagged_not_guessed(key):
    reading = read_sms(samples()[key])
    assert isinstance(reading, SmsUnread)
    assert reading.looks_like_mpesa and reading.receipt == key


@pytest.mark.parametrize("key", sorted(OUTGOING))
def test_money_out_is_never_a_payment(key):
    reading = read_sms(samples()[key])
    assert reading == SmsOutgoing(key, Decimal(OUTGOING[key]))


def test_promotional_text_and_notes():
    assert read_sms(samples()["QLR75GRTQT"]).kind is SmsKind.PERSONAL  # "...through Pochi la Biashara" is an ad
    assert "24-hour" in read_sms(samples()["OB57V1MMEV"]).notes[0]
    assert read_sms(samples()["UJ2H08M4M3"]).notes == ()


@pytest.mark.parametrize("text", [
    "UJ2H08M4M3 confirmed.on 2/10/26 at 7:37 pmksh40.00 received from 0700000001 Jane Doe.",
    "UJ2H08M4M3 Confirmed. on 2/10/26 at 7:37 PM Kshs 40 received from 254700000001 Jane Doe. New Account balance is",
    "UJ2H08M4M3 Confirmed.\non 2/10/26\nat 7:37 PM\nKSH40.00 received from\n+254700000001 Jane Doe",
    "UJ2H08M4M3 Confirmed.on 2/10/2026 at 7:37 P.M. Ksh 40.00 received from 07XX XXX 001 Jane Doe.",
])
def test_spacing_case_and_currency_variants(text):
    reading = read_sms(text)
    assert isinstance(reading, SmsPayment), reading
    assert (reading.receipt, reading.amount, reading.payer_name) == ("UJ2H08M4M3", Decimal("40.00"), "Jane Doe")
    assert reading.paid_at == datetime(2026, 10, 2, 19, 37, tzinfo=NAIROBI)


@pytest.mark.parametrize(("text", "original", "amount"), [
    # reversal wording is UNCONFIRMED: no real sample was found; these follow the commonly quoted shapes
    ("UK3AB12CDE Confirmed. Transaction UK2XY34ZZZ has been reversed. Your account balance is now Ksh1,200.00.",
     "UK2XY34ZZZ", None),
    ("UK3AB12CDE confirmed. Reversal of transaction UK2XY34ZZZ has been successfully reversed on 3/10/26 at "
     "9:15 AM and Ksh500.00 is debited from your M-PESA account.", "UK2XY34ZZZ", "500.00"),
    ("UK3AB12CDE Confirmed. Transaction UK2XY34ZZZ of KSH2,000.00 to JANE DOE was reversed.", "UK2XY34ZZZ",
     "2000.00"),
])
def test_reversals(text, original, amount):
    reading = read_sms(text)
    assert isinstance(reading, SmsReversal), reading
    assert reading.receipt == "UK3AB12CDE" and reading.original == original
    assert reading.amount == (Decimal(amount) if amount else None)


@pytest.mark.parametrize("text", [
    "", "hello, did you get my payment?", "Confirmed you have received Ksh 100 from JANE on 1/1/26 at 1:00 PM",
    "UJ2H08M4M3 Confirmed.on 31/2/26 at 7:37 PMKSH40.00 received from 254700000001 Jane Doe.",
    "UJ2H08M4M3 Confirmed.on 2/10/26 at 13:37 PMKSH40.00 received from 254700000001 Jane Doe.",
    "UJ2H08M4M3 Confirmed.on 2/10/26 at 7:37 PMKSH0.00 received from 254700000001 Jane Doe.",
    "UJ2H08M4M3 Confirmed.on 2/10/26 at 7:37 PMKSH40.00 received from Jane Doe.",
    "x" * 5000,
])
def test_what_cannot_be_read_is_refused(text):
    assert isinstance(read_sms(text), SmsUnread)


def test_only_the_mpesa_sender():
    assert is_mpesa_sender("MPESA") and is_mpesa_sender(" m-pesa ")
    assert not is_mpesa_sender("+254700000001") and not is_mpesa_sender("MPESA-PROMO")
    assert normalise_phone("0700000001") == "254700000001"
