"""Replies out through python-telegram-bot (the channel itself is bot.channels.telegram.runtime).

Text is sent as HTML with everything escaped (the assistant writes plain text), choices become an
inline keyboard, `edit_ref` edits the earlier message in place, pictures and documents are
uploaded. PTB's exceptions are mapped to `RetryLater` / `Undeliverable` for the outbox.
"""

from __future__ import annotations

import datetime as dt
import html
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.constants import MessageLimit, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application, ApplicationBuilder, BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot.assistant.messages import MAX_CHOICE_DATA_BYTES, Choice, Reply
from bot.channels.base import RetryLater, SentRef, Undeliverable, split_text

DEFAULT_API_URL = "https://api.telegram.org/bot"
# the outbox backs off further on repeats; this is the floor for failures that carry no hint
NETWORK_RETRY_SECONDS = 10.0
BAD_TOKEN_RETRY_SECONDS = 600.0

_T = TypeVar("_T")


class TelegramSender:
    """Sends a `Reply` over a PTB `Bot` (use `application.bot`; it must be initialised, e.g. `async with bot:`)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: str, reply: Reply) -> SentRef:
        chat: int | str = int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id
        markup = keyboard(reply.choices)
        if reply.picture is not None or reply.document is not None:
            return await _mapped(lambda: self._send_file(chat, reply, markup))
        if reply.edit_ref is not None:
            return await _mapped(lambda: self._edit(chat, reply.edit_ref or "", reply.text, markup))
        return await _mapped(lambda: self._send_text(chat, reply.text, markup))

    async def acknowledge(self, update: Update) -> None:
        """Stop the button's spinner: every callback query must be answered, even when nothing changes."""
        if update.callback_query is not None:
            await _mapped(update.callback_query.answer)

    async def _send_text(self, chat: int | str, text: str, markup: InlineKeyboardMarkup | None) -> SentRef:
        chunks = split_text(html.escape(text or " ", quote=False), MessageLimit.MAX_TEXT_LENGTH)
        message: Message | None = None
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            message = await self.bot.send_message(
                chat, chunk, parse_mode=ParseMode.HTML, reply_markup=markup if last else None
            )
        assert message is not None
        return str(message.message_id)

    async def _edit(self, chat: int | str, ref: str, text: str, markup: InlineKeyboardMarkup | None) -> SentRef:
        escaped = html.escape(text or " ", quote=False)
        if len(escaped) > MessageLimit.MAX_TEXT_LENGTH:
            return await self._send_text(chat, text, markup)
        try:
            await self.bot.edit_message_text(
                escaped, chat_id=chat, message_id=int(ref), parse_mode=ParseMode.HTML, reply_markup=markup
            )
        except BadRequest as exc:
            reason = exc.message.lower()
            if "message is not modified" in reason:
                return ref  # a double tap: the message already says this
            if "message to edit not found" in reason or "can't be edited" in reason:
                return await self._send_text(chat, text, markup)
            raise
        return ref

    async def _send_file(self, chat: int | str, reply: Reply, markup: InlineKeyboardMarkup | None) -> SentRef:
        caption = html.escape(reply.text, quote=False) if reply.text else None
        separate_text = caption is not None and len(caption) > MessageLimit.CAPTION_LENGTH
        if separate_text:
            await self._send_text(chat, reply.text, None)
            caption = None
        if reply.picture is not None:
            message = await self.bot.send_photo(
                chat,
                InputFile(reply.picture, filename="chart.png"),
                caption=caption,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
            if reply.document is None:
                return str(message.message_id)
            caption, markup = None, None
        assert reply.document is not None
        message = await self.bot.send_document(
            chat,
            InputFile(reply.document.content, filename=reply.document.filename),
            caption=caption,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
        )
        return str(message.message_id)


def keyboard(choices: tuple[Choice, ...]) -> InlineKeyboardMarkup | None:
    """One button a row: labels are sentences ("Match to INV-42"), not digits."""
    if not choices:
        return None
    for choice in choices:
        assert len(choice.data.encode()) <= MAX_CHOICE_DATA_BYTES, choice.data
    return InlineKeyboardMarkup([[InlineKeyboardButton(c.label, callback_data=c.data)] for c in choices])


async def _mapped(call: Callable[[], Awaitable[_T]]) -> _T:
    """Run a PTB call, turning its exceptions into what the outbox acts on."""
    try:
        return await call()
    except RetryAfter as exc:
        raise RetryLater(retry_after_seconds(exc), "telegram flood control") from exc
    except ChatMigrated as exc:
        raise Undeliverable(f"telegram chat migrated to {exc.new_chat_id}") from exc
    except (Forbidden, BadRequest) as exc:
        raise Undeliverable(f"telegram: {exc.message}") from exc
    except InvalidToken as exc:
        raise RetryLater(BAD_TOKEN_RETRY_SECONDS, "telegram rejected the bot token") from exc
    except NetworkError as exc:  # TimedOut is a NetworkError; so are 5xx answers
        raise RetryLater(NETWORK_RETRY_SECONDS, f"telegram: {exc.message}") from exc
    except TelegramError as exc:
        raise RetryLater(NETWORK_RETRY_SECONDS, f"telegram: {exc.message}") from exc


def retry_after_seconds(exc: RetryAfter) -> float:
    """Seconds from a RetryAfter, whether PTB gives an int or (PTB_TIMEDELTA=1, PTB 23) a timedelta."""
    with warnings.catch_warnings():
        # reading it as an int is deprecated since PTB 22.2; we accept both forms, so the notice is noise
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def build_telegram_application(token: str, base_url: str = DEFAULT_API_URL, *, webhook: bool = True,
                               rate_limiter: BaseRateLimiter[Any] | None = None) -> Application:
    """A PTB Application for our ASGI app: no Updater when Telegram posts to our webhook, no PTB JobQueue
    (one scheduler runs every job). `base_url` is HESABU_TELEGRAM_API_URL; PTB appends the token.
    `rate_limiter`: the flood limits shared by every process (bot.channels.telegram.ratelimit).
    """
    builder: ApplicationBuilder = (
        Application.builder()
        .token(token)
        .base_url(base_url)
        .base_file_url(_file_url(base_url))
        .job_queue(None)
    )
    if webhook:
        builder = builder.updater(None)
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    return builder.build()


def _file_url(base_url: str) -> str:
    """`https://host/bot` -> `https://host/file/bot`, as the Bot API lays out file downloads."""
    root, sep, last = base_url.rstrip("/").rpartition("/")
    return f"{root}/file/{last}" if sep else base_url
