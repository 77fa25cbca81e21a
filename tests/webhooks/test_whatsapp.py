"""WhatsApp at the edge: inbound forms signed as Twilio signs them, the assistant answering through the real twilio
client (recorded, never on the network), the outbox with the 24-hour window, templates and 63016, media by
signed URL, and status callbacks, on real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from bot.channels.base import Channel
from bot.channels.whatsapp.media import MediaSigner
from bot.channels.whatsapp.runtime import WhatsAppChannel
from bot.storage.businesses import new_link_code
from bot.storage.db import make_engine, unit_of_work
from bot.storage.tables import ChatStateRow, DeliveryRow, InboundRow, PaymentRow
from tests.fakes.twilio_http import RecordedRequest, RecordingTwilioHttp, outside_window, server_error, sign_form
from tests.jobs.outbox_support import Clock, deliveries, queue_unknown_alert, sender
from tests.support import Service, add_business, c2b, count, running_service
from webhooks import services as services_module
from webhooks.services import build_whatsapp
from webhooks.settings import Settings

pytestmark = pytest.mark.anyio
SID = "AC" + "0" * 32
TOKEN = "test-auth-token"  # noqa: S105 - a test credential
SENDER = "whatsapp:+14155238886"
OWNER = "whatsapp:+254712345678"
OTHER = "whatsapp:+254733000111"
ORIGIN = "http://127.0.0.1:8089/twilio"
PUBLIC = "https://hesabu.example"  # what Twilio calls; the app itself is reached as http://hesabu.test
ALERT_TEMPLATE = "HX" + "a" * 32
_sids = itertools.count(1)


@pytest.fixture
def twilio(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingTwilioHttp]:
    recorder = RecordingTwilioHttp()
    monkeypatch.setattr(services_module, "twilio_http_client", lambda: recorder)
    yield recorder


def wa_settings(**more: Any) -> dict[str, Any]:
    return {"twilio_account_sid": SID, "twilio_auth_token": TOKEN, "twilio_whatsapp_from": SENDER,
            "twilio_api_url": ORIGIN, "public_url": PUBLIC + "/", **more}


def form(body: str, sender: str = OWNER, sid: str | None = None, **extra: str) -> dict[str, str]:
    return {"MessageSid": sid or f"SM{next(_sids):032x}", "AccountSid": SID, "From": sender, "To": SENDER,
            "Body": body, "ProfileName": "Amina", "WaId": sender.split("+")[-1], "NumMedia": "0", **extra}


async def post(svc: Service, fields: dict[str, str] | list[tuple[str, str]], path: str = "/whatsapp", *,
               token: str = TOKEN, url: str | None = None) -> int:
    signed = sign_form(token, url or PUBLIC + path, fields)
    response = await svc.client.post(path, content=signed.body, headers=signed.headers)
    await svc.app.state.services.whatsapp.drain()
    return response.status_code


def bodies(twilio: RecordingTwilioHttp, to: str = OWNER) -> list[str]:
    return [r.data.get("Body", "") for r in twilio.requests if r.data.get("To") == to]


async def eventually(check: Callable[[], Any], within: float = 5.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while not (found := check()):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)
    return found


def link(engine: Any, business_id: int, role: str = "owner") -> str:
    with unit_of_work(engine) as session:
        return new_link_code(session, business_id, role, datetime.now(UTC))


async def test_only_a_valid_signature_over_the_public_url_is_processed(db_url, tmp_path,
                                                                       twilio: RecordingTwilioHttp) -> None:
    async with running_service(db_url, tmp_path, **wa_settings()) as svc:
        fields = form("help", sid="SM" + "1" * 32)
        signed = sign_form(TOKEN, PUBLIC + "/whatsapp", fields)

        assert await post(svc, fields, token="wrong-token") == 403
        assert await post(svc, fields, url="http://hesabu.test/whatsapp") == 403  # the Host the app sees
        tampered = signed.body.replace("help", "invoices")
        assert (await svc.client.post("/whatsapp", content=tampered, headers=signed.headers)).status_code == 403
        no_signature = {"Content-Type": "application/x-www-form-urlencoded"}
        assert (await svc.client.post("/whatsapp", content=signed.body, headers=no_signature)).status_code == 403
        assert count(svc.engine, InboundRow) == 0 and twilio.requests == []

        response = await svc.client.post("/whatsapp", content=signed.body, headers=signed.headers)
        await svc.app.state.services.whatsapp.drain()
        assert response.status_code == 200
        assert response.text == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
        assert response.headers["content-type"].startswith("application/xml")
        (reply,) = twilio.requests
        assert reply.url == f"{ORIGIN}/2010-04-01/Accounts/{SID}/Messages.json"
        assert (reply.data["From"], reply.data["To"]) == (SENDER, OWNER)
        assert reply.data["StatusCallback"] == PUBLIC + "/whatsapp/status"
        assert reply.data["Body"].startswith("Hi! This is Hesabu")

        assert await post(svc, fields) == 200  # Twilio retrying the same MessageSid: handled once
        assert len(twilio.requests) == 1
        repeated = [*form("help").items(), ("MediaUrl0", "https://api.twilio.com/m/1"), ("Tag", "b"), ("Tag", "a")]
        assert await post(svc, repeated) == 200  # repeated field names are signed and checked as received
        assert len(twilio.requests) == 2


async def test_without_twilio_credentials_the_routes_are_closed(tmp_path, twilio: RecordingTwilioHttp) -> None:
    from bot.storage.migrate import upgrade

    db_url = f"sqlite:///{tmp_path / 'off.db'}"
    upgrade(db_url)
    async with running_service(db_url, tmp_path, twilio_account_sid=SID, public_url=PUBLIC) as svc:
        assert svc.app.state.services.whatsapp is None
        signed = sign_form(TOKEN, PUBLIC + "/whatsapp", form("help"))
        for path in ("/whatsapp", "/whatsapp/status"):
            assert (await svc.client.post(path, content=signed.body, headers=signed.headers)).status_code == 404


async def test_linking_then_an_alert_answered_by_number_and_its_status_callbacks(
        db_url, tmp_path, twilio: RecordingTwilioHttp) -> None:
    async with running_service(db_url, tmp_path, **wa_settings()) as svc:
        shop = add_business(svc.engine, "600400")
        assert await post(svc, form(f"start {link(svc.engine, shop.id)}")) == 200
        assert bodies(twilio)[0] == "Linked to Duka as owner."
        assert "/" not in bodies(twilio)[1].split("\n")[1]  # help without slashes on WhatsApp

        paid = await svc.client.post(f"/c2b/{shop.token}/confirmation", json=c2b("TXWA000001", "600400", ref="X9"))
        assert paid.status_code == 200
        alert = await eventually(lambda: [b for b in bodies(twilio) if "TXWA000001" in b])
        assert alert[0].endswith("\n\n1. Other invoice\n2. Not an invoice")
        delivery = (await eventually(lambda: [d for d in deliveries(svc.engine) if d.status == "sent"]))[0]
        assert delivery.sent_ref and delivery.sent_ref.startswith("SM")

        assert await post(svc, form("2")) == 200  # the number answers the alert's second choice
        with Session(svc.engine) as session:
            assert session.scalars(select(PaymentRow)).one().status == "ignored"
        assert "Undo" in bodies(twilio)[-1]

        status = {"MessageSid": delivery.sent_ref, "AccountSid": SID, "To": OWNER, "From": SENDER}
        assert await post(svc, {**status, "MessageStatus": "delivered"}, "/whatsapp/status") == 200
        assert await post(svc, {**status, "MessageStatus": "sent"}, "/whatsapp/status") == 200  # late, ignored
        assert await post(svc, {**status, "MessageStatus": "read"}, "/whatsapp/status", token="bad") == 403
        row = deliveries(svc.engine)[0]
        assert (row.provider_status, row.provider_error, row.status) == ("delivered", "", "sent")
        assert await post(svc, {**status, "MessageStatus": "failed", "ErrorCode": "63024"}, "/whatsapp/status") == 200
        row = deliveries(svc.engine)[0]
        assert (row.provider_status, row.provider_error) == ("failed", "63024")


@pytest.mark.parametrize("code", ["63016", "63024"])
async def test_a_failed_status_just_before_shutdown_wakes_the_outbox_and_the_app_still_stops(
        db_url, tmp_path, twilio: RecordingTwilioHttp, code: str) -> None:
    """Every failed status wakes the outbox. A wake a moment before shutdown once lost the outbox sender's
    cancellation (asyncio.wait_for on Python 3.11) and shutdown never ended: bounded here, so it fails instead."""
    async with contextlib.AsyncExitStack() as stack:
        svc = await stack.enter_async_context(running_service(db_url, tmp_path, **wa_settings()))
        woken: list[bool] = []
        wake = svc.app.state.services.whatsapp.on_released
        svc.app.state.services.whatsapp.on_released = lambda: (woken.append(True), wake())
        failed = {"MessageSid": "SM" + "9" * 32, "MessageStatus": "failed", "ErrorCode": code, "To": OWNER}
        assert await post(svc, failed, "/whatsapp/status") == 200
        assert woken == [True]
        await asyncio.wait_for(stack.aclose(), timeout=20)


async def test_quick_invoice_and_businesses_kept_apart(db_url, tmp_path, twilio: RecordingTwilioHttp) -> None:
    async with running_service(db_url, tmp_path, **wa_settings()) as svc:
        duka = add_business(svc.engine, "600400")
        kibanda = add_business(svc.engine, "600500", name="Kibanda")
        await post(svc, form(f"start {link(svc.engine, duka.id)}"))
        await post(svc, form(f"/start {link(svc.engine, kibanda.id, 'staff')}", sender=OTHER))

        assert await post(svc, form("invoice Mary Wanjiku 2.5k")) == 200
        assert "INV-0001" in bodies(twilio)[-1] and "2,500.00" in bodies(twilio)[-1]
        await post(svc, form("invoices", sender=OTHER))
        assert bodies(twilio, OTHER)[-1] == "No open invoices."  # Kibanda's chat never sees Duka's invoice
        await post(svc, form("undo", sender=OTHER))
        assert bodies(twilio, OTHER)[-1].startswith("Only the business owner")
        await post(svc, form("invoices"))
        assert "INV-0001" in bodies(twilio)[-1]


async def test_export_files_go_as_signed_expiring_media_urls(db_url, tmp_path, twilio: RecordingTwilioHttp) -> None:
    async with running_service(db_url, tmp_path, **wa_settings()) as svc:
        shop = add_business(svc.engine, "600400")
        await post(svc, form(f"start {link(svc.engine, shop.id)}"))
        await post(svc, form("export"))
        media = [r.data["MediaUrl"] for r in twilio.requests if "MediaUrl" in r.data]
        assert len(media) == 2
        (csv_url,) = media[0] if isinstance(media[0], list) else [media[0]]
        assert csv_url.startswith(PUBLIC + "/media/")
        path = csv_url.removeprefix(PUBLIC)
        served = await svc.client.get(path)
        assert served.status_code == 200 and served.headers["content-type"].startswith("text/csv")
        assert served.content.startswith(b"trans_id")

        _, _, media_id, expiry, signature = path.split("/")
        assert (await svc.client.get(f"/media/{media_id}/{expiry}/{signature[:-2]}xx")).status_code == 404
        assert (await svc.client.get(f"/media/{media_id}/{int(expiry) + 60}/{signature}")).status_code == 404
        assert (await svc.client.get(f"/media/{media_id}x/{expiry}/{signature}")).status_code == 404
        expired = svc.app.state.services.media_signer.url(media_id, int(datetime.now(UTC).timestamp()) - 1)
        assert (await svc.client.get(expired.removeprefix(PUBLIC))).status_code == 404


# --- the outbox and the 24-hour window (the bridge with the outbox sender, the clock in the test's hands) -------
_engines: list[Any] = []


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    while _engines:
        _engines.pop().dispose()


def outbox_bridge(db_url: str, twilio: RecordingTwilioHttp, templates: dict[str, str]) -> WhatsAppChannel:
    settings = Settings(database_url=db_url, **wa_settings(twilio_templates=templates))
    engine = make_engine(db_url)
    _engines.append(engine)
    bridge = build_whatsapp(settings, engine, MediaSigner(settings.secret_key.get_secret_value(), settings.public_url))
    assert bridge is not None
    assert isinstance(bridge, Channel) and bridge.name == "whatsapp"
    return bridge


def owner_chat(bridge: WhatsAppChannel, last_wrote: timedelta | None) -> int:
    """A business with OWNER linked, who last wrote `last_wrote` ago (None: never)."""
    shop = add_business(bridge.engine, "600400")
    from bot.storage.tables import ChatLinkRow

    with unit_of_work(bridge.engine) as session:
        session.add(ChatLinkRow(channel="whatsapp", chat_id=OWNER, business_id=shop.id))
        at = datetime.now(UTC) - last_wrote if last_wrote is not None else None
        session.add(ChatStateRow(channel="whatsapp", chat_id=OWNER, business_id=shop.id, last_inbound_at=at))
    return shop.id


def sent(twilio: RecordingTwilioHttp) -> list[RecordedRequest]:
    return [r for r in twilio.requests if r.data.get("To") == OWNER]


@pytest.mark.parametrize("template", [True, False], ids=["with-template", "without-template"])
async def test_window_closed_uses_the_template_or_holds_until_the_owner_writes(
        db_url, twilio: RecordingTwilioHttp, template: bool) -> None:
    bridge = outbox_bridge(db_url, twilio, {"payment.alert": ALERT_TEMPLATE} if template else {})
    business_id = owner_chat(bridge, last_wrote=timedelta(hours=25))
    job = sender(bridge.engine, bridge)
    queue_unknown_alert(bridge.engine, business_id, 1)

    report = await job.run_once()

    if template:
        assert report.sent == 1
        (request,) = sent(twilio)
        assert request.data["ContentSid"] == ALERT_TEMPLATE and "Body" not in request.data
        variables = json.loads(request.data["ContentVariables"])
        assert "TXTEST0001" in variables["1"] and "\n" not in variables["1"]
        assert variables["1"].endswith("1. Other invoice · 2. Not an invoice")
        assert variables["3"] == "x:1"  # quick-reply ids for a template that has buttons
        return
    assert sent(twilio) == [] and [d.status for d in deliveries(bridge.engine)] == ["held"]
    assert deliveries(bridge.engine)[0].attempts == 0
    assert (await job.run_once()).sent == 0  # held stays held

    await bridge.receive(_inbound("invoices"))
    await bridge.drain()
    assert bodies(twilio)[0].startswith("1 message waited while this chat was quiet")
    assert (await job.run_once()).sent == 1
    assert "TXTEST0001" in sent(twilio)[-1].data["Body"]  # free-form: the window is open again
    await bridge.receive(_inbound("2"))  # and its number answers it
    await bridge.drain()
    assert not bodies(twilio)[-1].startswith("I did not understand")


def _inbound(text: str) -> Any:
    from bot.channels.whatsapp.inbound import inbound_from_form

    return inbound_from_form(form(text))


@pytest.mark.parametrize("template", [True, False], ids=["with-template", "without-template"])
async def test_63016_switches_to_the_template_or_holds(db_url, twilio: RecordingTwilioHttp, template: bool) -> None:
    bridge = outbox_bridge(db_url, twilio, {"payment.alert": ALERT_TEMPLATE} if template else {})
    business_id = owner_chat(bridge, last_wrote=timedelta(hours=23))  # open by our clock, closed by Twilio's
    job = sender(bridge.engine, bridge)
    queue_unknown_alert(bridge.engine, business_id, 1)
    twilio.queue(outside_window())

    await job.run_once()

    assert "Body" in sent(twilio)[0].data
    if template:
        assert sent(twilio)[1].data["ContentSid"] == ALERT_TEMPLATE
        assert [d.status for d in deliveries(bridge.engine)] == ["sent"]
    else:
        assert len(sent(twilio)) == 1 and [d.status for d in deliveries(bridge.engine)] == ["held"]


async def test_63016_reported_by_status_callback_sends_again_as_template(db_url, tmp_path,
                                                                       twilio: RecordingTwilioHttp) -> None:
    async with running_service(db_url, tmp_path, **wa_settings(twilio_templates={"payment.alert": ALERT_TEMPLATE})
                               ) as svc:
        shop = add_business(svc.engine, "600400")
        await post(svc, form(f"start {link(svc.engine, shop.id)}"))
        queue_unknown_alert(svc.engine, shop.id, 1)
        svc.app.state.services.outbox.wake()
        delivery = (await eventually(lambda: [d for d in deliveries(svc.engine) if d.status == "sent"]))[0]
        assert "Body" in sent(twilio)[-1].data

        failed = {"MessageSid": delivery.sent_ref, "MessageStatus": "failed", "ErrorCode": "63016", "To": OWNER}
        assert await post(svc, failed, "/whatsapp/status") == 200
        await eventually(lambda: "ContentSid" in sent(twilio)[-1].data)
        row = await eventually(lambda: [d for d in deliveries(svc.engine) if d.status == "sent" and d.sent_ref
                                        and d.sent_ref != delivery.sent_ref])
        assert row[0].provider_error == "63016"


async def test_a_twilio_5xx_is_retried_with_back_off(db_url, twilio: RecordingTwilioHttp) -> None:
    bridge = outbox_bridge(db_url, twilio, {})
    business_id = owner_chat(bridge, last_wrote=timedelta(minutes=5))
    queue_unknown_alert(bridge.engine, business_id, 1)
    clock = Clock()
    job = sender(bridge.engine, bridge, clock=clock)
    twilio.queue(server_error())

    assert (await job.run_once()).retried == 1
    (delivery,) = deliveries(bridge.engine)
    assert (delivery.status, delivery.attempts) == ("pending", 1) and "500" in delivery.last_error
    assert (await job.run_once()).sent == 0  # not before the back-off
    clock.advance(15)
    assert (await job.run_once()).sent == 1
    assert len(sent(twilio)) == 2 and deliveries(bridge.engine)[0].status == "sent"


def test_release_only_touches_the_chat_that_wrote(db_url) -> None:
    from bot.storage.outbox import release_held

    engine = make_engine(db_url)
    _engines.append(engine)
    shop = add_business(engine, "600400")
    queue_unknown_alert(engine, shop.id, 1)
    with unit_of_work(engine) as session:
        from bot.storage.tables import OutboxRow

        outbox_id = session.scalars(select(OutboxRow.id)).one()  # type: ignore[call-overload]
        for chat in (OWNER, OTHER):
            session.add(DeliveryRow(outbox_id=outbox_id, business_id=shop.id, channel="whatsapp", chat_id=chat,
                                    status="held"))
    with unit_of_work(engine) as session:
        assert release_held(session, OWNER, datetime.now(UTC)) == 1
        session.execute(update(DeliveryRow).values(last_error="x"))
    assert sorted(d.status for d in deliveries(engine)) == ["held", "pending"]
