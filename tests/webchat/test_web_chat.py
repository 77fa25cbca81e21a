"""The web chat without a browser, on real SQLite and PostgreSQL: the JSON API, the demo business, the
simulator posting through the real C2B endpoint, alerts through the outbox, and chats of different businesses
never seeing each other's messages or data."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from bot.bookkeeping.demo import DEMO_SHORTCODE
from bot.channels.web import COOKIE
from bot.storage.businesses import new_link_code
from bot.storage.db import unit_of_work
from bot.storage.tables import BusinessRow, ChatLinkRow, PaymentRow
from tests.support import Service, add_business, c2b, running_service

pytestmark = pytest.mark.anyio
PRODUCTION = {"env": "production", "web_chat": True, "secret_key": "k" * 40}


@asynccontextmanager
async def web_service(db_url: str, tmp_path, **settings: Any) -> AsyncIterator[Service]:
    async with running_service(db_url, tmp_path, **settings) as svc:
        # the simulator calls this very app, in process
        svc.app.state.services.simulator_transport = httpx.ASGITransport(app=svc.app)
        yield svc


async def eventually(check: Callable[[], Any], within: float = 8.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = await check()
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def messages(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/chat/api/messages")
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


async def say(client: httpx.AsyncClient, **body: Any) -> None:
    response = await client.post("/chat/api/send", json=body)
    assert response.status_code == 200, response.text


def message_with(text: str, client: httpx.AsyncClient) -> Callable[[], Any]:
    async def check() -> list[dict[str, Any]]:
        return [m for m in await messages(client) if text in m["text"]]
    return check


async def login(svc: Service, client: httpx.AsyncClient, business_id: int) -> None:
    with unit_of_work(svc.engine) as session:
        code = new_link_code(session, business_id, "owner", datetime.now(UTC))
    page = await client.get(f"/chat/login/{code}")
    assert page.status_code == 200 and code in page.text  # a page with a button: the code is not spent yet
    response = await client.post("/chat/login", content=f"code={code}",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 303 and response.headers["location"] == "/chat"


def other_client(svc: Service) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app, client=("127.0.0.1", 40001)),
                             base_url="http://hesabu.test")


async def test_development_first_visit_gets_the_demo_and_the_whole_loop_works(db_url, tmp_path) -> None:
    async with web_service(db_url, tmp_path) as svc:
        page = await svc.client.get("/chat")
        assert page.status_code == 200 and "chat.js" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert COOKIE in svc.client.cookies
        info = (await svc.client.get("/chat/api/session")).json()
        assert info["business"] == "Demo Duka" and info["simulator"] is True
        assert info["example"]["ref"] == "INV-0001"
        first = await messages(svc.client)
        assert "Karibu" in first[0]["text"] and any("/invoice" in m["text"] for m in first)

        await say(svc.client, text="/invoices", id="p1")
        await say(svc.client, text="/invoices", id="p1")  # the page retried: answered once
        lists = [m for m in await messages(svc.client) if m["text"].startswith("Open invoices")]
        assert len(lists) == 1 and "INV-0006" in lists[0]["text"]
        assert [m["text"] for m in await messages(svc.client) if m["direction"] == "in"] == ["/invoices"]

        paid = await svc.client.post("/chat/api/simulate", json={"amount": "2500", "ref": "INV-0001",
                                                                 "name": "Mary Wanjiku", "phone": "0712345678"})
        assert paid.status_code == 200 and paid.json()["posted"][0]["status"] == 200
        alert = await eventually(message_with("paid INV-0001 in full", svc.client))
        assert alert[0]["direction"] == "out"
        with Session(svc.engine) as session:  # a real callback: journaled, stored and matched as Daraja's would be
            payment = session.exec(select(PaymentRow)).one()
            assert payment.trans_id == paid.json()["posted"][0]["trans_id"] and payment.status == "matched"


async def test_a_tapped_suggestion_confirms_it_and_edits_the_alert_in_place(db_url, tmp_path) -> None:
    async with web_service(db_url, tmp_path) as svc:
        await svc.client.get("/chat")
        paid = await svc.client.post("/chat/api/simulate", json={"amount": "2500", "ref": "wanjiku",
                                                                 "name": "Jane Doe", "phone": "0722999888"})
        assert paid.status_code == 200
        alert = (await eventually(message_with("Which invoice", svc.client)))[0]
        choice = next(c for c in alert["choices"] if c["data"].startswith("c:"))
        await say(svc.client, choice=choice["data"], message_ref=str(alert["id"]), id="tap-1")
        edited = next(m for m in await messages(svc.client) if m["id"] == alert["id"])
        assert edited["text"] != alert["text"] and "INV-0001" in edited["text"]
        assert [c["label"] for c in edited["choices"]] == ["Undo"]
        with Session(svc.engine) as session:
            assert session.exec(select(PaymentRow)).one().status == "matched"


async def test_the_burst_sends_about_ten_realistic_payments_through_the_endpoint(db_url, tmp_path) -> None:
    async with web_service(db_url, tmp_path) as svc:
        await svc.client.get("/chat")
        burst = await svc.client.post("/chat/api/simulate/burst", json={})
        posted = burst.json()["posted"]
        assert burst.status_code == 200 and 8 <= len(posted) <= 10
        assert all(p["status"] == 200 for p in posted)
        refs = [p["ref"] for p in posted]
        assert "" in refs and "inv 2" in refs and "INV0003" in refs and "INV-0999" in refs

        async def all_stored() -> bool:
            with Session(svc.engine) as session:
                return len(session.exec(select(PaymentRow)).all()) == len(posted)
        await eventually(all_stored)


async def test_a_web_chat_never_sees_another_business(db_url, tmp_path) -> None:
    async with web_service(db_url, tmp_path, **PRODUCTION) as svc, other_client(svc) as stranger:
        shop_a, shop_b = add_business(svc.engine, "600701", name="Duka A"), add_business(svc.engine, "600702",
                                                                                       name="Duka B")
        assert "Enter the link code" in (await svc.client.get("/chat")).text  # production: a login first
        assert (await svc.client.get("/chat/api/messages")).status_code == 401
        await login(svc, svc.client, shop_a.id)
        await login(svc, stranger, shop_b.id)
        assert (await svc.client.get("/chat/api/session")).json()["business"] == "Duka A"
        assert (await stranger.get("/chat/api/session")).json()["business"] == "Duka B"

        paid = await svc.client.post(f"/c2b/{shop_a.token}/confirmation", json=c2b("TXWEB00001", "600701", ref="X9"))
        assert paid.status_code == 200
        alert = (await eventually(message_with("TXWEB00001", svc.client)))[0]
        assert not [m for m in await messages(stranger) if "TXWEB00001" in m["text"]]

        # B's chat taps A's button on A's message: A's message stays, A's payment stays unmatched
        await say(stranger, choice=alert["choices"][-1]["data"], message_ref=str(alert["id"]), id="evil")
        assert next(m for m in await messages(svc.client) if m["id"] == alert["id"]) == alert
        with Session(svc.engine) as session:
            assert session.exec(select(PaymentRow)).one().status != "ignored"
        await say(stranger, text="/unmatched", id="u")
        assert any("Every payment is matched" in m["text"] for m in await messages(stranger))
        await say(stranger, text="/customer Mary", id="c")
        assert (await stranger.get(f"/chat/api/files/{alert['id']}/picture")).status_code == 404

        forged = httpx.Cookies()
        forged.set(COOKIE, svc.client.cookies[COOKIE][:-4] + "0000", domain="hesabu.test", path="/chat")
        stranger.cookies = forged
        assert (await stranger.get("/chat/api/messages")).status_code == 401
        # simulated payments would go into real books: none in production
        assert (await svc.client.post("/chat/api/simulate", json={"amount": "10"})).status_code == 404
        with Session(svc.engine) as session:  # and no demo business in production
            assert not session.exec(select(BusinessRow).where(BusinessRow.name == "Demo Duka")).all()


async def test_a_used_or_wrong_code_does_not_log_in(db_url, tmp_path) -> None:
    async with web_service(db_url, tmp_path, **PRODUCTION) as svc:
        response = await svc.client.post("/chat/login", content="code=NOPE2345",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 400 and "not valid" in response.text
        assert COOKIE not in svc.client.cookies
        with Session(svc.engine) as session:
            assert not session.exec(select(ChatLinkRow)).all()


async def test_posts_must_be_json(db_url, tmp_path) -> None:
    async with web_service(db_url, tmp_path) as svc:
        await svc.client.get("/chat")
        form = await svc.client.post("/chat/api/send", content="text=/help",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert form.status_code == 415


async def test_off_means_not_found_and_no_demo(tmp_path) -> None:
    from bot.storage.migrate import upgrade

    db_url = f"sqlite:///{tmp_path / 'off.db'}"
    upgrade(db_url)
    async with web_service(db_url, tmp_path, web_chat=False) as svc:
        assert (await svc.client.get("/chat")).status_code == 404
        assert (await svc.client.get("/chat/static/chat.js")).status_code == 404
        with Session(svc.engine) as session:
            assert session.get(BusinessRow, 1) is None
    async with web_service(db_url, tmp_path) as svc:  # on, but nobody opened the page: still no demo
        with Session(svc.engine) as session:
            assert session.get(BusinessRow, 1) is None
        assert DEMO_SHORTCODE == "600000"
