"""Offline Twilio: a recording HTTP client for the twilio library, and Twilio-style request signing.

`Client(sid, token, http_client=RecordingTwilioHttp())` runs the real twilio serialisation (From, To,
Body, repeated MediaUrl, ContentSid, ContentVariables, Basic auth) and hands the request to this
recorder instead of the network. Responses are programmable: by default a 201 message resource
echoing the request; queue `message_created()`, `too_many_requests()`, `server_error()` or
`outside_window()` (400, Twilio error 63016) to drive error paths. `RecordingAsyncTwilioHttp` is the
same for `create_async`.

`sign_form(auth_token, url, fields)` signs an inbound webhook exactly as Twilio does (repeated field
names kept), for tests of the /whatsapp route.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from twilio.http import AsyncHttpClient, HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

_log = logging.getLogger("tests.fakes.twilio_http")
_sids = itertools.count(1)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    url: str
    data: dict[str, Any]
    params: dict[str, Any]
    headers: dict[str, str]
    auth: tuple[str, str] | None

    @property
    def form(self) -> list[tuple[str, str]]:
        """The body as (name, value) pairs, repeated names (MediaUrl) expanded as requests sends them."""
        pairs: list[tuple[str, str]] = []
        for name, value in self.data.items():
            values = value if isinstance(value, list | tuple) else [value]
            pairs.extend((name, str(v)) for v in values)
        return pairs


def message_resource(account_sid: str, data: Mapping[str, Any], *, status: str = "queued") -> dict[str, Any]:
    """A Messages.json resource as Twilio answers a create, echoing what was sent."""
    sid = f"SM{next(_sids):032x}"
    media = data.get("MediaUrl") or []
    return {
        "sid": sid,
        "account_sid": account_sid,
        "from": data.get("From"),
        "to": data.get("To"),
        "body": data.get("Body", ""),
        "status": status,
        "num_media": str(len(media) if isinstance(media, list) else 1),
        "num_segments": "1",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "date_created": "Thu, 28 Nov 2026 10:00:00 +0000",
        "error_code": None,
        "error_message": None,
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
    }


@dataclass(frozen=True)
class Created:
    """A queued 201 answer: the message resource echoing the request, with `overrides` applied."""

    overrides: dict[str, Any] = field(default_factory=dict)


def message_created(**overrides: Any) -> Created:
    return Created(overrides)


def too_many_requests() -> Response:
    return Response(429, json.dumps({"code": 20429, "message": "Too Many Requests", "status": 429}))


def server_error() -> Response:
    return Response(500, json.dumps({"code": 20500, "message": "Internal Server Error", "status": 500}))


def outside_window() -> Response:
    """What Twilio answers a free-form WhatsApp message outside the 24-hour window."""
    return Response(
        400,
        json.dumps(
            {
                "code": 63016,
                "message": "Failed to send freeform message because you are outside the allowed window. "
                "If you want to send messages outside the allowed window, please use a Message Template.",
                "more_info": "https://www.twilio.com/docs/errors/63016",
                "status": 400,
            }
        ),
    )


@dataclass
class _Recorder:
    requests: list[RecordedRequest] = field(default_factory=list)
    responses: list[Response | Created] = field(default_factory=list)

    def record(
        self,
        method: str,
        uri: str,
        params: Mapping[str, Any] | None,
        data: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        auth: tuple[str, str] | None,
    ) -> Response:
        request = RecordedRequest(method, uri, dict(data or {}), dict(params or {}), dict(headers or {}), auth)
        self.requests.append(request)
        response = self.responses.pop(0) if self.responses else Created()
        if isinstance(response, Created):
            account_sid = uri.split("/Accounts/", 1)[1].split("/", 1)[0] if "/Accounts/" in uri else ""
            resource = {**message_resource(account_sid, request.data), **response.overrides}
            return Response(201, json.dumps(resource))
        return response


class RecordingTwilioHttp(HttpClient):
    """A synchronous twilio HttpClient that records requests and answers from a queue."""

    def __init__(self) -> None:
        super().__init__(logger=_log, is_async=False)
        self._recorder = _Recorder()

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._recorder.requests

    def queue(self, *responses: Response | Created) -> None:
        self._recorder.responses.extend(responses)

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        return self._recorder.record(method, uri, params, data, headers, auth)


class RecordingAsyncTwilioHttp(AsyncHttpClient):
    """The same for `client.messages.create_async` (the client must be async for *_async calls)."""

    def __init__(self) -> None:
        super().__init__(logger=_log, is_async=True)
        self._recorder = _Recorder()

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._recorder.requests

    def queue(self, *responses: Response | Created) -> None:
        self._recorder.responses.extend(responses)

    async def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - twilio calls request() with this signature
        allow_redirects: bool = False,
    ) -> Response:
        return self._recorder.record(method, uri, params, data, headers, auth)


class FormFields:
    """Form pairs with `getlist`, the interface RequestValidator uses for repeated names."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self.pairs = list(pairs)

    def __iter__(self) -> Any:
        return iter(dict.fromkeys(name for name, _ in self.pairs))

    def __getitem__(self, name: str) -> str:
        return self.getlist(name)[0]

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]


@dataclass(frozen=True)
class SignedForm:
    body: str
    signature: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Twilio-Signature": self.signature, "Content-Type": "application/x-www-form-urlencoded"}


def sign_form(
    auth_token: str, url: str, fields: Mapping[str, str] | Sequence[tuple[str, str]]
) -> SignedForm:
    """Sign a webhook POST as Twilio does: HMAC-SHA1 over the full public URL + sorted name/value pairs.

    `fields` may be a dict or (name, value) pairs; repeated names are kept in both the body and the signature.
    """
    pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
    signature = RequestValidator(auth_token).compute_signature(url, FormFields(pairs))
    return SignedForm(body=urlencode(pairs), signature=signature)


def validate_form(auth_token: str, url: str, body: str, signature: str) -> bool:
    """What the /whatsapp route must do, for checking the helper against the library."""
    pairs = parse_qsl(body, keep_blank_values=True)
    return bool(RequestValidator(auth_token).validate(url, FormFields(pairs), signature))
