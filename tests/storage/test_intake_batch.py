"""record_callbacks on a mixed batch: every journal row and payment points at the right callback."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlmodel import Session, select

from bot.storage.businesses import CallbackTarget
from bot.storage.callbacks import Outcome, record_callbacks
from bot.storage.db import make_engine
from bot.storage.tables import CallbackRow, PaymentRow
from tests.support import add_business, c2b
from webhooks.intake.records import build_record


def test_a_mixed_batch_maps_every_row_back_to_its_callback(db_url):
    engine = make_engine(db_url)
    shop = add_business(engine, "600984")
    target = CallbackTarget(shop.id, shop.token, frozenset({"600984"}), "paybill", False)
    bodies = [c2b("MIX0000001", "600984"), b"not json", c2b("MIX0000002", "600984", amount="abc"),
              c2b("MIX0000001", "600984"), c2b("MIX0000003", "600985"), c2b("MIX0000004", "600984")]
    now = datetime.now(UTC)
    records = [build_record("c2b_confirmation", target, b if isinstance(b, bytes) else json.dumps(b).encode(),
                            "127.0.0.1", now) for b in bodies]
    with engine.begin() as conn:
        recorded = record_callbacks(conn, records, now)
    assert [r.outcome for r in recorded] == [Outcome.STORED, Outcome.INVALID, Outcome.INVALID, Outcome.DUPLICATE,
                                             Outcome.FOREIGN_SHORTCODE, Outcome.STORED]
    with Session(engine) as session:
        journal = {c.id: c for c in session.exec(select(CallbackRow))}
        for record, result in zip(records, recorded, strict=True):
            assert journal[result.callback_id].body == record.body
            assert journal[result.callback_id].outcome == result.outcome.value
        for payment in session.exec(select(PaymentRow)):
            assert journal[payment.callback_id].external_id == payment.trans_id
            assert json.loads(journal[payment.callback_id].body)["TransID"] == payment.trans_id
    assert recorded[0].payment_id is not None and recorded[5].payment_id is not None
    engine.dispose()
