"""Test helpers: payload samples, businesses, and an app wired to a real database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from bot.storage.businesses import create_business
from bot.storage.db import make_engine, unit_of_work
from bot.storage.tables import BusinessRow, CallbackRow, PaymentRow
from webhooks.app import create_app
from webhooks.settings import Settings

PAYLOADS = Path(__file__).parent / "payloads"


def payload(name: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    data.update(overrides)
    return data


@dataclass
class Shop:
    id: int
    token: str
    shortcode: str


def add_business(engine: Engine, shortcode: str, *, name: str = "Duka", till: bool = False,
                 reject_unknown: bool = False) -> Shop:
    with unit_of_work(engine) as session:
        b = create_business(session, name, shortcode, till=till, timezone="Africa/Nairobi")
        b.reject_unknown_accounts = reject_unknown
        session.add(b)
    assert b.id is not None
    return Shop(b.id, b.callback_token, shortcode)


def count(engine: Engine, model: type, **where: Any) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(session.execute(query).scalar_one())


def payments(engine: Engine, business_id: int) -> list[PaymentRow]:
    with Session(engine) as session:
        rows = session.execute(select(PaymentRow).where(PaymentRow.business_id == business_id)
                               .order_by(PaymentRow.id)).scalars()  # type: ignore[arg-type]
        return list(rows)


def journal(engine: Engine) -> list[CallbackRow]:
    with Session(engine) as session:
        return list(session.execute(select(CallbackRow).order_by(CallbackRow.id)).scalars())  # type: ignore[arg-type]


def c2b(trans_id: str, shortcode: str, amount: str = "1500.00", ref: str = "INV-0001", **extra: str) -> dict[str, str]:
    body = payload("c2b_confirmation_v1_hashed_sandbox_2025.json", TransID=trans_id, BusinessShortCode=shortcode,
                   TransAmount=amount, BillRefNumber=ref, TransTime="20261128101500")
    body.update(extra)
    return body


@dataclass
class Service:
    app: FastAPI
    client: httpx.AsyncClient
    engine: Engine
    settings: Settings


@asynccontextmanager
async def running_service(db_url: str, tmp_path: Path, client_host: str = "127.0.0.1",
                          **settings: Any) -> AsyncIterator[Service]:
    settings.setdefault("spool_dir", str(tmp_path / "spool"))
    config = Settings(database_url=db_url, **settings)
    app = create_app(config)
    engine = make_engine(db_url)
    transport = httpx.ASGITransport(app=app, client=(client_host, 40000))
    async with (app.router.lifespan_context(app),
                httpx.AsyncClient(transport=transport, base_url="http://hesabu.test") as client):
        yield Service(app, client, engine, config)
    engine.dispose()


def now() -> datetime:
    return datetime.now(UTC)


__all__ = ["BusinessRow", "CallbackRow", "PaymentRow"]
