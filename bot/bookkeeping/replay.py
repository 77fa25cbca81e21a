"""`hesabu match replay`: a labelled scenario (shared datasets README) through the live storage path.

Each payment event is a Daraja C2B confirmation body: it is parsed and stored by the same code as a live
callback (`build` is webhooks.intake.records.build_record, then record_callbacks), matched by `process_payment`,
and then the true allocation is confirmed through the owner-action services, which undo what the engine
applied when it differs and learn the payer. One decision line per payment."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from bot.bookkeeping.actions import ignore_payment, match_by_hand
from bot.bookkeeping.invoices import create_customer, create_invoice
from bot.bookkeeping.processing import Processed, process_payment
from bot.ledger.allocation import Settlement
from bot.ledger.phones import normalise_phone
from bot.storage.businesses import CallbackTarget, create_business
from bot.storage.callbacks import CallbackRecord, record_callbacks
from bot.storage.db import Engine, unit_of_work

BuildRecord = Callable[[str, CallbackTarget, bytes, str, datetime], CallbackRecord]
ACTOR = "replay"


class ReplayError(Exception):
    """The scenario itself cannot be replayed (a truth that breaks an invariant, an unknown customer)."""


def replay_scenario(engine: Engine, scenario: dict[str, Any], build: BuildRecord) -> Iterator[dict[str, Any]]:
    """Yield one decision line per payment event, in order."""
    target, customers = _set_up(engine, scenario)
    for event in scenario["events"]:
        if "invoice" in event:
            _add_invoice(engine, target.business_id, customers, event["invoice"])
        else:
            yield _pay(engine, target, event["payment"], scenario["truth"], build)


def _set_up(engine: Engine, scenario: dict[str, Any]) -> tuple[CallbackTarget, dict[str, int]]:
    spec = scenario["business"]
    with unit_of_work(engine) as session:
        business = create_business(session, spec["name"], spec["shortcode"], till=spec.get("kind") == "till",
                                   timezone=spec.get("timezone", "Africa/Nairobi"))
        business_id = business.id or 0
        customers = {}
        for raw in scenario["customers"]:
            phones = [p for p in raw.get("phones", []) if normalise_phone(p)]  # as owners type them; some are not
            made = create_customer(session, business_id, raw["name"], phones, raw.get("account"))
            if made.customer_id is None:
                raise ReplayError(f"customer {raw['ref']}: {made.message}")
            customers[raw["ref"]] = made.customer_id
    target = CallbackTarget(business_id, business.callback_token, frozenset({spec["shortcode"]}), business.kind,
                            False)
    return target, customers


def _add_invoice(engine: Engine, business_id: int, customers: dict[str, int], raw: dict[str, Any]) -> None:
    with unit_of_work(engine) as session:
        made = create_invoice(session, business_id, customers[raw["customer"]], Decimal(raw["amount"]),
                              date.fromisoformat(raw["issued"]), date.fromisoformat(raw["due"]), number=raw["number"])
    if not made.ok:
        raise ReplayError(f"invoice {raw['number']}: {made.message}")


def _pay(engine: Engine, target: CallbackTarget, body: dict[str, Any], truth: dict[str, Any],
         build: BuildRecord) -> dict[str, Any]:
    now = datetime.now(UTC)
    record = build("c2b_confirmation", target, json.dumps(body).encode(), "replay", now)
    with engine.begin() as conn:
        recorded = record_callbacks(conn, [record], now)[0]
    if recorded.payment_id is None:
        raise ReplayError(f"{body.get('TransID')}: {recorded.outcome.value} ({record.problem or 'not a payment'})")
    with unit_of_work(engine) as session:
        processed = process_payment(session, recorded.payment_id, now)
    if processed is None:
        raise ReplayError(f"{body.get('TransID')}: already processed")
    _confirm_truth(engine, target.business_id, processed, truth[processed.trans_id])
    return decision_line(processed)


def _confirm_truth(engine: Engine, business_id: int, processed: Processed, truth: list[dict[str, str]]) -> None:
    with unit_of_work(engine) as session:
        if truth:
            result = match_by_hand(session, business_id, processed.trans_id, [t["invoice"] for t in truth], ACTOR,
                                   [Decimal(t["amount"]) for t in truth])
        else:
            result = ignore_payment(session, business_id, processed.payment_id, ACTOR)
    if not result.ok:
        raise ReplayError(f"{processed.trans_id}: the truth could not be confirmed: {result.message}")


def decision_line(processed: Processed) -> dict[str, Any]:
    decision = processed.decision
    return {"TransID": processed.trans_id, "decision": decision.kind.value,
            "allocations": _allocations(decision.settlement) if decision.settlement else [],
            "suggestions": [_allocations(s) for s in decision.suggestions]}


def _allocations(settlement: Settlement) -> list[dict[str, str]]:
    return [{"invoice": a.number, "amount": f"{a.amount:.2f}"} for a in settlement.allocations]
