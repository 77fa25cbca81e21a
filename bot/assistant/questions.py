"""The questions asked back when a message cannot be acted on yet, in the person's language.

One sentence per `Reading.ask` key, from the catalogue. A question names what is missing and shows how to
say it; it never repeats a phone number in full.
"""

from __future__ import annotations

from bot.assistant.catalogue import lang_of, tr
from bot.assistant.reading import Reading


def question(reading: Reading, role: str = "owner") -> str:
    lang = lang_of(reading.lang)
    key = reading.ask or "chat"
    args = reading.args
    if key == "invoice.customer":
        return tr(lang, "Who is the invoice for? Send a name or phone, e.g. Mary Wanjiku")
    if key == "invoice.amount":
        return tr(lang, "How much is the invoice? e.g. 2500 or 2.5k")
    if key == "invoice.due":
        return tr(lang, "That due date doesn't exist or has passed. When is it due? e.g. friday, 15/12 or in 7 days")
    if key == "invoice.two_customers":
        return tr(lang, "One invoice is for one customer. Who is this one for?")
    if key == "amount.bad":
        return tr(lang, "The amount must be more than zero. How much?")
    if key == "debt_or_payment":
        return tr(lang, "{customer} {amount}: a new invoice (they owe you) or a payment you received? "
                        "Reply invoice or paid", customer=args.get("customer", ""), amount=args.get("amount", ""))
    if key == "record.customer":
        return tr(lang, "Who paid? Send the name, e.g. Mary Wanjiku")
    if key == "record.amount":
        return tr(lang, "How much did they pay? e.g. 2000")
    if key == "match.receipt":
        return tr(lang, "Which M-Pesa payment? Send its code, e.g. QKL5ABCD12")
    if key == "match.invoice":
        return tr(lang, "Which invoice did it pay? e.g. INV-0042")
    if key == "request.invoice":
        return tr(lang, "Which invoice should they pay? e.g. INV-0042")
    if key == "verify.receipt":
        return tr(lang, "Send the M-Pesa code to check, e.g. QKL5ABCD12")
    if key == "delete.what":
        return tr(lang, "Undo the last match? Send undo. Invoices and payments are not deleted.")
    if key == "customer.query":
        return tr(lang, "Which customer? Send a name or phone")
    if key == "summary.day":
        return tr(lang, "I can't find that day: choose today, yesterday, week, month or a date like 2026-11-20")
    if key == "export.month":
        return tr(lang, "Which month? Send a month like nov, November, 2026-11 or last month")
    if key == "language.which":
        return tr(lang, "English or Kiswahili? Send /language en or /language sw")
    if key == "unknown_command":
        return tr(lang, "I don't know /{command}. Send help to see what I can do.", command=args.get("command", ""))
    if key == "start.code":
        return tr(lang, "Send the link code on its own, e.g. /start K7M2PQ9X")
    if role == "staff":
        return tr(lang, "Hi! Tell me what you need, e.g. invoice Mary 2500 or who hasn't paid? Send help for more.")
    return tr(lang, "Hi! Tell me what you need, e.g. invoice Mary 2500, who hasn't paid? or today's summary. "
                    "Send help for more.")
