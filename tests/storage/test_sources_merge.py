"""One payment per receipt from any source, in every order of arrival, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlmodel import Session

from bot.ledger.payments import IncomingPayment, PaymentSource
from bot.ledger.phones import read_msisdn
from bot.storage.callbacks import CallbackRecord, Outcome, record_callbacks
from bot.storage.db import make_engine
from bot.storage.tables import CallbackRow, MatchDecisionRow, OutboxRow, PaymentRow, PaymentSightingRow
from tests.support import add_business

PAID = datetime(2026, 10, 2, 16, 37, tzinfo=UTC)
SOURCES = ["c2b", "stk", "pull", "sms", "statement"]


def report(source: str, amount: str = "1500.00", shortcode: str | None = None, trans_id: str = "UJ2H08M4M3",
           ) -> IncomingPayment:
    """What each source really carries: STK has no shortcode and no reference; a till SMS has no shortcode."""
    has_ref = source in ("c2b", "pull", "statement")
    code = shortcode if shortcode is not None else ("" if source in ("stk", "sms") else "600984")
    phone = {"c2b": "e" * 64, "stk": "254712345678", "sms": "2547******678"}.get(source, "")
    return IncomingPayment(trans_id=trans_id, amount=Decimal(amount), paid_at=PAID + timedelta(seconds=3),
                           shortcode=code, reference="INV-0001" if has_ref else "",
                           payer_name="JANE DOE" if source in ("c2b", "sms", "statement") else "",
                           phone=read_msisdn(phone), source=PaymentSource(source))


def record(engine, shop, payments: list[IncomingPayment]):
    records = [CallbackRecord(source=p.source.value, business_id=shop.id, body=b"{}", remote_addr="",
                              received_at=PAID, external_id=p.trans_id, payment=p) for p in payments]
    with engine.begin() as conn:
        return record_callbacks(conn, records, datetime.now(UTC))


def state(engine, shop):
    with Session(engine) as session:
        pays = list(session.scalars(select(PaymentRow).where(PaymentRow.business_id == shop.id)))
        sightings = list(session.scalars(select(PaymentSightingRow).order_by(PaymentSightingRow.id)))
        conflicts = list(session.scalars(select(OutboxRow).where(OutboxRow.kind == "payment.conflict")))
        journal = list(session.scalars(select(CallbackRow)))
    return pays, sightings, conflicts, journal


ORDERS = [list(o) for n in (2, 3) for o in itertools.permutations(SOURCES, n)]


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def test_every_order_of_two_and_three_sources_makes_one_payment(engine):
    for n, order in enumerate(ORDERS):
        shop = add_business(engine, f"7{n:05d}")
        for source in order:  # one callback each, as they really arrive
            record(engine, shop, [report(source, shortcode=None if source in ("stk", "sms") else f"7{n:05d}")])
        pays, _, _, _ = state(engine, shop)
        assert len(pays) == 1, order
        payment = pays[0]
        assert payment.source == order[0]
        assert payment.sources.split(",") == order
        assert payment.shortcode == ("" if set(order) <= {"stk", "sms"} else f"7{n:05d}")
        assert payment.reference == ("INV-0001" if set(order) & {"c2b", "pull", "statement"} else ""), order
        assert payment.payer_name == ("JANE DOE" if set(order) & {"c2b", "sms", "statement"} else "")
        if set(order) & {"c2b", "stk"}:  # a hash (or a plain number, kept as its hash) beats a masked phone
            first = next(x for x in order if x in ("c2b", "stk"))  # the first hash is kept, never swapped
            assert payment.msisdn_kind == ("sha256" if first == "c2b" else "plain")
            assert payment.phone_sha256 is not None
        elif "sms" in order:
            assert payment.msisdn_kind == "masked", order
    _, sightings, conflicts, journal = state(engine, shop)
    assert conflicts == []
    assert len(journal) == sum(len(o) for o in ORDERS)  # every report journaled once


def test_a_batch_with_every_source_at_once(engine):
    shop = add_business(engine, "600984")
    recorded = record(engine, shop, [report(s) for s in SOURCES])
    assert [r.outcome for r in recorded] == [Outcome.STORED] + [Outcome.DUPLICATE] * 4
    assert [r.merged for r in recorded] == ["created"] + ["confirmed"] * 4
    pays, sightings, conflicts, _ = state(engine, shop)
    assert len(pays) == 1 and pays[0].sources == "c2b,stk,pull,sms,statement"
    assert [s.source for s in sightings] == SOURCES and conflicts == []


def test_the_same_report_twice_changes_nothing(engine):
    shop = add_business(engine, "600984")
    record(engine, shop, [report("c2b")])
    again = record(engine, shop, [report("c2b"), report("c2b")])
    assert [r.merged for r in again] == ["repeat", "repeat"]
    pays, sightings, conflicts, _ = state(engine, shop)
    assert len(pays) == 1 and len(sightings) == 1 and conflicts == [] and pays[0].sources == "c2b"


@pytest.mark.parametrize(("first", "later"), [("c2b", "sms"), ("sms", "c2b"), ("stk", "statement"),
                                               ("c2b", "c2b"), ("statement", "pull")])
def test_another_amount_is_flagged_never_merged_or_doubled(engine, first, later):
    shop = add_business(engine, "600984")
    record(engine, shop, [report(first)])
    recorded = record(engine, shop, [report(later, amount="1400.00")])
    record(engine, shop, [report(later, amount="1400.00")])  # the same disagreement again: told once
    assert recorded[0].merged == "conflict"
    pays, sightings, conflicts, _ = state(engine, shop)
    assert len(pays) == 1 and pays[0].amount == Decimal("1500.00") and pays[0].sources == first
    assert [s.outcome for s in sightings] == ["created", "conflict"]
    assert "1400.00" in sightings[1].detail
    assert len(conflicts) == 1 and '"trans_id": "UJ2H08M4M3"' in conflicts[0].payload


def test_another_shortcode_is_a_conflict(engine):
    shop = add_business(engine, "600984")
    record(engine, shop, [report("c2b")])
    assert record(engine, shop, [report("statement", shortcode="600985")])[0].merged == "conflict"
    assert record(engine, shop, [report("sms")])[0].merged == "confirmed"  # an SMS without a shortcode agrees


def test_a_reference_that_arrives_later_matches_the_payment_again(engine):
    shop = add_business(engine, "600984")
    created = record(engine, shop, [report("stk")])[0]
    with engine.begin() as conn:  # matching ran and found nothing
        conn.execute(PaymentRow.__table__.update().values(processed_at=PAID, status="unmatched"))
        conn.execute(MatchDecisionRow.__table__.insert().values(
            business_id=shop.id, payment_id=created.payment_id, kind="none", confidence=0, reasons="[]",
            applied="null", suggestions="[]", created_at=PAID))
    later = record(engine, shop, [report("c2b")])[0]
    assert later.merged == "filled" and later.payment_id == created.payment_id  # the writer wakes matching
    pays, _, _, _ = state(engine, shop)
    assert pays[0].reference == "INV-0001" and pays[0].processed_at is None and pays[0].shortcode == "600984"
    with Session(engine) as session:
        assert session.scalars(select(MatchDecisionRow)).first() is None


def test_a_matched_payment_keeps_its_match_when_a_reference_arrives(engine):
    shop = add_business(engine, "600984")
    record(engine, shop, [report("sms")])
    with engine.begin() as conn:
        conn.execute(PaymentRow.__table__.update().values(processed_at=PAID, status="matched"))
    later = record(engine, shop, [report("statement")])[0]
    assert later.merged == "filled" and later.payment_id is None
    pays, _, _, _ = state(engine, shop)
    assert pays[0].processed_at is not None and pays[0].status == "matched"


def test_concurrent_arrival_from_three_sources(engine):
    shop = add_business(engine, "600984")
    for round_ in range(8):
        trans_id = f"UJ2H08M{round_:03d}"
        barrier = threading.Barrier(3)
        errors: list[BaseException] = []

        def arrive(source: str, trans_id: str = trans_id, barrier: threading.Barrier = barrier,
                   errors: list[BaseException] = errors) -> None:
            try:
                barrier.wait(timeout=10)
                record(engine, shop, [report(source, trans_id=trans_id)])
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=arrive, args=(s,)) for s in ("stk", "c2b", "sms")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert errors == []
    pays, sightings, conflicts, _ = state(engine, shop)
    assert len(pays) == 8 and len(sightings) == 24 and conflicts == []
    for payment in pays:
        assert sorted(payment.sources.split(",")) == ["c2b", "sms", "stk"]
        assert payment.reference == "INV-0001" and payment.shortcode == "600984"
        assert payment.msisdn_kind in ("sha256", "plain") and payment.phone_sha256 is not None


def test_exports_list_every_source(engine):
    from zoneinfo import ZoneInfo

    from bot.bookkeeping.exports import payment_records, to_csv

    shop = add_business(engine, "600984")
    record(engine, shop, [report("stk"), report("c2b"), report("statement")])
    with Session(engine) as session:
        [row] = payment_records(session, shop.id, "600984", ZoneInfo("Africa/Nairobi"), None, None)
    assert (row["source"], row["sources"]) == ("stk", ["stk", "c2b", "statement"])
    assert "stk;c2b;statement" in to_csv([row])
