"""The cents column stores exactly what it is given or refuses: a float or a sub-cent amount never rounds."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from bot.storage.db import make_engine, unit_of_work
from bot.storage.tables import PaymentRow
from bot.storage.types import Cents, cents_of
from tests.support import add_business


@pytest.mark.parametrize("value", [0.1, 2500.0, Decimal("10.005"), Decimal("0.001"), Decimal("NaN"), "12.00", True])
def test_the_cents_type_refuses_float_sub_cent_and_non_money(value):
    with pytest.raises((TypeError, ValueError)):
        Cents().process_bind_param(value, None)


@pytest.mark.parametrize(("value", "cents"), [(Decimal("10.05"), 1005), (Decimal("2500"), 250000), (7, 700),
                                              (Decimal("-3.10"), -310), (Decimal("1.500"), 150)])
def test_exact_amounts_become_exact_cents(value, cents):
    assert cents_of(value) == cents


def _payment(shop_id: int, amount: object) -> PaymentRow:
    return PaymentRow(business_id=shop_id, trans_id="QKL5ABCD12", amount=amount, paid_at=datetime.now(UTC),
                      source="manual")  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", [10.05, Decimal("10.055")])
def test_a_payment_with_a_float_or_sub_cent_amount_is_not_stored(db_url, amount):
    engine = make_engine(db_url)
    shop = add_business(engine, "600984")
    with pytest.raises(StatementError), unit_of_work(engine) as session:
        session.add(_payment(shop.id, amount))
        session.flush()
    with unit_of_work(engine) as session:
        assert session.execute(select(func.count()).select_from(PaymentRow)).scalar_one() == 0
    engine.dispose()
