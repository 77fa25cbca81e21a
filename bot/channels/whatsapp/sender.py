"""Replies out to WhatsApp with the twilio REST client (the channel itself is bot.channels.whatsapp.runtime).

WhatsApp has no inline buttons in free-form messages, so choices are numbered lines; the person
answers with the number and the assistant (which remembers the choices it offered) resolves it.
Messages cannot be edited: an `edit_ref` reply is sent as a new message. Pictures and documents
need a public URL that Twilio fetches, so they go out only when a `publish` callable is given
(bot.channels.whatsapp.media).

Outside WhatsApp's 24-hour window a business may only send an approved template: `send_template` sends
one by its content sid with content variables (`template_variables`). Twilio's 63016 ("outside the
window") comes out as `OutsideWindow`, an `Undeliverable` the caller may answer with a template.

The REST origin is HESABU_TWILIO_API_URL: the twilio library has no base-URL option, but every
API call is built from the `Api` domain's `base_url`, so `build_twilio_client` overrides that.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio.to_thread
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot.assistant.messages import Reply
from bot.channels.base import RetryLater, SentRef, Undeliverable, split_text

DEFAULT_API_URL = "https://api.twilio.com"
MAX_BODY = 1600  # Twilio's limit for one WhatsApp message body
OUTSIDE_WINDOW = 63016
NETWORK_RETRY_SECONDS = 10.0
RATE_LIMIT_RETRY_SECONDS = 5.0

# (filename, content, mime) -> a public https URL Twilio can fetch
Publish = Callable[[str, bytes, str], Awaitable[str]]


class OutsideWindow(Undeliverable):
    """Twilio refused a free-form message: the chat has not written for 24 hours (error 63016)."""


PROVIDER_TIMEOUT = 15.0  # seconds for one Twilio request (connect and read)


def build_twilio_client(
    account_sid: str, auth_token: str, api_url: str = DEFAULT_API_URL, *, http_client: HttpClient | None = None
) -> Client:
    """A twilio Client whose Messages requests go to `{api_url}/2010-04-01/Accounts/{sid}/Messages.json`.
    The library's default HTTP client waits forever for an answer: ours gives up after PROVIDER_TIMEOUT."""
    # environment={}: TWILIO_EDGE/TWILIO_REGION would rewrite the host and break a custom origin
    http_client = http_client or TwilioHttpClient(timeout=PROVIDER_TIMEOUT)
    client = Client(account_sid, auth_token, http_client=http_client, environment={})
    client.api.base_url = api_url.rstrip("/")
    return client


class WhatsAppSender:
    """Sends a `Reply` over Twilio's Messages API; `sender` is HESABU_TWILIO_WHATSAPP_FROM (`whatsapp:+…`)."""

    def __init__(self, client: Client, sender: str, *, publish: Publish | None = None,
                 status_callback: str | None = None) -> None:
        self.client = client
        self.sender = sender
        self.publish = publish
        self.status_callback = status_callback  # Twilio posts queued/sent/delivered/read/failed here

    async def send(self, chat_id: str, reply: Reply) -> SentRef:
        media = await self._media_urls(reply)
        pieces = split_text(render_text(reply), MAX_BODY)
        sid = ""
        for i, body in enumerate(pieces):
            last = i == len(pieces) - 1
            sid = await self._create(to=chat_id, body=body, media_url=media if last and media else None)
        return sid

    async def send_template(self, chat_id: str, content_sid: str, variables: Mapping[str, str]) -> SentRef:
        """An approved template (allowed outside the window): Twilio renders it from ContentSid + variables."""
        return await self._create(to=chat_id, content_sid=content_sid,
                                  content_variables=json.dumps(dict(variables), ensure_ascii=False))

    async def _media_urls(self, reply: Reply) -> list[str]:
        if self.publish is None:
            return []
        urls = []
        if reply.picture is not None:
            urls.append(await self.publish("chart.png", reply.picture, "image/png"))
        if reply.document is not None:
            doc = reply.document
            urls.append(await self.publish(doc.filename, doc.content, doc.mime))
        return urls

    async def _create(self, **fields: Any) -> str:
        fields = {"from_": self.sender, **fields}
        if self.status_callback:
            fields["status_callback"] = self.status_callback
        try:
            if self.client.http_client.is_async:
                message = await self.client.messages.create_async(**fields)
            else:  # the default client is requests-based: keep it off the event loop
                message = await anyio.to_thread.run_sync(lambda: self.client.messages.create(**fields))
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _mapped(exc) from exc
        except TwilioException as exc:
            raise RetryLater(NETWORK_RETRY_SECONDS, f"twilio: {exc}") from exc
        except OSError as exc:  # connection errors from requests/aiohttp are OSErrors
            raise RetryLater(NETWORK_RETRY_SECONDS, f"twilio network: {exc}") from exc
        return str(message.sid)


def _mapped(exc: TwilioRestException | TwilioServiceException) -> RetryLater | Undeliverable:
    code = exc.code
    status = exc.status
    if code == OUTSIDE_WINDOW:
        return OutsideWindow("whatsapp: outside the 24-hour window, a template is needed (63016)")
    if status == 429:
        return RetryLater(RATE_LIMIT_RETRY_SECONDS, f"twilio rate limit ({code})")
    if status >= 500:
        return RetryLater(NETWORK_RETRY_SECONDS, f"twilio server error {status} ({code})")
    return Undeliverable(f"twilio rejected the message: {status} ({code})")


def render_text(reply: Reply) -> str:
    """Text plus numbered choices: WhatsApp free-form messages have no buttons."""
    if not reply.choices:
        return reply.text
    lines = [reply.text, ""] if reply.text else []
    lines += [f"{n}. {choice.label}" for n, choice in enumerate(reply.choices, start=1)]
    return "\n".join(lines)


def template_variables(reply: Reply, limit: int = 1000) -> dict[str, str]:
    """Content variables for a template: `{{1}}` is the message (with its numbered choices) on one line, since
    WhatsApp refuses line breaks in variables; `{{2}}`, `{{3}}`, … are the choices' data, for templates whose
    quick-reply buttons carry them as ids (a tap comes back as ButtonPayload)."""
    one_line = " · ".join(line.strip() for line in render_text(reply).splitlines() if line.strip())
    variables = {"1": one_line[:limit]}
    variables.update({str(n): choice.data for n, choice in enumerate(reply.choices, start=2)})
    return variables
