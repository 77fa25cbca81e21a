"""The payment simulator beside the chat page: real C2B v1 confirmations, posted over HTTP to this server's own
/c2b/{token}/confirmation, so what a newcomer sees is exactly what a real payment does (journal, intake,
matching after the acknowledgement, the alert through the outbox). Nothing here writes to the book directly.

`morning_burst` makes a morning's worth of payments for a business's open invoices, with references as
customers really type them: `inv 2`, `INV0003`, a first name, a phone number, nothing, a wrong number.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx

from bot.ledger.phones import normalise_phone, phone_sha256
from bot.ledger.references import digits_key
from bot.storage.invoices import InvoiceToPay
from webhooks.urls import callback_url


def c2b_body(shortcode: str, amount: str, ref: str, phone: str, name: str, now: datetime) -> dict[str, str]:
    """A C2B v1 confirmation as Daraja sends it today: strings everywhere, the phone hashed."""
    canonical = normalise_phone(phone) or "254708374149"
    names = (name.split() + ["", "", ""])[:3]
    trans_id = "".join(random.choices(string.ascii_uppercase + string.digits, k=10))  # noqa: S311
    local = now.astimezone(ZoneInfo("Africa/Nairobi"))
    return {
        "TransactionType": "Pay Bill" if ref else "Buy Goods", "TransID": trans_id,
        "TransTime": local.strftime("%Y%m%d%H%M%S"), "TransAmount": amount, "BusinessShortCode": shortcode,
        "BillRefNumber": ref, "InvoiceNumber": "", "OrgAccountBalance": "", "ThirdPartyTransID": "",
        "MSISDN": phone_sha256(canonical), "FirstName": names[0].upper(), "MiddleName": names[1].upper(),
        "LastName": names[2].upper(),
    }


@dataclass(frozen=True, slots=True)
class SimulatedPayment:
    amount: Decimal
    ref: str
    name: str
    phone: str
    paid_at: datetime


@dataclass(frozen=True, slots=True)
class Posted:
    trans_id: str
    status: int


async def post_payment(client: httpx.AsyncClient, base_url: str, token: str, shortcode: str,
                       payment: SimulatedPayment) -> Posted:
    """One C2B confirmation to this server's own endpoint, as Daraja would post it."""
    body = c2b_body(shortcode, f"{payment.amount:.2f}", payment.ref, payment.phone, payment.name, payment.paid_at)
    response = await client.post(callback_url(base_url, token, "c2b_confirmation"), json=body, timeout=10)
    return Posted(body["TransID"], response.status_code)


def _mangled(invoice: InvoiceToPay, style: int) -> str:
    """The invoice's reference as a customer might type it."""
    n = digits_key(invoice.number).lstrip("0") or "0"
    first = invoice.customer.split()[0] if invoice.customer else ""
    styles = (invoice.number, f"inv {n}", invoice.number.replace("-", ""), first.lower(), invoice.phone, "",
              invoice.number.lower().replace("-", " "), f"{n}")
    return styles[style % len(styles)]


def morning_burst(invoices: list[InvoiceToPay], now: datetime, rng: random.Random | None = None,
                  size: int = 10) -> list[SimulatedPayment]:
    """About `size` payments spread over the last few hours, oldest first: most for open invoices with mangled
    references (a few partly paid), one with a wrong invoice number, one from a stranger with no reference."""
    rng = rng or random.Random()  # noqa: S311 - demo data, not a secret
    payments: list[SimulatedPayment] = []
    for i, invoice in enumerate(invoices[: size - 2]):
        partly = i % 4 == 3 and invoice.open_balance > 100
        amount = (invoice.open_balance / 2).quantize(Decimal("1")) if partly else invoice.open_balance
        payments.append(SimulatedPayment(amount, _mangled(invoice, i), invoice.customer, invoice.phone, now))
    if invoices:
        last = invoices[-1]
        payments.append(SimulatedPayment(last.open_balance + 250, "INV-0999", last.customer, last.phone, now))
    payments.append(SimulatedPayment(Decimal(rng.choice((150, 350, 620, 1000))), "", "Kevin Mutua",
                                     "0711000999", now))
    minutes = sorted((rng.randint(3, 240) for _ in payments), reverse=True)
    return [SimulatedPayment(p.amount, p.ref, p.name, p.phone, now - timedelta(minutes=m))
            for p, m in zip(payments, minutes, strict=True)]
