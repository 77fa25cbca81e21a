"""The SMS reader never raises, and a message it reads gives back the receipt, amount and time written into it."""

from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.mpesa.fields import NAIROBI
from bot.mpesa.sms import SmsKind, SmsOutgoing, SmsPayment, SmsReversal, SmsUnread, read_sms
from tests.mpesa.test_sms_samples import samples

READINGS = SmsPayment | SmsReversal | SmsOutgoing | SmsUnread
WORDS = ["Confirmed", ".", "on", "at", "PM", "AM", "Ksh", "KSH", "received", "from", "You have received",
         "Account Number", "New Utility balance is", "New Account balance is", "2547******635", "0712345678",
         "has been reversed", "Transaction", "sent to", "1/1/26", "12:05", ",", "1,000.00", "\n", " ", "QAI1S35S7Z"]


@given(st.text(max_size=600))
def test_arbitrary_text_never_raises(text):
    assert isinstance(read_sms(text), READINGS)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=8), max_size=40))
def test_mpesa_looking_word_salad_never_raises(words):
    assert isinstance(read_sms(" ".join(words)), READINGS)
    assert isinstance(read_sms("".join(words)), READINGS)


@settings(max_examples=200)
@given(st.sampled_from(sorted(samples().values())), st.integers(min_value=0, max_value=400), st.text(max_size=5))
def test_mutated_samples_never_raise(text, at, insert):
    assert isinstance(read_sms(text[:at] + insert + text[at:]), READINGS)
    assert isinstance(read_sms(text[:at]), READINGS)


codes = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=8, max_size=12).filter(
    lambda c: any(ch.isdigit() for ch in c) and c != "CONFIRMED")
amounts = st.decimals(min_value=Decimal("1"), max_value=Decimal("999999.99"), places=2)
times = st.datetimes(min_value=datetime(2010, 1, 1), max_value=datetime(2030, 12, 31)).map(
    lambda t: t.replace(second=0, microsecond=0))
names = st.lists(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'", min_size=1, max_size=10),
                 min_size=1, max_size=4).map(" ".join)
phones = st.sampled_from(["254712345678", "0712345678", "2547******635", "0720***167", "2547XXXXX654",
                          "+254110123456"])
money_words = st.sampled_from(["Ksh", "KSH", "Kshs", "Ksh ", "Ksh Ksh"])
gaps = st.sampled_from(["", " ", "\n", "  "])


def render_amount(amount: Decimal, comma: bool) -> str:
    return f"{amount:,.2f}" if comma else f"{amount:.2f}"


def render_when(local: datetime, gap: str) -> tuple[str, str]:
    hour = local.hour % 12 or 12
    return f"{local.day}/{local.month}/{local.year % 100:02d}", f"{hour}:{local.minute:02d}{gap}{local:%p}"


@settings(max_examples=400)
@given(st.sampled_from(list(SmsKind)), codes, amounts, times, names, phones, money_words, gaps, st.booleans())
def test_a_read_message_round_trips_receipt_amount_and_time(kind, code, amount, local, name, phone, ksh, gap, comma):
    local = local.replace(tzinfo=NAIROBI)
    date, clock = render_when(local, gap)
    money = f"{ksh}{render_amount(amount, comma)}"
    text = {
        SmsKind.TILL: f"{code} Confirmed.{gap}on {date} at {clock}{money} received from {phone} {name}.{gap}"
                      f"New Account balance is Ksh1,000.00. Transaction cost, Ksh0.00.",
        SmsKind.PAYBILL: f"{code} Confirmed.{gap}on {date} at {clock} {money} received from {name} {phone}."
                         f"{gap}Account Number INV-42 New Utility balance is Ksh6,375,223.00",
        SmsKind.PERSONAL: f"{code} Confirmed.{gap}You have received {money} from {name} {phone} on {date} at {clock}"
                          f" New M-PESA balance is Ksh2,345.00.",
        SmsKind.POCHI: f"{code} Confirmed. You have received {money} from {name} {phone} on {date} at {clock} via "
                       f"Pochi la Biashara. New business balance is Ksh2,450.00.",
    }[kind]
    reading = read_sms(text)
    assert isinstance(reading, SmsPayment), (text, reading)
    assert (reading.receipt, reading.amount, reading.kind) == (code, amount, kind)
    assert reading.paid_at == local.astimezone(reading.paid_at.tzinfo)
    assert reading.payer_name == name
    if kind is SmsKind.PAYBILL:
        assert reading.account == "INV-42"


@given(codes, codes, amounts, times)
def test_a_read_reversal_round_trips_both_codes(code, original, amount, local):
    text = f"{code} Confirmed. Transaction {original} of Ksh{amount:,.2f} has been reversed on " \
           f"{local.day}/{local.month}/{local.year % 100} at {local.hour % 12 or 12}:{local.minute:02d} {local:%p}."
    reading = read_sms(text)
    assert isinstance(reading, SmsReversal)
    assert (reading.receipt, reading.original, reading.amount) == (code, original, amount)
    assert reading.reversed_at == local.replace(tzinfo=NAIROBI) - timedelta(0)
