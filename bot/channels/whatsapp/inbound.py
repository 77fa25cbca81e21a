"""Twilio's inbound WhatsApp form in as `InboundMessage` (validate the signature first), and numbered answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from bot.assistant.messages import Attachment, Choice, InboundMessage


class FormLike(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...



def choice_for_number(text: str, choices: tuple[Choice, ...]) -> Choice | None:
    """`2` (or ` 2. `) answers the second choice offered; anything else is not a choice."""
    number = text.strip().rstrip(".")
    if number.isdigit() and 1 <= int(number) <= len(choices):
        return choices[int(number) - 1]
    return None


def inbound_from_form(form: FormLike | Mapping[str, Any]) -> InboundMessage | None:
    """The InboundMessage in a Twilio WhatsApp webhook form (validate the signature first)."""
    sender = str(form.get("From") or "")
    if not sender:
        return None
    attachment = None
    if int(form.get("NumMedia") or 0) > 0 and form.get("MediaUrl0"):
        mime = str(form.get("MediaContentType0") or "")
        kind = "photo" if mime.startswith("image/") else "document"
        attachment = Attachment(kind=kind, ref=str(form.get("MediaUrl0")), mime=mime or None)
    return InboundMessage(
        channel="whatsapp",
        chat_id=sender,
        sender_name=str(form.get("ProfileName") or ""),
        text=str(form.get("Body") or ""),
        # a quick-reply template button carries its id in ButtonPayload
        choice=str(form.get("ButtonPayload")) if form.get("ButtonPayload") else None,
        message_ref=str(form.get("OriginalRepliedMessageSid")) if form.get("OriginalRepliedMessageSid") else None,
        attachment=attachment,
        external_id=str(form.get("MessageSid")) if form.get("MessageSid") else None,
        buttons=False,  # free-form WhatsApp messages have no buttons: choices go as numbered lines
        slash_optional=True,  # WhatsApp people type commands without "/"
    )
