"""The Telegram channel with the real PTB Bot, over real HTTP, against the fake Bot API."""

from __future__ import annotations

import pytest
from telegram import Bot, Update
from telegram.warnings import PTBUserWarning

from bot.assistant.messages import Choice, Document, InboundMessage, Reply
from bot.channels.base import Channel, RetryLater, Undeliverable, split_text
from bot.channels.telegram.inbound import inbound_from_update
from bot.channels.telegram.sender import TelegramSender, build_telegram_application
from tests.fakes.telegram_api import FakeTelegramApi

pytestmark = pytest.mark.anyio

CHAT = 777
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\r\n--not-a-boundary\r\n"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\r\n1 0 obj\n<<>>\nendobj\n"


@pytest.fixture
def channel(telegram_bot: Bot) -> TelegramSender:
    return TelegramSender(telegram_bot)


async def test_get_me_goes_to_the_fake(telegram_bot: Bot, fake_telegram_api: FakeTelegramApi) -> None:
    me = await telegram_bot.get_me()

    assert me.username == "hesabu_test_bot"
    assert me.is_bot
    assert fake_telegram_api.calls_to("getMe")


async def test_text_is_escaped_html_and_choices_are_an_inline_keyboard(
    channel: TelegramSender, fake_telegram_api: FakeTelegramApi
) -> None:
    reply = Reply(
        "Sales <today> & co: KES 1,500.00",
        choices=(Choice("Today", "summary:today"), Choice("Match to INV-42", "match:QK12AB:INV-42")),
    )

    ref = await channel.send(str(CHAT), reply)

    call = fake_telegram_api.last("sendMessage")
    assert call.params["chat_id"] == str(CHAT)
    assert call.params["parse_mode"] == "HTML"
    assert call.params["text"] == "Sales &lt;today&gt; &amp; co: KES 1,500.00"
    assert call.json("reply_markup") == {
        "inline_keyboard": [
            [{"text": "Today", "callback_data": "summary:today"}],
            [{"text": "Match to INV-42", "callback_data": "match:QK12AB:INV-42"}],
        ]
    }
    assert ref.isdigit()
    assert not isinstance(channel, Channel)  # one Channel per provider: the runtime (tests/webhooks/test_telegram.py)


async def test_edit_ref_edits_the_earlier_message(
    channel: TelegramSender, fake_telegram_api: FakeTelegramApi
) -> None:
    ref = await channel.send(str(CHAT), Reply("Match QK12AB?", choices=(Choice("Yes", "match:yes"),)))

    edited = await channel.send(str(CHAT), Reply("Matched QK12AB to INV-42", edit_ref=ref))
    again = await channel.send(str(CHAT), Reply("Matched QK12AB to INV-42", edit_ref=ref))

    assert edited == again == ref
    edit = fake_telegram_api.calls_to("editMessageText")[0]
    assert edit.params["message_id"] == ref
    assert edit.params["chat_id"] == str(CHAT)
    assert edit.params["text"] == "Matched QK12AB to INV-42"
    assert "reply_markup" not in edit.params  # the buttons go away once answered
    assert len(fake_telegram_api.calls_to("sendMessage")) == 1


async def test_editing_a_vanished_message_sends_a_new_one(
    channel: TelegramSender, fake_telegram_api: FakeTelegramApi
) -> None:
    ref = await channel.send(str(CHAT), Reply("Done", edit_ref="999999"))

    assert ref != "999999"
    assert fake_telegram_api.last("sendMessage").params["text"] == "Done"


async def test_picture_is_uploaded_as_a_photo_with_caption(
    channel: TelegramSender, fake_telegram_api: FakeTelegramApi
) -> None:
    await channel.send(str(CHAT), Reply("Today's sales", picture=PNG, choices=(Choice("Week", "summary:week"),)))

    call = fake_telegram_api.last("sendPhoto")
    assert call.content_type.startswith("multipart/form-data")
    assert call.files["photo"].content == PNG
    assert call.files["photo"].filename == "chart.png"
    assert call.params["caption"] == "Today's sales"
    assert call.json("reply_markup")["inline_keyboard"][0][0]["callback_data"] == "summary:week"


async def test_document_is_uploaded_with_its_filename(
    channel: TelegramSender, fake_telegram_api: FakeTelegramApi
) -> None:
    ref = await channel.send(
        str(CHAT), Reply("Invoice INV-42", document=Document("invoice-42.pdf", PDF, "application/pdf"))
    )

    call = fake_telegram_api.last("sendDocument")
    assert call.files["document"].filename == "invoice-42.pdf"
    assert call.files["document"].content == PDF
    assert ref.isdigit()


async def test_long_text_is_split_and_buttons_ride_on_the_last_piece(
    channel: TelegramSender, fake_telegram_api: FakeTelegramApi
) -> None:
    text = "\n".join(f"{i:04d} QK12AB{i:04d} KES 1,000.00 & more" for i in range(300))

    await channel.send(str(CHAT), Reply(text, choices=(Choice("More", "unmatched:2"),)))

    sends = fake_telegram_api.calls_to("sendMessage")
    assert len(sends) > 1
    assert all(len(s.params["text"]) <= 4096 for s in sends)
    assert "".join(s.params["text"] for s in sends) == text.replace("&", "&amp;")
    assert [("reply_markup" in s.params) for s in sends] == [False] * (len(sends) - 1) + [True]


async def test_flood_control_becomes_retry_later_with_telegrams_seconds(
    channel: TelegramSender, fake_telegram_api: FakeTelegramApi
) -> None:
    fake_telegram_api.rate_limit_next("sendMessage", retry_after=7)

    with pytest.raises(RetryLater) as caught:
        await channel.send(str(CHAT), Reply("hello"))

    assert caught.value.after_seconds == 7
    assert fake_telegram_api.last("sendMessage").status == 429


async def test_blocked_bot_is_undeliverable(channel: TelegramSender, fake_telegram_api: FakeTelegramApi) -> None:
    fake_telegram_api.block_next("sendMessage")

    with pytest.raises(Undeliverable, match="(?i)blocked by the user"):
        await channel.send(str(CHAT), Reply("hello"))


async def test_chat_not_found_is_undeliverable(channel: TelegramSender, fake_telegram_api: FakeTelegramApi) -> None:
    fake_telegram_api.fail_next("sendPhoto", status=400, description="Bad Request: chat not found")

    with pytest.raises(Undeliverable, match="(?i)chat not found"):
        await channel.send(str(CHAT), Reply("chart", picture=PNG))


@pytest.mark.parametrize("failure", ["500", "dropped connection"])
async def test_server_and_network_failures_are_retry_later(
    channel: TelegramSender, fake_telegram_api: FakeTelegramApi, failure: str
) -> None:
    if failure == "500":
        fake_telegram_api.fail_next("sendMessage", status=500)
    else:
        fake_telegram_api.drop_next("sendMessage")

    with pytest.raises(RetryLater) as caught:
        await channel.send(str(CHAT), Reply("hello"))

    assert caught.value.after_seconds > 0
    assert await channel.send(str(CHAT), Reply("hello")), "the next attempt goes through"


async def test_text_and_start_payload_arrive_through_get_updates(
    telegram_bot: Bot, fake_telegram_api: FakeTelegramApi
) -> None:
    queued = fake_telegram_api.queue_text(CHAT, "/start AB12CD", first_name="Amina")

    updates = await telegram_bot.get_updates(timeout=1)

    assert [u.update_id for u in updates] == [queued["update_id"]]
    assert inbound_from_update(updates[0]) == InboundMessage(
        channel="telegram",
        chat_id=str(CHAT),
        sender_name="Amina",
        text="/start AB12CD",
        external_id=str(queued["update_id"]),
    )
    confirmed = await telegram_bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert confirmed == ()


async def test_command_addressed_to_the_bot_loses_the_mention(
    telegram_bot: Bot, fake_telegram_api: FakeTelegramApi
) -> None:
    fake_telegram_api.queue_text(CHAT, "/summary@hesabu_test_bot week")

    (update,) = await telegram_bot.get_updates(timeout=1)

    inbound = inbound_from_update(update)
    assert inbound is not None
    assert inbound.text == "/summary week"


async def test_button_tap_arrives_with_its_data_and_message_and_is_answered(
    telegram_bot: Bot, channel: TelegramSender, fake_telegram_api: FakeTelegramApi
) -> None:
    ref = await channel.send(str(CHAT), Reply("Which day?", choices=(Choice("Today", "summary:today"),)))
    queued = fake_telegram_api.queue_callback(CHAT, "summary:today")

    (update,) = await telegram_bot.get_updates(timeout=1)
    await channel.acknowledge(update)

    assert inbound_from_update(update) == InboundMessage(
        channel="telegram",
        chat_id=str(CHAT),
        sender_name="Amina",
        text="",
        choice="summary:today",
        message_ref=ref,
        external_id=str(queued["update_id"]),
    )
    answer = fake_telegram_api.last("answerCallbackQuery")
    assert answer.params["callback_query_id"] == queued["callback_query"]["id"]


async def test_updates_the_assistant_does_not_handle_are_none(
    telegram_bot: Bot, fake_telegram_api: FakeTelegramApi
) -> None:
    update = Update.de_json(
        {"update_id": 1, "my_chat_member": None, "edited_message": fake_telegram_api.text_update(CHAT, "x")["message"]},
        telegram_bot,
    )

    assert inbound_from_update(update) is None


async def test_application_factory_honours_the_base_url(fake_telegram_api: FakeTelegramApi) -> None:
    app = build_telegram_application(fake_telegram_api.token, fake_telegram_api.base_url)

    async with app:  # initialize() calls getMe: it must reach the fake, not api.telegram.org
        assert app.updater is None
        with pytest.warns(PTBUserWarning, match="No `JobQueue`"):
            assert app.job_queue is None  # one APScheduler runs every job, not PTB's
        assert app.bot.username == "hesabu_test_bot"
        assert app.bot.base_url == f"{fake_telegram_api.base_url}{fake_telegram_api.token}"
        assert app.bot.base_file_url == f"{fake_telegram_api.base_file_url}{fake_telegram_api.token}"
        await app.bot.set_webhook("https://hesabu.example/telegram", secret_token="s3cret")  # noqa: S106
    assert fake_telegram_api.webhook_url == "https://hesabu.example/telegram"
    assert fake_telegram_api.last("setWebhook").params["secret_token"] == "s3cret"


def test_split_text_keeps_lines_and_entities_whole() -> None:
    assert split_text("a\nb\nc", 4) == ["a\nb\n", "c"]
    assert split_text("", 10) == [""]
    assert split_text("xxxx&amp;yy", 6) == ["xxxx", "&amp;y", "y"]
    assert "".join(split_text("z" * 10_000, 4096)) == "z" * 10_000


def test_choice_data_over_64_bytes_is_refused_where_it_is_made() -> None:
    with pytest.raises(ValueError, match="1-64 bytes"):
        Choice("Long", "x" * 65)
    Choice("Sixty-four", "é" * 32)
