"""Daraja's answers when a call did not do what was asked, as values (`DarajaError`), never exceptions.

Daraja reports synchronous failures as `{"requestId", "errorCode", "errorMessage"}` with an HTTP status
(reference §1), and the same code can mean several things (`500.001.1001` is "wrong STK password", "unable
to lock subscriber", "transaction does not exist" and "still in flight"). `read_error` turns a response into
one `Failure` kind a caller can branch on, keeping Daraja's code and words for the log and the person.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Failure(StrEnum):
    TOKEN = "token"  # noqa: S105 - a kind of failure, not a secret. Invalid or expired access token (404.001.03, 400.003.01, 401.002.01)
    AUTH = "auth"  # the consumer key/secret were refused by OAuth (400.008.xx, 401 on generate)
    BAD_REQUEST = "bad_request"  # a field Daraja refused (400.002.02 "Invalid CallBackURL", ...)
    PRODUCT_MISMATCH = "product_mismatch"  # 401.003.01: the API product is not on the Daraja app (v1 vs v2)
    ALREADY_REGISTERED = "already_registered"  # 500.003.1001 "Urls are already registered" / "Duplicate notification"
    NO_ANSWER = "no_answer"  # 500.001.1001: many meanings; for an STK query it means "ask again"
    DUPLICATE = "duplicate"  # 500.002.1001 duplicate OriginatorConversationID
    THROTTLED = "throttled"  # spike arrest (500.003.02), quota (500.003.03), HTTP 429
    UNAVAILABLE = "unavailable"  # network error, timeout before the request was sent, 5xx without a code
    IN_DOUBT = "in_doubt"  # the request may have reached Daraja but no answer came (read timeout, dropped)
    NOT_FOUND = "not_found"  # 404.001.01 / 404.003.01, wrong method 404.001.04 / 405.001
    REJECTED = "rejected"  # anything else Daraja said no to; code and message say what
    MALFORMED = "malformed"  # a 200 answer we cannot read


RETRYABLE = frozenset({Failure.UNAVAILABLE, Failure.THROTTLED})
_TOKEN_CODES = {"404.001.03", "400.003.01", "401.002.01"}
_BY_CODE = {
    "400.008.01": Failure.AUTH, "400.008.02": Failure.AUTH,
    "400.002.02": Failure.BAD_REQUEST, "400.002.05": Failure.BAD_REQUEST,
    "401.003.01": Failure.PRODUCT_MISMATCH,
    "500.001.1001": Failure.NO_ANSWER,
    "500.002.1001": Failure.DUPLICATE,
    "500.003.02": Failure.THROTTLED, "500.003.03": Failure.THROTTLED,
    "404.001.01": Failure.NOT_FOUND, "404.003.01": Failure.NOT_FOUND,
    "404.001.04": Failure.NOT_FOUND, "405.001": Failure.NOT_FOUND,
}
_ALREADY = ("already registered", "duplicate notification")


@dataclass(frozen=True, slots=True)
class DarajaError:
    """A call that did not succeed. `code` is Daraja's errorCode (or `http-<status>`), `message` its words."""

    failure: Failure
    code: str = ""
    message: str = ""
    http_status: int | None = None
    retry_after: float | None = None  # seconds, when Daraja (or its gateway) said so

    @property
    def retryable(self) -> bool:
        return self.failure in RETRYABLE

    def __str__(self) -> str:
        parts = [self.failure.value, self.code, self.message]
        return " ".join(p for p in parts if p)


def classify(code: str, message: str) -> Failure:
    """One Failure for a Daraja errorCode and its message."""
    if code in _TOKEN_CODES:
        return Failure.TOKEN
    if code == "500.003.1001":
        lowered = message.casefold()
        return Failure.ALREADY_REGISTERED if any(w in lowered for w in _ALREADY) else Failure.UNAVAILABLE
    return _BY_CODE.get(code, Failure.REJECTED)


def read_error(status: int, body: object, retry_after: str | None = None) -> DarajaError:
    """The error of a non-2xx response (or of a 2xx carrying an errorCode)."""
    after = _seconds(retry_after)
    if isinstance(body, dict) and isinstance(body.get("errorCode"), str):
        code = str(body["errorCode"]).strip()
        message = str(body.get("errorMessage") or "").strip()[:300]
        return DarajaError(classify(code, message), code, message, status, after)
    if status == 429:
        return DarajaError(Failure.THROTTLED, "http-429", "too many requests", status, after)
    if status >= 500:
        return DarajaError(Failure.UNAVAILABLE, f"http-{status}", "", status, after)
    if status in (401, 403):
        return DarajaError(Failure.TOKEN, f"http-{status}", "", status, after)
    if status == 404:
        return DarajaError(Failure.NOT_FOUND, "http-404", "", status, after)
    return DarajaError(Failure.REJECTED, f"http-{status}", "", status, after)


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 3600 else None
