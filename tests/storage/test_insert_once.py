"""Insert-once helpers say truthfully whether they inserted, on both databases."""

from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.ledger.phones import phone_sha256
from bot.storage.book import SqlBook
from bot.storage.db import make_engine, unit_of_work
from bot.storage.outbox import queue_message
from bot.storage.tables import CustomerPhoneRow, OutboxRow
from tests.support import add_business


def test_queue_message_reports_a_repeat_as_not_queued(db_url):
    engine = make_engine(db_url)
    shop = add_business(engine, "600984")
    now = datetime.now(UTC)
    with unit_of_work(engine) as session:
        first = queue_message(session, shop.id, "payment.alert", "payment.alert:1", {"x": 1}, now)
        again = queue_message(session, shop.id, "payment.alert", "payment.alert:1", {"x": 2}, now)
    with unit_of_work(engine) as session:
        rows = session.execute(select(func.count()).select_from(OutboxRow)).scalar_one()
    assert (first, again, rows) == (True, False, 1)
    engine.dispose()


def test_a_phone_is_added_once(db_url):
    engine = make_engine(db_url)
    shop = add_business(engine, "600984")
    with unit_of_work(engine) as session:
        book = SqlBook(session, shop.id)
        customer = book.add_customer("Mary Wanjiku", None, [])
        assert book.add_phone(customer, "254712345678") is True
        assert book.add_phone(customer, "254712345678") is False
        sibling = book.add_customer("Brian Wanjiku", None, [])
        assert book.add_phone(sibling, "254712345678") is True  # a parent's phone, on each child
        assert session.execute(select(func.count()).select_from(CustomerPhoneRow)).scalar_one() == 2
        assert {c.name for c in book.customers_by_phone_hash(phone_sha256("254712345678"))} == {
            "Mary Wanjiku", "Brian Wanjiku"}
    engine.dispose()
