"""The Daraja client over httpx: OAuth tokens, every call we make, and what each call answered, as values.

Tokens: one per Daraja app (consumer key), cached until `refresh_margin` before it expires; concurrent callers
wait for the one refresh in flight (the FAQ says a new token invalidates the previous one, UNCONFIRMED, so
never fetch two at once). A call answered "invalid or expired token" drops that token, fetches one more and
retries once. Every call has a timeout. Calls that are safe to repeat (OAuth, queries, registrations) are
retried with back-off on network errors and throttling; an STK push never is, because Daraja has no
idempotency (§0.7): a push whose answer was lost is `IN_DOUBT`, not re-sent.
Nothing here raises for what Daraja or the network did: every method returns its answer or a `DarajaError`.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

import httpx

from bot.mpesa import daraja_models as m
from bot.mpesa.daraja_errors import DarajaError, Failure, read_error

SANDBOX_URL = "https://sandbox.safaricom.co.ke"
PRODUCTION_URL = "https://api.safaricom.co.ke"
T = TypeVar("T")
Reader = Callable[[Mapping[str, object]], "T | DarajaError"]


@dataclass(frozen=True, slots=True)
class DarajaApp:
    """The consumer key and secret of one Daraja app. Never printed: repr shows a fingerprint only."""

    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.consumer_key.encode()).hexdigest()[:12]

    def __repr__(self) -> str:
        return f"DarajaApp(fingerprint={self.fingerprint})"


@dataclass
class _Token:
    value: str
    expires_at: float


class DarajaClient:
    """One per process and base URL; share it (the token cache and the refresh locks live here)."""

    def __init__(self, base_url: str, *, http: httpx.AsyncClient | None = None, timeout: float = 15.0,
                 refresh_margin: float = 300.0, retries: int = 2, backoff: float = 0.5,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http or httpx.AsyncClient(timeout=timeout, trust_env=False)
        self._own_http = http is None
        self._timeout = timeout
        self.refresh_margin, self.retries, self.backoff = refresh_margin, retries, backoff
        self._clock, self._sleep = clock, sleep
        self._tokens: dict[str, _Token] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    # --- tokens ---------------------------------------------------------------------------------------

    async def token(self, app: DarajaApp) -> str | DarajaError:
        cached = self._tokens.get(app.fingerprint)
        if cached is not None and cached.expires_at > self._clock():
            return cached.value
        lock = self._locks.setdefault(app.fingerprint, asyncio.Lock())
        async with lock:  # the one refresh; whoever waited finds the fresh token
            cached = self._tokens.get(app.fingerprint)
            if cached is not None and cached.expires_at > self._clock():
                return cached.value
            fetched = await self._with_retries(lambda: self._fetch_token(app), safe=True)
            if isinstance(fetched, DarajaError):
                return fetched
            self._tokens[app.fingerprint] = fetched
            return fetched.value

    def forget_token(self, app: DarajaApp, value: str) -> None:
        """Drop the cached token if it is still `value` (another caller may have refreshed it already)."""
        cached = self._tokens.get(app.fingerprint)
        if cached is not None and cached.value == value:
            del self._tokens[app.fingerprint]

    async def _fetch_token(self, app: DarajaApp) -> _Token | DarajaError:
        basic = base64.b64encode(f"{app.consumer_key}:{app.consumer_secret}".encode()).decode()
        response = await self._send("GET", "/oauth/v1/generate", params={"grant_type": "client_credentials"},
                                    headers={"Authorization": f"Basic {basic}"}, safe=True)
        if isinstance(response, DarajaError):
            return response
        status, doc = response
        if status in (400, 401, 403) and not (isinstance(doc, dict) and doc.get("errorCode")):
            return DarajaError(Failure.AUTH, f"http-{status}", "consumer key or secret refused", status)
        if status != 200 or not isinstance(doc, dict):
            return read_error(status, doc)
        token = doc.get("access_token")
        expires = _seconds(doc.get("expires_in"))  # a number in the docs, a string in some clients: both
        if not isinstance(token, str) or not token or expires is None:
            return DarajaError(Failure.MALFORMED, "", "OAuth answer without access_token/expires_in")
        lifetime = max(expires - self.refresh_margin, min(expires / 2, 60.0))
        return _Token(token, self._clock() + lifetime)

    # --- the calls ------------------------------------------------------------------------------------

    async def register_urls(self, app: DarajaApp, shortcode: str, confirmation_url: str, validation_url: str,
                            version: str = "v1") -> m.Registered | DarajaError:
        body = m.register_url_body(shortcode, confirmation_url, validation_url)
        return await self._call(app, f"/mpesa/c2b/{version}/registerurl", body, m.read_registered, safe=True)

    async def stk_push(self, app: DarajaApp, push: m.StkPush, passkey: str,
                       now: datetime) -> m.StkAccepted | DarajaError:
        body = m.stk_push_body(push, passkey, now)
        return await self._call(app, "/mpesa/stkpush/v1/processrequest", body, m.read_stk_accepted, safe=False)

    async def stk_query(self, app: DarajaApp, shortcode: str, passkey: str, checkout_request_id: str,
                        now: datetime) -> m.StkAnswer | DarajaError:
        """One query. `NO_ANSWER` (500.001.1001) and a pending answer (4999) both mean "ask again later";
        the caller owns the back-off between queries (§3.5), this only retries a network failure."""
        body = m.stk_query_body(shortcode, passkey, checkout_request_id, now)
        return await self._call(app, "/mpesa/stkpushquery/v1/query", body, m.read_stk_answer, safe=True)

    async def pull_register(self, app: DarajaApp, shortcode: str, nominated_number: str,
                            callback_url: str) -> m.Registered | DarajaError:
        body = m.pull_register_body(shortcode, nominated_number, callback_url)
        return await self._call(app, "/pulltransactions/v1/register", body, m.read_pull_registered, safe=True)

    async def pull_query(self, app: DarajaApp, shortcode: str, start: datetime, end: datetime,
                         offset: int) -> m.PullPage | DarajaError:
        # the docs say "GET" but show a JSON body; POST it is (UNCONFIRMED, reference §1)
        body = m.pull_query_body(shortcode, start, end, offset)
        return await self._call(app, "/pulltransactions/v1/query", body, m.read_pull_page, safe=True)

    async def transaction_status(self, app: DarajaApp, initiator: str, credential: str, shortcode: str,
                                 receipt: str, result_url: str) -> m.AsyncAccepted | DarajaError:
        body = m.transaction_status_body(initiator, credential, shortcode, receipt, result_url, result_url)
        return await self._call(app, "/mpesa/transactionstatus/v1/query", body, m.read_async_accepted, safe=True)

    # --- plumbing -------------------------------------------------------------------------------------

    async def _call(self, app: DarajaApp, path: str, body: dict[str, str], reader: Reader[T], *,
                    safe: bool) -> T | DarajaError:
        answer = await self._authorised(app, path, body, safe=safe)
        if isinstance(answer, DarajaError):
            return answer
        return reader(answer)

    async def _authorised(self, app: DarajaApp, path: str, body: dict[str, str], *,
                          safe: bool) -> Mapping[str, object] | DarajaError:
        for attempt in range(2):  # the second round only after an invalid-token answer
            token = await self.token(app)
            if isinstance(token, DarajaError):
                return token
            answer = await self._with_retries(functools.partial(self._post, path, body, token, safe), safe=safe)
            if isinstance(answer, DarajaError) and answer.failure is Failure.TOKEN and attempt == 0:
                self.forget_token(app, token)
                continue
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post(self, path: str, body: dict[str, str], token: str,
                    safe: bool) -> Mapping[str, object] | DarajaError:
        response = await self._send("POST", path, json_body=body, headers={"Authorization": f"Bearer {token}"},
                                    safe=safe)
        if isinstance(response, DarajaError):
            return response
        status, doc = response
        if status != 200 or not isinstance(doc, dict) or "errorCode" in doc:
            return read_error(status, doc)
        return doc

    async def _with_retries(self, call: Callable[[], Awaitable[T | DarajaError]], *,
                            safe: bool) -> T | DarajaError:
        delay, attempts = self.backoff, self.retries + 1 if safe else 1
        for attempt in range(attempts):
            result = await call()
            if not (isinstance(result, DarajaError) and result.retryable) or attempt == attempts - 1:
                return result
            await self._sleep(max(delay, result.retry_after or 0.0))
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, method: str, path: str, *, safe: bool, params: dict[str, str] | None = None,
                    json_body: dict[str, str] | None = None,
                    headers: dict[str, str] | None = None) -> tuple[int, object] | DarajaError:
        try:
            response = await self._http.request(method, self.base_url + path, params=params, json=json_body,
                                                headers=headers, timeout=self._timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return DarajaError(Failure.UNAVAILABLE, "", f"cannot reach Daraja ({type(exc).__name__})")
        except httpx.HTTPError as exc:
            # the request may have been delivered: harmless for a query, a possible prompt for a push
            kind = Failure.UNAVAILABLE if safe else Failure.IN_DOUBT
            return DarajaError(kind, "", f"no answer from Daraja ({type(exc).__name__})")
        doc = _decode(response.content)
        retry_after = response.headers.get("retry-after")
        if response.status_code >= 400 and retry_after is not None:
            return read_error(response.status_code, doc, retry_after)
        return response.status_code, doc


def _decode(content: bytes) -> object:
    try:
        return json.loads(content.decode("utf-8-sig"), parse_float=Decimal) if content else None
    except (UnicodeDecodeError, ValueError):
        return None


def _seconds(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value) if isinstance(value, int | str | Decimal) else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 < seconds <= 86400 else None
