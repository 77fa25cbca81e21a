"""A fake Telegram Bot API server that speaks the real HTTP protocol, for offline tests.

Point python-telegram-bot at it with `base_url=fake.base_url` (the token is appended by PTB, as
with HESABU_TELEGRAM_API_URL) and the real library sends real HTTP to 127.0.0.1. The fake records
every call exactly as it arrived (form fields are strings; nested objects such as `reply_markup`
are JSON strings, read them with `call.json(name)`; uploads are in `call.files`), answers with the
shapes PTB 22 deserialises, queues inbound updates for getUpdates, and injects failures.

It is a stdlib `ThreadingHTTPServer` in a daemon thread: no extra packages (Starlette cannot parse
multipart without python-multipart, which is not a dependency), no event loop shared with the test.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from email.message import Message as _MimeHeader
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BLOCKED = "Forbidden: bot was blocked by the user"
CHAT_NOT_FOUND = "Bad Request: chat not found"


@dataclass(frozen=True)
class UploadedFile:
    filename: str | None
    content: bytes
    content_type: str | None


@dataclass(frozen=True)
class ApiCall:
    """One request as the fake received it, and the HTTP status it answered."""

    method: str
    params: dict[str, str]
    files: dict[str, UploadedFile]
    content_type: str
    status: int

    def json(self, name: str) -> Any:
        """A nested parameter (reply_markup, entities…) decoded from the JSON string PTB sends."""
        return json.loads(self.params[name])


@dataclass
class _Failure:
    status: int | None  # None: drop the connection without answering
    description: str
    retry_after: int | None = None


@dataclass
class _State:
    lock: threading.Condition = field(default_factory=threading.Condition)
    calls: list[ApiCall] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, list[_Failure]] = field(default_factory=dict)
    messages: dict[tuple[int | str, int], dict[str, Any]] = field(default_factory=dict)
    message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))
    update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(500001))
    file_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    webhook_url: str = ""
    sends: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, chat_id) of accepted sends
    flooded: int = 0  # sends answered 429 because they exceeded a flood limit
    refused_at: list[float] = field(default_factory=list)  # monotonic times of every injected or flood failure


SEND_METHODS = ("sendMessage", "sendPhoto", "sendDocument")


class FakeTelegramApi:
    """Start with `start()` (or `with FakeTelegramApi() as fake:`), stop with `stop()`."""

    def __init__(self, token: str = "123456:TEST-TOKEN", *, bot_username: str = "hesabu_test_bot",
                 flood_limits: tuple[int, int, int] | None = None) -> None:
        """`flood_limits` = (per bot per second, per private chat per second, per group per minute), e.g.
        (30, 1, 20): a send beyond any of them is answered 429 with retry_after, as Telegram does, and counted
        in `flooded`. Off by default (tests that are not about flood control send as fast as they like)."""
        self.token = token
        self.flood_limits = flood_limits
        self.bot_user: dict[str, Any] = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "Hesabu",
            "username": bot_username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._state = _State()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeTelegramApi:
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-telegram", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            with self._state.lock:
                self._state.lock.notify_all()  # wake long polls
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeTelegramApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        assert self._server is not None, "FakeTelegramApi is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """What HESABU_TELEGRAM_API_URL / PTB's base_url takes: the token is appended to it."""
        return f"{self.origin}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.origin}/file/bot"

    # ---- what the test inspects ------------------------------------------------------------

    @property
    def calls(self) -> list[ApiCall]:
        with self._state.lock:
            return list(self._state.calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def last(self, method: str) -> ApiCall:
        found = self.calls_to(method)
        assert found, f"no {method} call; calls were {[c.method for c in self.calls]}"
        return found[-1]

    def clear_calls(self) -> None:
        with self._state.lock:
            self._state.calls.clear()

    @property
    def webhook_url(self) -> str:
        return self._state.webhook_url

    # ---- failures ----------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        times: int = 1,
        description: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """The next `times` calls of `method` answer `status` with Telegram's error body."""
        text = description or {
            400: "Bad Request",
            403: BLOCKED,
            429: f"Too Many Requests: retry after {retry_after or 1}",
            500: "Internal Server Error",
        }.get(status, "Error")
        if status == 429 and retry_after is None:
            retry_after = 1
        self._queue_failure(method, _Failure(status, text, retry_after), times)

    def rate_limit_next(self, method: str, retry_after: int, *, times: int = 1) -> None:
        self.fail_next(method, status=429, retry_after=retry_after, times=times)

    def block_next(self, method: str, *, times: int = 1) -> None:
        """As if the person blocked the bot: 403 'bot was blocked by the user'."""
        self.fail_next(method, status=403, description=BLOCKED, times=times)

    def drop_next(self, method: str, *, times: int = 1) -> None:
        """Close the connection without answering (a network failure as the client sees it)."""
        self._queue_failure(method, _Failure(None, "dropped"), times)

    def _queue_failure(self, method: str, failure: _Failure, times: int) -> None:
        with self._state.lock:
            self._state.failures.setdefault(method, []).extend([failure] * times)

    # ---- inbound updates ----------------------------------------------------------------------

    def text_update(
        self, chat_id: int, text: str, *, user_id: int | None = None, first_name: str = "Amina"
    ) -> dict[str, Any]:
        """An Update dict for a private text message (also usable as a webhook body). `/start X` gets its entity."""
        user = {"id": user_id or chat_id, "is_bot": False, "first_name": first_name}
        message: dict[str, Any] = {
            "message_id": next(self._state.message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": first_name},
            "from": user,
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"update_id": next(self._state.update_ids), "message": message}

    def callback_update(
        self,
        chat_id: int,
        data: str,
        *,
        message_id: int | None = None,
        user_id: int | None = None,
        first_name: str = "Amina",
    ) -> dict[str, Any]:
        """An Update dict for a tapped inline button on `message_id` (default: the last message sent to the chat)."""
        user = {"id": user_id or chat_id, "is_bot": False, "first_name": first_name}
        with self._state.lock:
            if message_id is None:
                sent = [mid for (cid, mid) in self._state.messages if cid == chat_id]
                assert sent, f"no message was sent to chat {chat_id} to tap a button on"
                message_id = sent[-1]
            message = self._state.messages.get((chat_id, message_id)) or self._message(chat_id, message_id)
        return {
            "update_id": next(self._state.update_ids),
            "callback_query": {
                "id": str(next(self._state.update_ids)),
                "from": user,
                "chat_instance": f"ci-{chat_id}",
                "data": data,
                "message": message,
            },
        }

    def queue_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Deliver `update` to the next getUpdates call."""
        with self._state.lock:
            self._state.updates.append(update)
            self._state.lock.notify_all()
        return update

    def queue_text(self, chat_id: int, text: str, **kwargs: Any) -> dict[str, Any]:
        return self.queue_update(self.text_update(chat_id, text, **kwargs))

    def queue_callback(self, chat_id: int, data: str, **kwargs: Any) -> dict[str, Any]:
        return self.queue_update(self.callback_update(chat_id, data, **kwargs))

    # ---- the Bot API, called from the server thread ---------------------------------------

    def _message(self, chat_id: int | str, message_id: int, **extra: Any) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": "private" if isinstance(chat_id, int) else "channel"}
        return {"message_id": message_id, "date": int(time.time()), "chat": chat, "from": self.bot_user, **extra}

    def _file(self, size: int, **extra: Any) -> dict[str, Any]:
        n = next(self._state.file_ids)
        return {"file_id": f"FILE-{n}", "file_unique_id": f"U{n}", "file_size": size, **extra}

    def _answer(self, method: str, params: dict[str, str], files: dict[str, UploadedFile]) -> tuple[int, Any]:
        """(HTTP status, result or error body) for one call; runs under the state lock."""
        state = self._state
        if method == "getMe":
            return 200, self.bot_user
        if method in ("setWebhook", "deleteWebhook"):
            state.webhook_url = params.get("url", "") if method == "setWebhook" else ""
            return 200, True
        if method == "getWebhookInfo":
            return 200, {"url": state.webhook_url, "has_custom_certificate": False, "pending_update_count": 0}
        if method in ("answerCallbackQuery", "sendChatAction", "deleteMessage", "setMyCommands"):
            return 200, True
        if method in ("sendMessage", "sendPhoto", "sendDocument"):
            if "chat_id" not in params:
                return 400, "Bad Request: chat_id is empty"
            chat_id = _chat_id(params["chat_id"])
            extra: dict[str, Any] = {}
            if method == "sendMessage":
                extra["text"] = params.get("text", "")
            elif method == "sendPhoto":
                size = len(files["photo"].content) if "photo" in files else 0
                extra["photo"] = [self._file(size, width=640, height=480)]
            else:
                upload = files.get("document")
                extra["document"] = self._file(
                    len(upload.content) if upload else 0,
                    file_name=upload.filename if upload else None,
                    mime_type=upload.content_type if upload else None,
                )
            if "caption" in params:
                extra["caption"] = params["caption"]
            if "reply_markup" in params:
                extra["reply_markup"] = json.loads(params["reply_markup"])
            message = self._message(chat_id, next(state.message_ids), **extra)
            state.messages[(chat_id, message["message_id"])] = message
            return 200, message
        if method == "editMessageText":
            key = (_chat_id(params.get("chat_id", "0")), int(params.get("message_id", "0")))
            message = state.messages.get(key)
            if message is None:
                return 400, "Bad Request: message to edit not found"
            markup = json.loads(params["reply_markup"]) if "reply_markup" in params else None
            if message.get("text") == params.get("text") and message.get("reply_markup") == markup:
                return 400, (
                    "Bad Request: message is not modified: specified new message content and reply markup "
                    "are exactly the same as a current content and reply markup of the message"
                )
            message = {k: v for k, v in message.items() if k != "reply_markup"}
            message.update(text=params.get("text", ""), edit_date=int(time.time()))
            if markup is not None:
                message["reply_markup"] = markup
            state.messages[key] = message
            return 200, message
        return 404, "Not Found: method not found"

    def _take_updates(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """getUpdates: confirm everything below `offset`, wait up to `timeout` (capped at 5 s) for more."""
        state = self._state
        offset = int(params.get("offset", "0") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout", "0") or 0), 5.0)
        with state.lock:
            state.updates = [u for u in state.updates if u["update_id"] >= offset]
            while not state.updates and self._server is not None and time.monotonic() < deadline:
                state.lock.wait(timeout=max(0.0, deadline - time.monotonic()))
            limit = int(params.get("limit", "100") or 100)
            return list(state.updates[:limit])

    @property
    def flooded(self) -> int:
        with self._state.lock:
            return self._state.flooded

    def refused_at(self) -> list[float]:
        with self._state.lock:
            return list(self._state.refused_at)

    def sends(self) -> list[tuple[float, str]]:
        """(monotonic time, chat_id) of every send the fake accepted, in order."""
        with self._state.lock:
            return list(self._state.sends)

    def _floods(self, chat_id: str) -> bool:
        """Would one more send now exceed a flood limit? Runs under the state lock."""
        if self.flood_limits is None:
            return False
        per_bot, per_chat, per_group = self.flood_limits
        now = time.monotonic()
        recent = [(t, c) for t, c in self._state.sends if now - t < 60]
        if sum(1 for t, _ in recent if now - t < 1) >= per_bot:
            return True
        if chat_id.startswith(("-", "@")):
            return sum(1 for _, c in recent if c == chat_id) >= per_group
        return sum(1 for t, c in recent if c == chat_id and now - t < 1) >= per_chat

    def _handle(self, method: str, content_type: str, body: bytes) -> tuple[int | None, bytes]:
        params, files = _decode_body(content_type, body)
        state = self._state
        if method != "getUpdates":
            with state.lock:
                pending = state.failures.get(method)
                failure = pending.pop(0) if pending else None
                if failure is None and method in SEND_METHODS and self._floods(params.get("chat_id", "")):
                    state.flooded += 1
                    failure = _Failure(429, "Too Many Requests: retry after 1", retry_after=1)
                if failure is not None:
                    state.refused_at.append(time.monotonic())
                if failure is None:
                    status, result = self._answer(method, params, files)
                    if method in SEND_METHODS and status == 200:
                        state.sends.append((time.monotonic(), params.get("chat_id", "")))
                else:
                    status = failure.status
                    result = failure.description
                state.calls.append(ApiCall(method, params, files, content_type, status or 0))
            if failure is not None and failure.status is None:
                return None, b""
            if status == 200:
                return 200, json.dumps({"ok": True, "result": result}).encode()
            error: dict[str, Any] = {"ok": False, "error_code": status, "description": result}
            if failure is not None and failure.retry_after is not None:
                error["parameters"] = {"retry_after": failure.retry_after}
            return status, json.dumps(error).encode()
        updates = self._take_updates(params)
        with state.lock:
            state.calls.append(ApiCall(method, params, files, content_type, 200))
        return 200, json.dumps({"ok": True, "result": updates}).encode()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeTelegramApi

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        self._route(self.rfile.read(length) if length else b"")

    def do_GET(self) -> None:  # noqa: N802
        query = urlsplit(self.path).query
        self._route(query.encode(), content_type="application/x-www-form-urlencoded")

    def _route(self, body: bytes, content_type: str | None = None) -> None:
        path = urlsplit(self.path).path
        prefix = f"/bot{self.fake.token}/"
        if not path.startswith(prefix):
            self._send(404, json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}).encode())
            return
        ctype = content_type or self.headers.get("Content-Type") or ""
        status, payload = self.fake._handle(path[len(prefix) :], ctype, body)
        if status is None:
            self.close_connection = True
            return
        self._send(status, payload)

    def _send(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass


def _chat_id(value: str) -> int | str:
    try:
        return int(value)
    except ValueError:
        return value


def _header_params(value: str) -> _MimeHeader:
    header = _MimeHeader()
    header["content-type"] = value
    return header


def _decode_body(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Form, multipart or JSON body -> (string params, uploaded files), as the Bot API reads them."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return {}, {}
    if mime == "application/json":
        decoded = json.loads(body)
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in decoded.items()}, {}
    if mime == "multipart/form-data":
        boundary = _header_params(content_type).get_param("boundary")
        assert isinstance(boundary, str), "multipart without boundary"
        return _decode_multipart(body, boundary.encode())
    return dict(parse_qsl(body.decode(), keep_blank_values=True)), {}


def _decode_multipart(body: bytes, boundary: bytes) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    params: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for chunk in body.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = _MimeHeader()
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
        name = headers.get_param("name", header="content-disposition")
        filename = headers.get_param("filename", header="content-disposition")
        assert isinstance(name, str), f"multipart part without a name: {head!r}"
        if isinstance(filename, str):
            files[name] = UploadedFile(filename, content, headers.get("content-type"))
        else:
            params[name] = content.decode()
    return params, files
