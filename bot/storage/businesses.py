"""Businesses, their shortcodes, callback tokens and one-time link codes."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.storage.tables import BusinessRow, LinkCodeRow, ShortcodeRow

# no 0/O/1/I/L: a code is read off a screen and typed into a phone
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True, slots=True)
class CallbackTarget:
    """What the callback path needs to know about a business, cached by token hash."""

    business_id: int
    token: str
    shortcodes: frozenset[str]
    kind: str
    reject_unknown_accounts: bool


class ShortcodeTaken(Exception):
    def __init__(self, shortcode: str) -> None:
        super().__init__(f"shortcode {shortcode} already belongs to a business")


def new_callback_token() -> str:
    """Lowercase hex: Safaricom rejects callback URLs containing words like 'sql' or 'exe'; hex cannot spell them."""
    return secrets.token_hex(16)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_business(session: Session, name: str, shortcode: str, *, till: bool, timezone: str) -> BusinessRow:
    if session.get(ShortcodeRow, shortcode) is not None:
        raise ShortcodeTaken(shortcode)
    business = BusinessRow(name=name, kind="till" if till else "paybill", timezone=timezone,
                           callback_token=new_callback_token())
    session.add(business)
    session.flush()
    assert business.id is not None
    session.add(ShortcodeRow(shortcode=shortcode, business_id=business.id))
    session.flush()
    return business


def shortcodes_of(session: Session, business_id: int) -> list[str]:
    rows = session.exec(select(ShortcodeRow.shortcode).where(ShortcodeRow.business_id == business_id))
    return sorted(rows)


def list_businesses(session: Session) -> list[BusinessRow]:
    return list(session.exec(select(BusinessRow).order_by(BusinessRow.id)))  # type: ignore[arg-type]


def business_by_shortcode(session: Session, shortcode: str) -> BusinessRow | None:
    row = session.get(ShortcodeRow, shortcode)
    return session.get(BusinessRow, row.business_id) if row else None


def callback_targets(engine: Engine) -> dict[str, CallbackTarget]:
    """Every business keyed by the SHA-256 of its token (so lookups do not compare tokens byte by byte)."""
    with Session(engine) as session:
        codes: dict[int, set[str]] = {}
        for code in session.exec(select(ShortcodeRow)):
            codes.setdefault(code.business_id, set()).add(code.shortcode)
        return {
            token_digest(b.callback_token): CallbackTarget(
                business_id=b.id or 0, token=b.callback_token, shortcodes=frozenset(codes.get(b.id or 0, ())),
                kind=b.kind, reject_unknown_accounts=b.reject_unknown_accounts)
            for b in session.exec(select(BusinessRow))
        }


def new_link_code(session: Session, business_id: int, role: str, now: datetime,
                  ttl: timedelta = timedelta(hours=24)) -> str:
    if role not in ("owner", "staff"):
        raise ValueError("role must be owner or staff")
    code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    session.add(LinkCodeRow(business_id=business_id, code_sha256=link_code_digest(code), role=role,
                            expires_at=now + ttl, created_at=now))
    session.flush()
    return code


def link_code_digest(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def business_language(settings_json: str | None) -> Literal["en", "sw"]:
    """The business's default chat language (`settings_json["language"]`), English unless set to Swahili."""
    try:
        value = json.loads(settings_json or "{}").get("language")
    except (ValueError, AttributeError):
        return "en"
    return "sw" if value == "sw" else "en"


def set_business_language(business: BusinessRow, lang: str) -> None:
    try:
        settings = json.loads(business.settings_json or "{}")
    except ValueError:
        settings = {}
    if not isinstance(settings, dict):
        settings = {}
    settings["language"] = "sw" if lang == "sw" else "en"
    business.settings_json = json.dumps(settings)
