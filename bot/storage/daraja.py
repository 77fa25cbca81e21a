"""Daraja credentials per shortcode, sealed at rest, and the record of what Hesabu did with them (URLs and Pull
registered, the last pull). The secrets are opened only here and only into `DarajaCredentials`, whose repr
masks them, so a log line or a traceback never carries one."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.storage.sealing import Keyring, SealError
from bot.storage.tables import DarajaCredentialRow, DarajaRequestRow

SECRET_FIELDS = ("consumer_key", "consumer_secret", "passkey")
OPTIONAL_FIELDS = ("initiator_name", "security_credential")
ENVIRONMENTS = ("sandbox", "production")


def mask(value: str) -> str:
    """`abcd…wxyz` for long values, `****` for short ones: enough to recognise, never enough to use."""
    if not value:
        return ""
    return f"{value[:4]}…{value[-4:]}" if len(value) >= 16 else "****"


@dataclass(frozen=True, slots=True)
class DarajaCredentials:
    business_id: int
    shortcode: str
    environment: str
    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    passkey: str = field(repr=False)
    initiator_name: str = ""
    security_credential: str = field(default="", repr=False)

    @property
    def has_initiator(self) -> bool:
        return bool(self.initiator_name and self.security_credential)

    def masked(self) -> dict[str, str]:
        return {"consumer_key": mask(self.consumer_key), "consumer_secret": mask(self.consumer_secret),
                "passkey": mask(self.passkey), "initiator_name": self.initiator_name,
                "security_credential": mask(self.security_credential)}


def _context(business_id: int, shortcode: str) -> str:
    return f"daraja_credential:{business_id}:{shortcode}"


def save_credentials(session: Session, keyring: Keyring, business_id: int, shortcode: str, environment: str,
                     secrets: dict[str, str], now: datetime) -> DarajaCredentialRow:
    """Insert or replace the shortcode's credentials (sealed under the current key). Never commits."""
    plain = json.dumps({k: secrets.get(k, "") for k in SECRET_FIELDS + OPTIONAL_FIELDS}).encode()
    key_id, sealed = keyring.seal(plain, _context(business_id, shortcode))
    row = session.exec(select(DarajaCredentialRow).where(DarajaCredentialRow.shortcode == shortcode)).first()
    if row is None:
        row = DarajaCredentialRow(business_id=business_id, shortcode=shortcode, key_id=key_id, sealed=sealed,
                                  created_at=now)
    row.environment, row.key_id, row.sealed, row.updated_at = environment, key_id, sealed, now
    session.add(row)
    session.flush()
    return row


def credential_row(session: Session, shortcode: str) -> DarajaCredentialRow | None:
    return session.exec(select(DarajaCredentialRow).where(DarajaCredentialRow.shortcode == shortcode)).first()


def credential_rows_of(session: Session, business_id: int) -> list[DarajaCredentialRow]:
    query = select(DarajaCredentialRow).where(DarajaCredentialRow.business_id == business_id)
    return list(session.exec(query.order_by(col(DarajaCredentialRow.id))))


def open_credentials(keyring: Keyring, row: DarajaCredentialRow) -> DarajaCredentials:
    """Raises SealError when no key this process has opens the row."""
    data: dict[str, Any] = json.loads(keyring.open(row.key_id, row.sealed, _context(row.business_id, row.shortcode)))
    return DarajaCredentials(row.business_id, row.shortcode, row.environment,
                             **{k: str(data.get(k, "")) for k in SECRET_FIELDS + OPTIONAL_FIELDS})


def credentials_for(session: Session, keyring: Keyring, shortcode: str) -> DarajaCredentials | None:
    row = credential_row(session, shortcode)
    return open_credentials(keyring, row) if row is not None else None


def credentials_of_business(session: Session, keyring: Keyring, business_id: int) -> DarajaCredentials | None:
    """The business's first shortcode with credentials (the one its pushes go through)."""
    rows = credential_rows_of(session, business_id)
    return open_credentials(keyring, rows[0]) if rows else None


def businesses_with_credentials(session: Session) -> set[int]:
    return set(session.exec(select(DarajaCredentialRow.business_id).distinct()))


def reseal_all(session: Session, keyring: Keyring, now: datetime) -> tuple[int, list[str]]:
    """Re-seal every row not under the current key. Returns (re-sealed count, shortcodes no key opens)."""
    done, unreadable = 0, []
    for row in session.exec(select(DarajaCredentialRow).order_by(col(DarajaCredentialRow.id))):
        if row.key_id == keyring.current_id:
            continue
        try:
            plain = keyring.open(row.key_id, row.sealed, _context(row.business_id, row.shortcode))
        except SealError:
            unreadable.append(row.shortcode)
            continue
        row.key_id, row.sealed = keyring.seal(plain, _context(row.business_id, row.shortcode))
        row.updated_at = now
        session.add(row)
        done += 1
    session.flush()
    return done, unreadable


def mark_registered(session: Session, shortcode: str, version: str, now: datetime) -> None:
    row = credential_row(session, shortcode)
    if row is not None:
        row.registered_version, row.registered_at = version, now
        session.add(row)


def mark_pull_registered(session: Session, shortcode: str, now: datetime) -> None:
    row = credential_row(session, shortcode)
    if row is not None:
        row.pull_registered_at = now
        session.add(row)


def record_pull(session: Session, shortcode: str, counts: dict[str, Any], now: datetime) -> None:
    row = credential_row(session, shortcode)
    if row is not None:
        row.last_pull_at, row.last_pull = now, json.dumps(counts)
        session.add(row)


def last_pull_of(row: DarajaCredentialRow) -> dict[str, Any]:
    try:
        data = json.loads(row.last_pull or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def pull_registered_shortcodes(session: Session) -> list[str]:
    query = select(DarajaCredentialRow.shortcode).where(col(DarajaCredentialRow.pull_registered_at).is_not(None))
    return sorted(session.exec(query))


def last_pulls_of(session: Session, business_id: int) -> list[tuple[str, datetime | None, dict[str, Any]]]:
    """(shortcode, last pull time, its counts) for each of the business's shortcodes with credentials."""
    return [(row.shortcode, row.last_pull_at, last_pull_of(row)) for row in credential_rows_of(session, business_id)]


def add_request(session: Session, row: DarajaRequestRow) -> DarajaRequestRow:
    session.add(row)
    session.flush()
    return row


def request_of(session: Session, request_id: int) -> DarajaRequestRow | None:
    return session.get(DarajaRequestRow, request_id)


def request_answered(session: Session, business_id: int, conversation_id: str,
                     originator_conversation_id: str) -> DarajaRequestRow | None:
    """The pending request an asynchronous result answers (by either id Daraja gave when it accepted)."""
    ids = [i for i in (conversation_id, originator_conversation_id) if i]
    if not ids:
        return None
    query = select(DarajaRequestRow).where(
        DarajaRequestRow.business_id == business_id,
        col(DarajaRequestRow.conversation_id).in_(ids) | col(DarajaRequestRow.originator_conversation_id).in_(ids))
    return session.exec(query.order_by(col(DarajaRequestRow.id))).first()
