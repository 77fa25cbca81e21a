"""Callback integrity: a second confirmation of the same receipt with another amount is not an ordinary
duplicate. It is journaled, the stored payment is left as it was, and the owner is told (payment.conflict)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlmodel import Session

from bot.storage.tables import OutboxRow
from tests.support import add_business, c2b, payments, running_service

pytestmark = pytest.mark.anyio


async def test_the_same_receipt_with_another_amount_is_flagged_to_the_owner(db_url, tmp_path) -> None:
    async with running_service(db_url, tmp_path) as svc:
        shop = add_business(svc.engine, "600984")
        url = f"/c2b/{shop.token}/confirmation"
        assert (await svc.client.post(url, json=c2b("INT0000001", "600984", amount="1500.00"))).status_code == 200
        assert (await svc.client.post(url, json=c2b("INT0000001", "600984", amount="1500.00"))).status_code == 200
        assert (await svc.client.post(url, json=c2b("INT0000001", "600984", amount="15000.00"))).status_code == 200
        [payment] = payments(svc.engine, shop.id)
        assert str(payment.amount) == "1500.00"  # the first word stands; nothing is changed by the second
        with Session(svc.engine) as session:
            flags = list(session.scalars(select(OutboxRow).where(OutboxRow.business_id == shop.id,
                                                                 OutboxRow.kind == "payment.conflict")))
        assert len(flags) == 1  # the identical repeat is an ordinary duplicate; the other amount is flagged once
        assert "15000.00" in json.dumps(json.loads(flags[0].payload))
