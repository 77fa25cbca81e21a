"""The demo business a development server creates on first run, so the chat page has something to show:
"Demo Duka" on paybill 600000, five customers with phones and six open invoices (INV-0001…INV-0006).

Idempotent: the shortcode is the marker, so a second start (or a second process racing the first) finds
the business instead of making another. Runs in the caller's unit of work and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from bot.bookkeeping.invoices import create_customer, create_invoice
from bot.storage.businesses import business_by_shortcode, create_business
from bot.storage.db import Session
from bot.storage.tables import BusinessRow

DEMO_NAME = "Demo Duka"
DEMO_SHORTCODE = "600000"
DEMO_CUSTOMERS: tuple[tuple[str, str], ...] = (
    ("Mary Wanjiku", "0712345678"), ("John Otieno", "0722000126"), ("Achieng Hardware", "0733111222"),
    ("Peter Kamau", "0701234567"), ("Grace Njeri", "0798765432"),
)
# INV-0001…INV-0006 in this order: (customer, amount, what, due in days)
DEMO_INVOICES: tuple[tuple[int, str, str, int], ...] = (
    (0, "2500", "sugar and flour", 7), (1, "1200", "airtime float", 3), (2, "4750", "cement, 5 bags", 10),
    (3, "800", "milk for the week", 2), (4, "3000", "school uniform", 21), (0, "1500", "cooking oil", 14),
)


@dataclass(frozen=True, slots=True)
class Demo:
    business_id: int
    token: str
    created: bool


def find_demo_business(session: Session) -> Demo | None:
    found = business_by_shortcode(session, DEMO_SHORTCODE)
    return Demo(found.id or 0, found.callback_token, False) if found is not None else None


def ensure_demo_business(session: Session, today: date, timezone: str = "Africa/Nairobi") -> Demo:
    """The demo business, created with its customers and invoices the first time."""
    found = find_demo_business(session)
    if found is not None:
        return found
    business = create_business(session, DEMO_NAME, DEMO_SHORTCODE, till=False, timezone=timezone)
    _fill(session, business, today)
    return Demo(business.id or 0, business.callback_token, True)


def _fill(session: Session, business: BusinessRow, today: date) -> None:
    business_id = business.id or 0
    customers = []
    for name, phone in DEMO_CUSTOMERS:
        customer = create_customer(session, business_id, name, [phone])
        assert customer.ok and customer.customer_id is not None, customer.message
        customers.append(customer.customer_id)
    for who, amount, description, due_in in DEMO_INVOICES:
        made = create_invoice(session, business_id, customers[who], Decimal(amount), today - timedelta(days=1),
                              today + timedelta(days=due_in), description)
        assert made.ok, made.message
