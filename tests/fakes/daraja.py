"""A fake Daraja that speaks the real protocol (shapes from /work/shared/reference/payloads), for offline tests
and for `make run` in development (`python -m tests.fakes.daraja`).

What it does, as Daraja does (reference §1-§4):
- `GET /oauth/v1/generate`: HTTP Basic consumer key:secret; tokens expire (`token_ttl`), and a new token
  invalidates the app's previous one (the FAQ's claim); an unknown or expired bearer gets HTTP 401
  `404.001.03 Invalid Access Token`.
- STK push: checks the Password (base64 shortcode+passkey+timestamp; wrong = 500.001.1001 "Wrong
  credentials"), the CallBackURL (forbidden words or uppercase = 400.002.02), AccountReference <= 12; answers
  ResponseCode "0" and then POSTs the callback to the CallBackURL after `callback_delay`, in the real shapes
  (numbers where Daraja sends numbers). The outcome comes from `outcomes[phone]` (0 paid, 1, 1032, 1037,
  2001, ...; `NO_CALLBACK` for a callback that never comes).
- STK query: 500.001.1001 "The transaction does not Exist" for an unknown id; ResultCode "4999" while the
  push is in flight (and `query_pending` more times); then the terminal code as a string.
- Register URL v1/v2: the version must be an API product of the app (else 401.003.01 no apiproduct match);
  a shortcode registered once answers 500.003.1001 "Urls are already registered".
- Pull register (1000, then 1001) and query with paging (`pull_page_size`, OffSetValue).
- Transaction Status: accepted, then its `Result` POSTed to the ResultURL.
- Spike arrest: more than `spike_limit` calls in a second -> HTTP 429 `500.003.02`.
- `fail_next(path, status, body)` injects any answer (e.g. 500.001.1001 on a query); status 0 drops the
  connection after reading the request (the answer to a push lost on the way back).
It is a stdlib ThreadingHTTPServer in a daemon thread; callbacks are posted by timer threads over real HTTP.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import httpx

NAIROBI = ZoneInfo("Africa/Nairobi")
NO_CALLBACK = -1
FORBIDDEN = re.compile(r"m-?pesa|safaricom|exe|exec|cmd|sql|query", re.IGNORECASE)
RESULT_DESC = {
    0: "The service request is processed successfully.", 1: "The balance is insufficient for the transaction.",
    1032: "Request cancelled by user", 1037: "DS timeout user cannot be reached",
    2001: "The initiator information is invalid.",
    1001: "Unable to lock subscriber, a transaction is already in process for the current subscriber",
    17: "Rule limited.", 1019: "Transaction has expired",
}
INVALID_TOKEN = {"errorCode": "404.001.03", "errorMessage": "Invalid Access Token"}


@dataclass
class Push:
    checkout_request_id: str
    merchant_request_id: str
    shortcode: str
    phone: str
    amount: int
    account_reference: str
    callback_url: str
    outcome: int
    receipt: str
    done: bool = False  # the customer answered (the callback, if any, is sent)
    queries_pending: int = 0


@dataclass
class Call:
    method: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    status: int


@dataclass
class _State:
    lock: threading.RLock = field(default_factory=threading.RLock)
    apps: dict[str, str] = field(default_factory=dict)  # consumer key -> secret
    products: dict[str, set[str]] = field(default_factory=dict)  # consumer key -> {"v1"} / {"v2"}
    passkeys: dict[str, str] = field(default_factory=dict)  # shortcode -> passkey
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> (consumer key, expires)
    calls: list[Call] = field(default_factory=list)
    pushes: dict[str, Push] = field(default_factory=dict)
    registered: dict[str, dict[str, str]] = field(default_factory=dict)  # shortcode -> register body
    pull_registered: set[str] = field(default_factory=set)
    pull_rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)  # Transaction Status answers
    initiators: dict[str, str] = field(default_factory=dict)  # initiator -> security credential
    failures: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    recent: list[float] = field(default_factory=list)
    callbacks_sent: list[tuple[str, dict[str, Any], int]] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class FakeDaraja:
    def __init__(self, *, token_ttl: float = 3599, callback_delay: float = 0.05, query_pending: int = 0,
                 pull_page_size: int = 2, spike_limit: int = 1000, status_delay: float = 0.05) -> None:
        self.token_ttl, self.callback_delay, self.query_pending = token_ttl, callback_delay, query_pending
        self.pull_page_size, self.spike_limit, self.status_delay = pull_page_size, spike_limit, status_delay
        self.outcomes: dict[str, int] = {}
        self.state = _State()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._timers: list[threading.Timer] = []

    # --- lifecycle --------------------------------------------------------------------------------------

    def start(self, port: int = 0) -> FakeDaraja:
        handler = type("_Bound", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-daraja", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeDaraja:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # --- set-up and inspection ----------------------------------------------------------------------------

    def add_app(self, key: str, secret: str, *, products: tuple[str, ...] = ("v1",)) -> None:
        with self.state.lock:
            self.state.apps[key] = secret
            self.state.products[key] = set(products)

    def add_shortcode(self, shortcode: str, passkey: str) -> None:
        with self.state.lock:
            self.state.passkeys[shortcode] = passkey

    def add_initiator(self, name: str, credential: str) -> None:
        with self.state.lock:
            self.state.initiators[name] = credential

    def add_receipt(self, receipt: str, amount: str, *, status: str = "Completed",
                    debit_party: str = "254708374149 - JOHN DOE") -> None:
        with self.state.lock:
            self.state.receipts[receipt] = {"amount": amount, "status": status, "debit_party": debit_party}

    def add_pull_row(self, shortcode: str, receipt: str, amount: str, when: datetime, *, reference: str = "",
                     msisdn: str = "2547 ***** 126", kind: str = "c2b-pay-bill-debit") -> None:
        row = {"transactionId": receipt, "trxDate": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "msisdn": msisdn, "sender": "", "transactiontype": kind, "billreference": reference,
               "amount": amount, "organizationname": "Fake Duka"}
        with self.state.lock:
            self.state.pull_rows.setdefault(shortcode, []).append(row)

    def fail_next(self, path: str, status: int, body: Any, times: int = 1) -> None:
        with self.state.lock:
            self.state.failures.setdefault(path, []).extend([(status, body)] * times)

    def expire_tokens(self) -> None:
        with self.state.lock:
            self.state.tokens.clear()

    def calls_to(self, path: str) -> list[Call]:
        with self.state.lock:
            return [c for c in self.state.calls if c.path == path]

    @property
    def oauth_calls(self) -> int:
        return len(self.calls_to("/oauth/v1/generate"))

    def push(self, checkout_request_id: str) -> Push:
        with self.state.lock:
            return self.state.pushes[checkout_request_id]

    # --- protocol -----------------------------------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               body: dict[str, Any]) -> tuple[int, Any]:
        with self.state.lock:
            now = time.monotonic()
            self.state.recent = [t for t in self.state.recent if t > now - 1.0] + [now]
            injected = self.state.failures.get(path)
            if injected:
                return injected.pop(0)
            if len(self.state.recent) > self.spike_limit:
                return self._err(429, "500.003.02", "Spike Arrest Violation")
            if path == "/oauth/v1/generate":
                return self._oauth(method, query, headers)
            app = self._bearer(headers)
            if app is None:
                return 401, {"requestId": self._id(), **INVALID_TOKEN}
            if method != "POST":
                return self._err(404, "404.001.04", "Invalid Authentication Header")
            handler = _ROUTES.get(path) or _match_register(path)
            if handler is None:
                return self._err(404, "404.001.01", "Resource not found")
            return handler(self, app, path, body)

    def _err(self, status: int, code: str, message: str) -> tuple[int, Any]:
        return status, {"requestId": self._id(), "errorCode": code, "errorMessage": message}

    def _id(self) -> str:
        return f"{next(self.state.ids):04d}-4b64-97ff-b827b542881d"

    def _oauth(self, method: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        if method != "GET" or query.get("grant_type") != "client_credentials":
            return self._err(400, "400.008.02", "Invalid grant type passed")
        auth = headers.get("authorization", "")
        if not auth.startswith("Basic "):
            return self._err(400, "400.008.01", "Invalid Authentication passed")
        try:
            key, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return self._err(400, "400.008.01", "Invalid Authentication passed")
        if self.state.apps.get(key) != secret:
            return 400, None  # Daraja answers wrong credentials with an empty 400
        self.state.tokens = {t: v for t, v in self.state.tokens.items() if v[0] != key}  # the FAQ: one live token
        token = f"T0k{next(self.state.ids):025d}"  # 28 characters, as observed
        self.state.tokens[token] = (key, time.monotonic() + self.token_ttl)
        return 200, {"access_token": token, "expires_in": str(int(self.token_ttl))}

    def _bearer(self, headers: dict[str, str]) -> str | None:
        auth = headers.get("authorization", "")
        found = self.state.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if found is None or found[1] < time.monotonic():
            return None
        return found[0]

    def _password_ok(self, body: dict[str, Any]) -> bool:
        shortcode = str(body.get("BusinessShortCode", ""))
        passkey = self.state.passkeys.get(shortcode)
        expected = base64.b64encode(f"{shortcode}{passkey}{body.get('Timestamp', '')}".encode()).decode()
        return passkey is not None and body.get("Password") == expected

    def _stk_push(self, _app: str, _path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if not self._password_ok(body):
            return self._err(500, "500.001.1001", "Wrong credentials")
        url = str(body.get("CallBackURL", ""))
        if not url.startswith(("http://", "https://")) or FORBIDDEN.search(url) or url != url.lower():
            return self._err(400, "400.002.02", "Bad Request - Invalid CallBackURL")
        reference = str(body.get("AccountReference", ""))
        amount = str(body.get("Amount", ""))
        if not reference or len(reference) > 12:
            return self._err(400, "400.002.02", "Bad Request - Invalid AccountReference")
        if not amount.isdigit() or int(amount) < 1:
            return self._err(400, "400.002.02", "Bad Request - Invalid Amount")
        phone = str(body.get("PhoneNumber", ""))
        stamp = datetime.now(NAIROBI).strftime("%d%m%Y%H%M%S%f")[:17]
        n = next(self.state.ids)
        push = Push(f"ws_CO_{stamp}{n:03d}{phone[-9:]}", f"{n:04d}-4e0b-a891-89b62294fe84",
                    str(body["BusinessShortCode"]), phone, int(amount), reference, url,
                    self.outcomes.get(phone, 0), f"UL{n:08d}", queries_pending=self.query_pending)
        self.state.pushes[push.checkout_request_id] = push
        self._later(self.callback_delay, self._finish_push, push)
        return 200, {"MerchantRequestID": push.merchant_request_id, "CheckoutRequestID": push.checkout_request_id,
                     "ResponseCode": "0", "ResponseDescription": "Success. Request accepted for processing",
                     "CustomerMessage": "Success. Request accepted for processing"}

    def _finish_push(self, push: Push) -> None:
        with self.state.lock:
            push.done = True
        if push.outcome != NO_CALLBACK:
            self._post(push.callback_url, stk_callback(push))

    def _stk_query(self, _app: str, _path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if not self._password_ok(body):
            return self._err(500, "500.001.1001", "Wrong credentials")
        push = self.state.pushes.get(str(body.get("CheckoutRequestID", "")))
        if push is None:
            return self._err(500, "500.001.1001", "The transaction does not Exist")
        base = {"ResponseCode": "0", "ResponseDescription": "The service request has been accepted successfully",
                "MerchantRequestID": push.merchant_request_id, "CheckoutRequestID": push.checkout_request_id}
        if not push.done or push.queries_pending > 0:
            push.queries_pending = max(0, push.queries_pending - 1) if push.done else push.queries_pending
            return 200, {**base, "ResultCode": "4999", "ResultDesc": "The transaction is still under processing"}
        code = 1037 if push.outcome == NO_CALLBACK else push.outcome
        return 200, {**base, "ResultCode": str(code), "ResultDesc": RESULT_DESC.get(code, "Failed")}

    def _register(self, app: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        version = path.split("/")[3]
        if version not in self.state.products.get(app, set()):
            return 401, {"requestId": self._id(), "errorCode": "401.003.01",
                         "errorMessage": "Error Occurred - Invalid API call as no apiproduct match found"}
        if body.get("ResponseType") not in ("Completed", "Cancelled"):
            return self._err(400, "400.002.02", "Bad Request - Invalid ResponseType")
        for name in ("ConfirmationURL", "ValidationURL"):
            url = str(body.get(name, ""))
            if FORBIDDEN.search(url) or not url.startswith(("http://", "https://")):
                return self._err(400, "400.002.02", f"Bad Request - Invalid {name}")
        shortcode = str(body.get("ShortCode", ""))
        if shortcode in self.state.registered:
            return self._err(500, "500.003.1001", "Urls are already registered")
        self.state.registered[shortcode] = dict(body)
        return 200, {"OriginatorCoversationID": self._id(), "ResponseCode": "0", "ResponseDescription": "Success"}

    def _pull_register(self, _app: str, _path: str, body: dict[str, Any]) -> tuple[int, Any]:
        shortcode = str(body.get("ShortCode", ""))
        status = "1001" if shortcode in self.state.pull_registered else "1000"
        self.state.pull_registered.add(shortcode)
        words = "Shortcode already Registered" if status == "1001" else "Shortcode Registered Successfully"
        return 200, {"ResponseRefID": self._id(), "ResponseStatus": status, "ShortCode": shortcode,
                     "ResponseDescription": words}

    def _pull_query(self, _app: str, _path: str, body: dict[str, Any]) -> tuple[int, Any]:
        shortcode = str(body.get("ShortCode", ""))
        if shortcode not in self.state.pull_registered:
            return self._err(400, "400.002.02", "Bad Request - ShortCode not registered")
        start, end = _nairobi(body.get("StartDate")), _nairobi(body.get("EndDate"))
        rows = [r for r in self.state.pull_rows.get(shortcode, [])
                if start <= datetime.fromisoformat(r["trxDate"].replace("Z", "+00:00")) <= end]
        offset = int(str(body.get("OffSetValue", "0")) or 0)
        page = rows[offset:offset + self.pull_page_size]
        return 200, {"ResponseRefID": self._id(), "ResponseCode": "1000", "ResponseMessage": "Success",
                     "Response": [page]}

    def _transaction_status(self, _app: str, _path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if self.state.initiators.get(str(body.get("Initiator"))) != body.get("SecurityCredential"):
            return self._err(500, "500.001.1001", "Initiator information is invalid")
        n = next(self.state.ids)
        conversation = f"AG_20261201_{n:020x}"
        originator = f"{n:04d}-416199-2"
        result = transaction_status_result(str(body.get("TransactionID", "")), conversation, originator,
                                           self.state.receipts.get(str(body.get("TransactionID", ""))))
        self._later(self.status_delay, self._post, str(body.get("ResultURL", "")), result)
        return 200, {"OriginatorConversationID": originator, "ConversationID": conversation, "ResponseCode": "0",
                     "ResponseDescription": "Accept the service request successfully."}

    def _later(self, delay: float, fn: Any, *args: Any) -> None:
        timer = threading.Timer(delay, fn, args)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _post(self, url: str, body: dict[str, Any]) -> None:
        try:
            status = httpx.post(url, content=_dumps(body), timeout=10, trust_env=False,
                                headers={"Content-Type": "application/json;charset=UTF-8"}).status_code
        except httpx.HTTPError:
            status = 0  # Daraja does not retry (§0.4)
        with self.state.lock:
            self.state.callbacks_sent.append((url, body, status))


def stk_callback(push: Push) -> dict[str, Any]:
    callback: dict[str, Any] = {"MerchantRequestID": push.merchant_request_id,
                                "CheckoutRequestID": push.checkout_request_id, "ResultCode": push.outcome,
                                "ResultDesc": RESULT_DESC.get(push.outcome, "Failed")}
    if push.outcome == 0:
        paid = int(datetime.now(NAIROBI).strftime("%Y%m%d%H%M%S"))
        callback["CallbackMetadata"] = {"Item": [
            {"Name": "Amount", "Value": Decimal(push.amount).quantize(Decimal("0.01"))},
            {"Name": "MpesaReceiptNumber", "Value": push.receipt}, {"Name": "Balance"},
            {"Name": "TransactionDate", "Value": paid}, {"Name": "PhoneNumber", "Value": int(push.phone)}]}
    return {"Body": {"stkCallback": callback}}


def transaction_status_result(receipt: str, conversation: str, originator: str,
                              known: dict[str, Any] | None) -> dict[str, Any]:
    if known is None:
        return {"Result": {"ResultType": 0, "ResultCode": 2001, "ResultDesc": "The initiator information is invalid.",
                           "OriginatorConversationID": originator, "ConversationID": conversation,
                           "TransactionID": receipt}}
    now = datetime.now(NAIROBI).strftime("%Y%m%d%H%M%S")
    params = [{"Key": "DebitPartyName", "Value": known["debit_party"]},
              {"Key": "InitiatedTime", "Value": now}, {"Key": "DebitAccountType", "Value": "MMF Account For Customer"},
              {"Key": "TransactionReason"}, {"Key": "ReasonType", "Value": "Pay Bill Online"},
              {"Key": "TransactionStatus", "Value": known["status"]}, {"Key": "FinalisedTime", "Value": now},
              {"Key": "Amount", "Value": known["amount"]}, {"Key": "ConversationID", "Value": conversation},
              {"Key": "ReceiptNo", "Value": receipt}]
    return {"Result": {"ConversationID": conversation, "OriginatorConversationID": originator,
                       "ReferenceData": {"ReferenceItem": {"Key": "Occasion"}}, "ResultCode": 0,
                       "ResultDesc": "The service request is processed successfully.",
                       "ResultParameters": {"ResultParameter": params}, "ResultType": 0, "TransactionID": receipt}}


def _nairobi(text: object) -> datetime:
    value = str(text or "")
    fixed = re.sub(r":(\d{2})\d+$", r":\1", value)  # the docs' own "10:10:000"
    return datetime.strptime(fixed, "%Y-%m-%d %H:%M:%S").replace(tzinfo=NAIROBI)


def _dumps(body: Any) -> bytes:
    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return float(value)  # only for the wire; the sample shows `1.00` as a JSON number
        raise TypeError(type(value).__name__)

    return json.dumps(body, default=default).encode()


def _match_register(path: str) -> Any:
    return FakeDaraja._register if re.fullmatch(r"/mpesa/c2b/v[12]/registerurl", path) else None


_ROUTES: dict[str, Any] = {
    "/mpesa/stkpush/v1/processrequest": FakeDaraja._stk_push,
    "/mpesa/stkpushquery/v1/query": FakeDaraja._stk_query,
    "/pulltransactions/v1/register": FakeDaraja._pull_register,
    "/pulltransactions/v1/query": FakeDaraja._pull_query,
    "/mpesa/transactionstatus/v1/query": FakeDaraja._transaction_status,
}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeDaraja

    def log_message(self, *_args: Any) -> None:
        pass

    def _handle(self, method: str) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, answer = self.fake.answer(method, split.path, dict(parse_qsl(split.query)), headers,
                                          body if isinstance(body, dict) else {})
        with self.fake.state.lock:
            self.fake.state.calls.append(Call(method, split.path, body if isinstance(body, dict) else {}, headers,
                                              status))
        if status == 0:  # `fail_next(path, 0, None)`: the connection drops after the request was read
            self.close_connection = True
            return
        content = b"" if answer is None else _dumps(answer)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")


def main() -> None:
    """`make run` in development: a fake Daraja on 127.0.0.1:8089 with the sandbox's test app and shortcode."""
    fake = FakeDaraja(callback_delay=3.0)
    fake.add_app("dev-consumer-key", "dev-consumer-secret", products=("v1", "v2"))
    fake.add_shortcode("600000", "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919")
    fake.start(8089)
    print(f"fake Daraja on {fake.url} (Ctrl-C stops it)", flush=True)  # noqa: T201
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()

