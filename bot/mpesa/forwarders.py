"""Bodies that Android SMS-forwarding apps post to `POST /sms/{token}`, read into (sender, text, received_at).

Shapes read:
- capcom6/android-sms-gateway ("SMS Gateway for Android"): `{"event": "sms:received", "payload": {"message",
  "phoneNumber", "receivedAt", "messageId", "simNumber"}, "deviceId", "id", "webhookId"}`; other events
  (`sms:sent`, `system:ping`, ...) carry no received message and are ignored. It signs with `X-Signature` =
  hex HMAC-SHA256(signing key, raw body + `X-Timestamp`) (checked by webhooks.routes.sms).
- bogkonstantin/android_income_sms_gateway_webhook ("SMS to URL forwarder") default template:
  `{"from", "text", "sentStamp", "receivedStamp", "sim"}`, stamps in epoch milliseconds.
- plain: `{"from", "text", "received_at"}` with an ISO 8601 time (for scripts, Tasker, other apps).

`read_forwarded` never raises: it returns the message, an ignored event, or a problem with a reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

MAX_BODY = 64 * 1024
MAX_TEXT = 2000


@dataclass(frozen=True, slots=True)
class Forwarded:
    app: str  # sms-gateway | sms-to-url | plain
    sender: str
    text: str
    received_at: datetime | None  # the phone's clock, when the app says


@dataclass(frozen=True, slots=True)
class ForwardIgnored:
    reason: str


@dataclass(frozen=True, slots=True)
class ForwardProblem:
    reason: str


def read_forwarded(body: bytes) -> Forwarded | ForwardIgnored | ForwardProblem:
    if len(body) > MAX_BODY:
        return ForwardProblem(f"body too large ({len(body)} bytes)")
    try:
        doc = json.loads(body.decode("utf-8-sig"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return ForwardProblem("not JSON")
    if not isinstance(doc, dict):
        return ForwardProblem("not a JSON object")
    if "event" in doc or "payload" in doc:
        return _sms_gateway(doc)
    if "from" in doc and "text" in doc:
        app = "sms-to-url" if "receivedStamp" in doc or "sentStamp" in doc else "plain"
        stamp = doc.get("receivedStamp", doc.get("sentStamp")) if app == "sms-to-url" else doc.get("received_at")
        return _message(app, doc.get("from"), doc.get("text"), stamp)
    return ForwardProblem("not a forwarded SMS (expected from/text or an sms:received event)")


def _sms_gateway(doc: dict[str, object]) -> Forwarded | ForwardIgnored | ForwardProblem:
    event = doc.get("event")
    if event != "sms:received":
        return ForwardIgnored(f"event {str(event)[:40]!r} carries no received SMS")
    payload = doc.get("payload")
    if not isinstance(payload, dict):
        return ForwardProblem("sms:received without a payload object")
    return _message("sms-gateway", payload.get("phoneNumber"), payload.get("message"), payload.get("receivedAt"))


def _message(app: str, sender: object, text: object, stamp: object) -> Forwarded | ForwardProblem:
    if not isinstance(sender, str) or not isinstance(text, str):
        return ForwardProblem("the sender and the text must be strings")
    if len(text) > MAX_TEXT or len(sender) > 100:
        return ForwardProblem("the text is too long for an SMS")
    return Forwarded(app, sender.strip(), text, _time(stamp))


def _time(stamp: object) -> datetime | None:
    """Epoch milliseconds (number or digits) or ISO 8601 with an offset; anything else is None (not needed:
    the M-PESA message carries its own time)."""
    try:
        if isinstance(stamp, int | Decimal) and not isinstance(stamp, bool) or (
                isinstance(stamp, str) and stamp.strip().isdigit()):
            millis = int(str(stamp).strip())
            return datetime.fromtimestamp(millis / 1000, UTC) if 10**11 < millis < 10**14 else None
        if isinstance(stamp, str) and stamp.strip():
            parsed = datetime.fromisoformat(stamp.strip().replace("Z", "+00:00"))
            return parsed.astimezone(UTC) if parsed.tzinfo is not None else None
    except (ValueError, OverflowError, OSError):
        return None
    return None
