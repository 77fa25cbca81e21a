"""Telegram updates in as `InboundMessage`: text, captions, attachments and tapped buttons."""

from __future__ import annotations

from telegram import CallbackQuery, Message, MessageEntity, Update

from bot.assistant.messages import Attachment, InboundMessage


def inbound_from_update(update: Update) -> InboundMessage | None:
    """The InboundMessage in a Telegram update, or None for updates the assistant does not handle."""
    external_id = str(update.update_id)
    if update.callback_query is not None:
        return _from_callback(update.callback_query, external_id)
    message = update.message
    if message is None:
        return None
    text = message.text or message.caption or ""
    attachment = _attachment(message)
    if not text and attachment is None:
        return None
    return InboundMessage(
        channel="telegram",
        chat_id=str(message.chat.id),
        sender_name=_sender_name(message),
        text=_strip_bot_mention(message, text),
        attachment=attachment,
        external_id=external_id,
    )


def _from_callback(query: CallbackQuery, external_id: str) -> InboundMessage | None:
    if query.data is None or query.message is None:
        return None  # inline-mode or game queries: not ours
    return InboundMessage(
        channel="telegram",
        chat_id=str(query.message.chat.id),
        sender_name=query.from_user.full_name,
        text="",
        choice=query.data,
        message_ref=str(query.message.message_id),
        external_id=external_id,
    )


def _sender_name(message: Message) -> str:
    if message.from_user is not None:
        return message.from_user.full_name
    return message.chat.effective_name or ""


def _strip_bot_mention(message: Message, text: str) -> str:
    """`/help@hesabu_bot args` (how commands look in groups) -> `/help args`."""
    for entity in message.entities:
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            command = text[: entity.length]
            return command.split("@", 1)[0] + text[entity.length :]
    return text


def _attachment(message: Message) -> Attachment | None:
    if message.photo:
        return Attachment(kind="photo", ref=message.photo[-1].file_id, mime="image/jpeg")
    if message.document is not None:
        doc = message.document
        return Attachment(kind="document", ref=doc.file_id, mime=doc.mime_type, filename=doc.file_name)
    return None
