"""SqlBook answers every BookView lookup like the reference InMemoryBook, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel

from bot.ledger.book import Alias, AliasKind, Customer, OpenInvoice, masked_key
from bot.ledger.memory_book import InMemoryBook
from bot.ledger.phones import phone_sha256
from bot.ledger.references import digits_key, name_key, one_slip_variants, reference_key
from bot.ledger.replay import BalanceChange, CreditChange
from bot.storage.book import SqlBook
from bot.storage.db import make_engine, unit_of_work
from tests.support import add_business

PEOPLE = [("Mary Wanjiku Kamau", "ADM4521", ["254712345678"]), ("John Otieno", "B12", ["254722000126"]),
          ("Mary Achieng", None, ["254712000678", "254110000126"]), ("Otieno John", "b-12", [])]
INVOICES = [("INV-0042", 0, "2500.00", 1), ("INV-0043", 0, "1000.00", 2), ("RENT-042", 1, "7000.00", 3),
            ("INV-0050", 2, "1000.00", 4), ("FEE/2026/014", 3, "300.00", 5)]


def build(engine, shortcode: str) -> tuple[SqlBook, InMemoryBook, Session]:
    shop = add_business(engine, shortcode)
    session = Session(engine)
    sql = SqlBook(session, shop.id)
    ids = [sql.add_customer(name, account, phones) for name, account, phones in PEOPLE]
    memory = InMemoryBook([Customer(str(i), n, a, tuple(p)) for i, (n, a, p) in zip(ids, PEOPLE, strict=True)])
    for number, who, amount, day in INVOICES:
        invoice_id = sql.add_invoice(number, ids[who], Decimal(amount), date(2026, 9, day), date(2026, 9, day + 7))
        memory.add_invoice(OpenInvoice(str(invoice_id), number, str(ids[who]), Decimal(amount), Decimal(amount),
                                       date(2026, 9, day), date(2026, 9, day + 7)))
    return sql, memory, session


def same(a, b) -> None:
    assert list(a) == list(b)


def test_sqlbook_answers_like_the_memory_book(db_url):
    engine = make_engine(db_url)
    sql, memory, session = build(engine, "600400")
    changes = [BalanceChange(memory.invoices_by_digits_key("42")[0].id, Decimal("-2500.00")),
               CreditChange(sql.customer(memory.invoices_by_digits_key("42")[0].customer_id).id, Decimal("50.00"))]
    sql.apply(changes)
    memory.apply(changes)
    alias = Alias(AliasKind.PAYER_NAME, name_key("JANE DOE"), memory.invoices_by_digits_key("50")[0].customer_id)
    assert len(sql.add_aliases([alias, alias])) == 1
    memory.add_alias(alias)
    for key in ("INV0042", "INV0043", "RENT042", "FEE2026014", "NOPE"):
        assert sql.invoice_by_reference_key(key) == memory.invoice_by_reference_key(key)
    for key in ("42", "50", "2026014", "7"):
        same(sql.invoices_by_digits_key(key), memory.invoices_by_digits_key(key))
    for key in ("ADM4521", "B12", "X"):
        same(sql.customers_by_account_key(reference_key(key)), memory.customers_by_account_key(reference_key(key)))
    for phone in ("254712345678", "254110000126", "254700000000"):
        same(sql.customers_by_phone_hash(phone_sha256(phone)), memory.customers_by_phone_hash(phone_sha256(phone)))
        key = masked_key(phone[:4], phone[-3:])
        same(sql.customers_by_masked_phone(key), memory.customers_by_masked_phone(key))
    for name in ("john otieno", "mary kamau wanjiku", "nobody"):
        same(sql.customers_by_name_key(name_key(name)), memory.customers_by_name_key(name_key(name)))
    for tokens in (("mary",), ("john", "otieno"), ("mary", "zzz")):
        same(sql.customers_by_name_tokens(tokens, 10), memory.customers_by_name_tokens(tokens, 10))
    same(sql.customers_by_alias(AliasKind.PAYER_NAME, "doe jane"), memory.customers_by_alias(
        AliasKind.PAYER_NAME, "doe jane"))
    for customer in memory.customers_by_name_tokens(("mary",), 10) + memory.customers_by_name_tokens(("john",), 10):
        same(sql.open_invoices_of(customer.id, 50), memory.open_invoices_of(customer.id, 50))
        assert sql.credit_of(customer.id) == memory.credit_of(customer.id)
        assert sql.customer(customer.id) == memory.customer(customer.id)
    for amount in ("1000.00", "2500.00", "300.00"):
        same(sql.open_invoices_with_balance(Decimal(amount), 10),
             memory.open_invoices_with_balance(Decimal(amount), 10))
    assert digits_key("INV-0042") == "42"
    session.close()
    engine.dispose()


def test_migrations_match_the_tables(db_url):
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []
    engine.dispose()


def test_one_business_never_sees_another_books_rows(db_url):
    engine = make_engine(db_url)
    with unit_of_work(engine) as session:
        a, b = add_business(engine, "600500"), add_business(engine, "600600")
        SqlBook(session, a.id).add_customer("Mary Kamau", "A1", ["254712345678"])
    with Session(engine) as session:
        other = SqlBook(session, b.id)
        assert not other.customers_by_account_key("A1") and not other.customers_by_name_tokens(("mary",), 5)
        assert not other.customers_by_phone_hash(phone_sha256("254712345678"))
    engine.dispose()


def test_sqlbook_prefetches_and_caches_answer_like_the_memory_book(db_url):
    """What one query fetches ahead (digits with the reference, slips, the alias of a key, twice an amount) and
    what a SqlBook caches answer like single lookups, and a write through the book drops what it made stale."""
    engine = make_engine(db_url)
    sql, memory, session = build(engine, "600401")
    for reference in ("INV-0049", "INV-0042", "nope 0043"):  # a miss with digits, a hit, digits only
        key = reference_key(reference)
        assert sql.invoice_by_reference_key(key) == memory.invoice_by_reference_key(key)
        same(sql.invoices_by_digits_key(digits_key(reference)), memory.invoices_by_digits_key(digits_key(reference)))
        for variant in sorted(one_slip_variants(key)):
            assert sql.invoice_by_reference_key(variant) == memory.invoice_by_reference_key(variant)
    mary = memory.customers_by_account_key(reference_key("ADM4521"))[0]
    phone = phone_sha256("254712345678")
    same(sql.customers_by_phone_hash(phone), memory.customers_by_phone_hash(phone))
    same(sql.customers_by_alias(AliasKind.PHONE_HASH, phone), [])  # prefetched with the phone: nobody yet
    learned = [Alias(AliasKind.PHONE_HASH, phone, memory.customers_by_name_key("john otieno")[0].id),
               Alias(AliasKind.REFERENCE, "ADM4521", mary.id), Alias(AliasKind.PAYER_NAME, "doe jane", mary.id)]
    sql.add_aliases(learned)
    for alias in learned:
        memory.add_alias(alias)
    same(sql.customers_by_phone_hash(phone), memory.customers_by_phone_hash(phone))
    for kind, key in ((AliasKind.PHONE_HASH, phone), (AliasKind.REFERENCE, "ADM4521"),
                      (AliasKind.PAYER_NAME, "doe jane")):
        same(sql.customers_by_account_key(key), memory.customers_by_account_key(key))
        same(sql.customers_by_name_key(key), memory.customers_by_name_key(key))
        same(sql.customers_by_alias(kind, key), memory.customers_by_alias(kind, key))
    for limit in (1, 10, 1, 3):
        same(sql.customers_by_name_tokens(("mary",), limit), memory.customers_by_name_tokens(("mary",), limit))
        same(sql.customers_by_name_tokens(("otieno", "john"), limit),
             memory.customers_by_name_tokens(("otieno", "john"), limit))
    for amount in ("500.00", "1000.00", "2000.00", "1250.00", "2500.00"):
        same(sql.open_invoices_with_balance(Decimal(amount), 10),
             memory.open_invoices_with_balance(Decimal(amount), 10))
    same(sql.open_invoices_of(mary.id, 50), memory.open_invoices_of(mary.id, 50))
    paid = memory.invoice_by_reference_key("INV0042")
    assert paid is not None
    changes = [BalanceChange(paid.id, Decimal("-1500.00"))]
    sql.apply(changes)
    memory.apply(changes)
    same(sql.open_invoices_of(mary.id, 50), memory.open_invoices_of(mary.id, 50))
    assert sql.invoice_by_reference_key("INV0042") == memory.invoice_by_reference_key("INV0042")
    for amount in ("1000.00", "2000.00", "2500.00"):
        same(sql.open_invoices_with_balance(Decimal(amount), 10),
             memory.open_invoices_with_balance(Decimal(amount), 10))
    session.close()
    engine.dispose()
