"""Is this payment real? `/verify CODE [AMOUNT]` for staff at the counter, a pasted or forwarded M-PESA message,
and `/reconcile [DATE]` for the owner: answered from the book, in one short message each.

Entry points (plain functions, so the chat reader and any channel can call them):
`verify_payment`, `pasted_message`, `reconcile_day`. Each runs in the caller's unit of work and never commits.

Transaction Status (asking Safaricom about a code the book does not know) is a seam: `ask_safaricom` is called
when given and the book has no such receipt; it returns True when the question was sent (the answer then comes
back as a Daraja result and is told to the chat). Without it the answer says the book does not have the code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.assistant.catalogue import Lang, kes, ntr, tr
from bot.assistant.messages import Reply
from bot.ledger.money import quantize
from bot.mpesa.sms import SmsPayment, SmsReversal, SmsUnread, read_sms
from bot.storage.callbacks import record_reports
from bot.storage.db import Session
from bot.storage.payments import payment_by_trans_id
from bot.storage.reconciliation import Seen, SourceFigures, sightings_of, source_figures
from bot.storage.tables import BusinessRow, PaymentRow

AskSafaricom = Callable[[str], bool]


def _source(lang: Lang, source: str) -> str:
    names = {"c2b": tr(lang, "M-Pesa confirmation"), "stk": tr(lang, "M-Pesa Express"),
             "pull": tr(lang, "Pull Transactions"), "sms": tr(lang, "forwarded SMS"),
             "statement": tr(lang, "statement"), "manual": tr(lang, "entered by hand")}
    return names.get(source, source)


def _sources(lang: Lang, payment: PaymentRow) -> str:
    return ", ".join(_source(lang, s) for s in (payment.sources or payment.source).split(",") if s)


def _when(payment: PaymentRow, zone: ZoneInfo) -> str:
    return f"{payment.paid_at.astimezone(zone):%d/%m %H:%M}"


def _zone(session: Session, business_id: int) -> ZoneInfo:
    business = session.get(BusinessRow, business_id)
    return ZoneInfo(business.timezone if business is not None else "Africa/Nairobi")


def verify_payment(session: Session, business_id: int, code: str, amount: Decimal | None, lang: Lang,
                   ask_safaricom: AskSafaricom | None = None) -> Reply:
    """One line: received (how much, from whom, when, which sources), reversed, another amount, or not received."""
    code = code.strip().upper()
    payment = payment_by_trans_id(session, business_id, code)
    if payment is None:
        if ask_safaricom is not None and ask_safaricom(code):
            return Reply(tr(lang, "{code} is not in the book yet. I asked Safaricom and will tell you the answer.",
                            code=code))
        return Reply(tr(lang, "NOT RECEIVED: {code} is not in the book. Do not hand over goods: the SMS the customer "
                              "shows may be fake. Check the M-PESA app or wait a minute and ask again.", code=code))
    zone = _zone(session, business_id)
    payer = payment.payer_name or tr(lang, "an unknown payer")
    if payment.status == "reversed":
        return Reply(tr(lang, "REVERSED: {code} ({amount} from {payer}, {when}) was paid and then reversed. The money "
                              "is not yours.", code=code, amount=kes(payment.amount), payer=payer,
                        when=_when(payment, zone)))
    if amount is not None and quantize(amount) != payment.amount:
        return Reply(tr(lang, "DIFFERENT AMOUNT: {code} was {amount} from {payer} on {when}, not {claimed}. The "
                              "message you were shown may be fake.", code=code, amount=kes(payment.amount),
                        payer=payer, when=_when(payment, zone), claimed=kes(amount)))
    conflicts = [s for s in sightings_of(session, business_id, payment.id or 0) if s.outcome == "conflict"]
    line = tr(lang, "RECEIVED: {code}, {amount} from {payer} on {when} (seen by: {sources}).", code=code,
              amount=kes(payment.amount), payer=payer, when=_when(payment, zone), sources=_sources(lang, payment))
    if conflicts:
        line += "\n" + _conflict_line(lang, conflicts[0])
    return Reply(line)


def _conflict_line(lang: Lang, seen: Seen) -> str:
    return tr(lang, "Careful: a {source} said {amount} for this code. The book kept the first amount.",
              source=_source(lang, seen.source), amount=kes(Decimal(seen.amount)))


def pasted_message(session: Session, business_id: int, text: str, lang: Lang, now: datetime, *,
                   record: bool) -> Reply | None:
    """An M-PESA message pasted or forwarded into the chat. None when the text is not an M-PESA message at all
    (the conversation answers it as usual). With `record` (the business takes SMS as a source) a payment the book
    does not have is recorded, source `sms`; otherwise it is only checked."""
    reading = read_sms(text)
    if isinstance(reading, SmsUnread):
        if not reading.looks_like_mpesa:
            return None
        return Reply(tr(lang, "This looks like an M-PESA message but I cannot read it, so I did not record it: {why}. "
                              "Use /verify CODE AMOUNT to check the code.", why=reading.reason))
    if isinstance(reading, SmsReversal):
        return verify_payment(session, business_id, reading.original, None, lang)
    if not isinstance(reading, SmsPayment):
        return Reply(tr(lang, "That message is about money going out of M-PESA, not a payment received."))
    known = payment_by_trans_id(session, business_id, reading.receipt)
    if known is not None:
        if known.amount != reading.amount:
            return Reply(tr(lang, "DIFFERS: Safaricom told us {code} was {stored}; this message says {claimed}. It may "
                                  "be fake. Nothing was recorded.", code=reading.receipt, stored=kes(known.amount),
                            claimed=kes(reading.amount)))
        return verify_payment(session, business_id, reading.receipt, reading.amount, lang)
    if not record:
        return Reply(tr(lang, "NOT RECEIVED: {code} ({amount}) is not in the book. Do not hand over goods until "
                              "it arrives: the message may be fake.", code=reading.receipt,
                        amount=kes(reading.amount)))
    [merged] = record_reports(session.connection(), business_id, [reading.incoming()], None, now)
    return Reply(tr(lang, "Recorded from the pasted message: {code}, {amount} from {payer}. When Safaricom confirms "
                          "it, the book will show both.", code=reading.receipt, amount=kes(reading.amount),
                    payer=reading.payer_name or tr(lang, "an unknown payer"))) if merged.outcome == "created" else \
        verify_payment(session, business_id, reading.receipt, reading.amount, lang)


def reconcile_day(session: Session, business_id: int, start: datetime, lang: Lang) -> Reply:
    """Per source, how many payments of the local day starting at `start` each saw; which only a later source
    found; conflicts; reversals."""
    figures = source_figures(session, business_id, start, start + timedelta(days=1))
    return Reply(reconcile_text(figures, f"{start:%d/%m/%Y}", lang))


def reconcile_text(figures: SourceFigures, day: str, lang: Lang) -> str:
    if figures.payments == 0:
        return tr(lang, "No payments on {day}.", day=day)
    lines = [ntr(lang, "{day}: one payment.", "{day}: {n} payments.", figures.payments, day=day)]
    for source, count in sorted(figures.per_source.items()):
        lines.append(tr(lang, "- {source}: {count}", source=_source(lang, source), count=count))
    for source, count in sorted(figures.only_later.items()):
        lines.append(ntr(lang, "One payment reached us only through the {source}.",
                         "{n} payments reached us only through the {source}.", count, source=_source(lang, source)))
    if figures.conflicts:
        codes = ", ".join(code for code, _ in figures.conflicts[:5])
        lines.append(ntr(lang, "One conflict: {codes}.", "{n} conflicts: {codes}.", len(figures.conflicts),
                         codes=codes))
    if figures.reversed:
        lines.append(ntr(lang, "One reversal: {codes}.", "{n} reversals: {codes}.", len(figures.reversed),
                         codes=", ".join(figures.reversed[:5])))
    return "\n".join(lines)


def photo_of_message(lang: Lang) -> Reply:
    """A photo or screenshot: this machine has no OCR (no Tesseract), so ask for the text."""
    return Reply(tr(lang, "I cannot read photos of messages yet. Please copy the M-PESA message text and paste it "
                          "here, or send /verify CODE AMOUNT."))
