"""A business's SMS-forwarding settings (kept in business.settings_json under "sms"): the signing key an app such as
SMS Gateway for Android signs its webhooks with, and whether an unsigned post is refused."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from bot.storage.tables import BusinessRow


@dataclass(frozen=True, slots=True)
class Forwarding:
    signing_key: str | None
    require_signature: bool


def _settings(business: BusinessRow) -> dict[str, Any]:
    try:
        data = json.loads(business.settings_json or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def forwarding_of(engine: Engine, business_id: int) -> Forwarding:
    with Session(engine) as session:
        business = session.get(BusinessRow, business_id)
        sms = _settings(business).get("sms", {}) if business is not None else {}
    if not isinstance(sms, dict):
        sms = {}
    key = sms.get("signing_key")
    return Forwarding(key if isinstance(key, str) and key else None, bool(sms.get("require_signature", False)))


def set_up_forwarding(session: Session, business: BusinessRow, *, require_signature: bool | None = None,
                      new_key: bool = False) -> Forwarding:
    """The business's signing key, made on first use (or anew); flushes, never commits."""
    data = _settings(business)
    sms = data.get("sms") if isinstance(data.get("sms"), dict) else {}
    assert isinstance(sms, dict)
    if new_key or not sms.get("signing_key"):
        sms["signing_key"] = secrets.token_urlsafe(24)
    if require_signature is not None:
        sms["require_signature"] = require_signature
    data["sms"] = sms
    business.settings_json = json.dumps(data)
    session.add(business)
    session.flush()
    return Forwarding(str(sms["signing_key"]), bool(sms.get("require_signature", False)))
