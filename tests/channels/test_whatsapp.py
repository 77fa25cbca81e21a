"""The twilio library against the recording HTTP client, the WhatsApp channel, and webhook signing."""

from __future__ import annotations

import json

import pytest
from twilio.base.exceptions import TwilioRestException

from bot.assistant.messages import Choice, Document, InboundMessage, Reply
from bot.channels.base import Channel, RetryLater, Undeliverable
from bot.channels.whatsapp.inbound import choice_for_number, inbound_from_form
from bot.channels.whatsapp.sender import WhatsAppSender, build_twilio_client
from tests.fakes.twilio_http import (
    RecordingAsyncTwilioHttp,
    RecordingTwilioHttp,
    outside_window,
    server_error,
    sign_form,
    too_many_requests,
    validate_form,
)

SID = "AC" + "0" * 32
TOKEN = "test-auth-token"  # noqa: S105 - a test credential
SENDER = "whatsapp:+14155238886"
OWNER = "whatsapp:+254712345678"
ORIGIN = "http://127.0.0.1:8089/twilio"
PUBLIC = "https://hesabu.example/whatsapp"


def test_messages_go_to_the_overridden_origin_with_twilios_form_fields(twilio_http: RecordingTwilioHttp) -> None:
    client = build_twilio_client(SID, TOKEN, ORIGIN + "/", http_client=twilio_http)

    message = client.messages.create(
        from_=SENDER,
        to=OWNER,
        body="Habari Amina",
        media_url=["https://hesabu.example/media/a.png", "https://hesabu.example/media/b.pdf"],
    )

    (request,) = twilio_http.requests
    assert request.method == "POST"
    assert request.url == f"{ORIGIN}/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.auth == (SID, TOKEN)
    assert sorted(request.form) == [
        ("Body", "Habari Amina"),
        ("From", SENDER),
        ("MediaUrl", "https://hesabu.example/media/a.png"),
        ("MediaUrl", "https://hesabu.example/media/b.pdf"),
        ("To", OWNER),
    ]
    assert message.sid.startswith("SM")
    assert message.to == OWNER


def test_the_default_origin_is_twilio(twilio_http: RecordingTwilioHttp) -> None:
    build_twilio_client(SID, TOKEN, http_client=twilio_http).messages.create(from_=SENDER, to=OWNER, body="x")

    assert twilio_http.requests[0].url == f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"


def test_template_fields_and_error_63016(twilio_http: RecordingTwilioHttp) -> None:
    client = build_twilio_client(SID, TOKEN, ORIGIN, http_client=twilio_http)
    twilio_http.queue(outside_window())

    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(from_=SENDER, to=OWNER, body="free form")
    client.messages.create(
        from_=SENDER, to=OWNER, content_sid="HX" + "1" * 32, content_variables=json.dumps({"1": "Amina"})
    )

    assert caught.value.code == 63016
    assert caught.value.status == 400
    template = twilio_http.requests[-1].data
    assert template["ContentSid"] == "HX" + "1" * 32
    assert json.loads(template["ContentVariables"]) == {"1": "Amina"}
    assert "Body" not in template


@pytest.mark.anyio
async def test_async_client_records_too(twilio_async_http: RecordingAsyncTwilioHttp) -> None:
    client = build_twilio_client(SID, TOKEN, ORIGIN, http_client=twilio_async_http)

    message = await client.messages.create_async(from_=SENDER, to=OWNER, body="async")

    assert message.sid.startswith("SM")
    assert twilio_async_http.requests[0].data["Body"] == "async"


@pytest.mark.anyio
@pytest.mark.parametrize("http", ["sync", "async"])
async def test_channel_numbers_choices_and_returns_the_sid(http: str) -> None:
    recorder = RecordingTwilioHttp() if http == "sync" else RecordingAsyncTwilioHttp()
    channel = WhatsAppSender(build_twilio_client(SID, TOKEN, ORIGIN, http_client=recorder), SENDER)

    ref = await channel.send(
        OWNER, Reply("Which day?", choices=(Choice("Today", "summary:today"), Choice("Week", "summary:week")))
    )

    assert not isinstance(channel, Channel)  # one Channel per provider: the runtime (tests/webhooks/test_whatsapp.py)
    assert ref.startswith("SM")
    data = recorder.requests[0].data
    assert (data["From"], data["To"]) == (SENDER, OWNER)
    assert data["Body"] == "Which day?\n\n1. Today\n2. Week"


@pytest.mark.anyio
async def test_channel_publishes_files_and_sends_their_urls(twilio_http: RecordingTwilioHttp) -> None:
    published: list[tuple[str, bytes, str]] = []

    async def publish(filename: str, content: bytes, mime: str) -> str:
        published.append((filename, content, mime))
        return f"https://hesabu.example/media/{filename}"

    channel = WhatsAppSender(build_twilio_client(SID, TOKEN, ORIGIN, http_client=twilio_http), SENDER, publish=publish)
    await channel.send(OWNER, Reply("Invoice", document=Document("invoice-42.pdf", b"%PDF", "application/pdf")))

    assert published == [("invoice-42.pdf", b"%PDF", "application/pdf")]
    assert twilio_http.requests[0].data["MediaUrl"] == ["https://hesabu.example/media/invoice-42.pdf"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("response", "expected"),
    [(too_many_requests(), RetryLater), (server_error(), RetryLater), (outside_window(), Undeliverable)],
)
async def test_channel_maps_twilio_errors(
    twilio_http: RecordingTwilioHttp, response: object, expected: type[Exception]
) -> None:
    channel = WhatsAppSender(build_twilio_client(SID, TOKEN, ORIGIN, http_client=twilio_http), SENDER)
    twilio_http.queue(response)  # type: ignore[arg-type]

    with pytest.raises(expected):
        await channel.send(OWNER, Reply("hello"))


def test_signed_form_validates_and_tampering_does_not() -> None:
    fields = [
        ("MessageSid", "SM" + "a" * 32),
        ("From", OWNER),
        ("Body", "start AB12CD"),
        ("MediaUrl0", "https://api.twilio.com/m/1"),
        ("Tag", "b"),
        ("Tag", "a"),  # a repeated name: both values are signed
    ]
    signed = sign_form(TOKEN, PUBLIC, fields)

    assert signed.body.count("Tag=") == 2
    assert validate_form(TOKEN, PUBLIC, signed.body, signed.signature)
    assert not validate_form(TOKEN, PUBLIC, signed.body.replace("AB12CD", "ZZ99ZZ"), signed.signature)
    assert not validate_form(TOKEN, PUBLIC, signed.body.replace("&Tag=a", ""), signed.signature)
    assert not validate_form("other-token", PUBLIC, signed.body, signed.signature)
    assert not validate_form(TOKEN, "http://internal:8000/whatsapp", signed.body, signed.signature)
    assert signed.headers["X-Twilio-Signature"] == signed.signature


def test_inbound_form_becomes_an_inbound_message() -> None:
    form = {
        "MessageSid": "SM" + "b" * 32,
        "From": OWNER,
        "ProfileName": "Amina",
        "Body": "Confirm",
        "ButtonPayload": "match:QK12AB:INV-42",
        "OriginalRepliedMessageSid": "SM" + "c" * 32,
        "NumMedia": "1",
        "MediaUrl0": "https://api.twilio.com/media/1",
        "MediaContentType0": "image/jpeg",
    }

    message = inbound_from_form(form)

    assert message is not None
    assert message.attachment is not None and message.attachment.kind == "photo"
    assert message == InboundMessage(
        channel="whatsapp",
        chat_id=OWNER,
        sender_name="Amina",
        text="Confirm",
        choice="match:QK12AB:INV-42",
        message_ref="SM" + "c" * 32,
        attachment=message.attachment,
        external_id="SM" + "b" * 32,
        buttons=False,  # choices go as numbered lines
        slash_optional=True,
    )
    assert inbound_from_form({"Body": "no sender"}) is None


def test_numbers_answer_the_choices_offered() -> None:
    offered = (Choice("Today", "summary:today"), Choice("Week", "summary:week"))

    assert choice_for_number(" 2. ", offered) == offered[1]
    assert choice_for_number("3", offered) is None
    assert choice_for_number("today", offered) is None
