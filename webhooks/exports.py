"""Payment exports in the contract's field names: csv and json (xlsx arrives with the summaries work)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from bot.storage.tables import PaymentRow

FIELDS = ["trans_id", "business_shortcode", "amount", "paid_at", "reference", "payer_name", "msisdn_kind",
          "source", "status", "allocations"]


def payment_record(p: PaymentRow, shortcode: str, tz: ZoneInfo,
                   allocations: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    return {
        "trans_id": p.trans_id, "business_shortcode": p.shortcode or shortcode, "amount": f"{p.amount:.2f}",
        "paid_at": p.paid_at.astimezone(tz).isoformat(), "reference": p.reference, "payer_name": p.payer_name,
        "msisdn_kind": p.msisdn_kind, "source": p.source, "status": p.status, "allocations": list(allocations),
    }


def to_json(records: list[dict[str, Any]]) -> str:
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"


def to_csv(records: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS)
    writer.writeheader()
    for r in records:
        allocs = ";".join(f"{a['invoice']}={a['amount']}" for a in r["allocations"])
        writer.writerow({**r, "allocations": allocs})
    return out.getvalue()
