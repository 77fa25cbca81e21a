"""The real Daraja client over real HTTP against the fake Daraja: tokens, errors, every call."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.mpesa.daraja import DarajaApp, DarajaClient
from bot.mpesa.daraja_errors import DarajaError, Failure, read_error
from bot.mpesa.daraja_models import (
    PullPage,
    Registered,
    StkAccepted,
    StkAnswer,
    StkPush,
    read_stk_accepted,
    read_stk_answer,
    stk_password,
)
from tests.fakes.daraja import FakeDaraja
from tests.support import payload

pytestmark = pytest.mark.anyio
APP = DarajaApp("key-1", "secret-1")
PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake():
    with FakeDaraja() as fake:
        fake.add_app(APP.consumer_key, APP.consumer_secret)
        fake.add_shortcode("174379", PASSKEY)
        yield fake


async def no_sleep(_seconds: float) -> None:
    return None


def client_for(fake: FakeDaraja, **kwargs) -> DarajaClient:
    kwargs.setdefault("sleep", no_sleep)
    return DarajaClient(fake.url, **kwargs)


def push(phone: str = "254708374149", url: str = "http://127.0.0.1:9/stk/abc/callback") -> StkPush:
    return StkPush("174379", "174379", False, 10, phone, url, "INV-0042")


def test_password_is_safaricoms_own_sample():
    sample = payload("stk_push_request_doc.json")
    assert stk_password("174379", PASSKEY, sample["Timestamp"]) == sample["Password"]


async def test_token_is_cached_and_fetched_once_under_concurrency(fake):
    client = client_for(fake)
    tokens = await asyncio.gather(*(client.token(APP) for _ in range(20)))
    assert len(set(tokens)) == 1 and fake.oauth_calls == 1
    call = fake.calls_to("/oauth/v1/generate")[0]
    assert call.headers["authorization"] == "Basic " + base64.b64encode(b"key-1:secret-1").decode()
    await client.token(APP)
    assert fake.oauth_calls == 1
    await client.aclose()


async def test_token_refreshed_shortly_before_expiry():
    now = [1000.0]
    with FakeDaraja(token_ttl=3599) as fake:
        fake.add_app(APP.consumer_key, APP.consumer_secret)
        client = client_for(fake, clock=lambda: now[0], refresh_margin=300)
        first = await client.token(APP)
        now[0] += 3599 - 301
        assert await client.token(APP) == first
        now[0] += 2
        assert await client.token(APP) != first and fake.oauth_calls == 2


async def test_401_on_an_expired_token_is_one_refresh_and_one_retry(fake):
    client = client_for(fake)
    await client.token(APP)
    fake.expire_tokens()  # Daraja forgot it (expired early, or another token was issued)
    queued = await asyncio.gather(*(client.stk_query(APP, "174379", PASSKEY, "ws_CO_unknown", NOW)
                                    for _ in range(5)))
    assert all(isinstance(q, DarajaError) and q.failure is Failure.NO_ANSWER for q in queued)
    assert fake.oauth_calls == 2  # one refresh however many callers saw the 401
    assert [c.status for c in fake.calls_to("/mpesa/stkpushquery/v1/query")].count(401) == 5


async def test_refused_credentials_are_auth_not_retried_forever(fake):
    client = client_for(fake)
    answer = await client.token(DarajaApp("key-1", "wrong"))
    assert isinstance(answer, DarajaError) and answer.failure is Failure.AUTH
    assert fake.oauth_calls == 1


async def test_stk_push_accepted_and_its_callback_posted(fake):
    client = client_for(fake)
    accepted = await client.stk_push(APP, push(), PASSKEY, NOW)
    assert isinstance(accepted, StkAccepted) and accepted.checkout_request_id.startswith("ws_CO_")
    body = fake.calls_to("/mpesa/stkpush/v1/processrequest")[0].body
    assert body["Timestamp"] == "20261201120000"  # Nairobi time
    assert body["AccountReference"] == "INV-0042" and body["Amount"] == "10"
    assert body["TransactionType"] == "CustomerPayBillOnline"


async def test_stk_push_is_never_retried_even_when_throttled(fake):
    client = client_for(fake)
    fake.fail_next("/mpesa/stkpush/v1/processrequest", 429,
                   {"requestId": "x", "errorCode": "500.003.02", "errorMessage": "Spike Arrest Violation"}, times=3)
    answer = await client.stk_push(APP, push(), PASSKEY, NOW)
    assert isinstance(answer, DarajaError) and answer.failure is Failure.THROTTLED
    assert len(fake.calls_to("/mpesa/stkpush/v1/processrequest")) == 1


async def test_queries_retry_spike_arrest_with_back_off(fake):
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    client = client_for(fake, sleep=sleep)
    accepted = await client.stk_push(APP, push(), PASSKEY, NOW)
    assert isinstance(accepted, StkAccepted)
    fake.fail_next("/mpesa/stkpushquery/v1/query", 429,
                   {"requestId": "x", "errorCode": "500.003.02", "errorMessage": "Spike Arrest Violation"}, times=2)
    answer = await client.stk_query(APP, "174379", PASSKEY, accepted.checkout_request_id, NOW)
    assert isinstance(answer, StkAnswer)
    assert slept == [0.5, 1.0]


async def test_spike_arrest_of_the_fake_itself():
    with FakeDaraja(spike_limit=3) as fake:
        fake.add_app(APP.consumer_key, APP.consumer_secret)
        client = client_for(fake, retries=0)
        await client.token(APP)
        answers = [await client.stk_query(APP, "174379", PASSKEY, "ws_CO_x", NOW) for _ in range(4)]
        assert answers[-1].failure is Failure.THROTTLED and answers[-1].code == "500.003.02"


async def test_query_pending_then_terminal_and_wrong_password(fake):
    fake.callback_delay = 0.5
    fake.query_pending = 1
    client = client_for(fake)
    accepted = await client.stk_push(APP, push(), PASSKEY, NOW)
    first = await client.stk_query(APP, "174379", PASSKEY, accepted.checkout_request_id, NOW)
    assert isinstance(first, StkAnswer) and first.pending and first.result_code == 4999
    fake.fail_next("/mpesa/stkpushquery/v1/query", 500, {"requestId": "r", "errorCode": "500.001.1001",
                                                        "errorMessage": ""})
    flaky = await client.stk_query(APP, "174379", PASSKEY, accepted.checkout_request_id, NOW)
    assert isinstance(flaky, DarajaError) and flaky.failure is Failure.NO_ANSWER
    wrong = await client.stk_query(APP, "174379", "not-the-passkey", accepted.checkout_request_id, NOW)
    assert isinstance(wrong, DarajaError) and wrong.message == "Wrong credentials"


async def test_register_urls_success_mismatch_and_already_registered():
    with FakeDaraja() as fake:
        fake.add_app(APP.consumer_key, APP.consumer_secret, products=("v2",))
        client = client_for(fake)
        urls = ("https://pay.example.co.ke/c2b/ab12/confirmation", "https://pay.example.co.ke/c2b/ab12/validation")
        mismatch = await client.register_urls(APP, "600984", *urls, version="v1")
        assert isinstance(mismatch, DarajaError) and mismatch.failure is Failure.PRODUCT_MISMATCH
        ok = await client.register_urls(APP, "600984", *urls, version="v2")
        assert isinstance(ok, Registered) and ok.response_code == "0"
        assert fake.calls_to("/mpesa/c2b/v2/registerurl")[-1].body["ResponseType"] == "Completed"
        again = await client.register_urls(APP, "600984", *urls, version="v2")
        assert isinstance(again, DarajaError) and again.failure is Failure.ALREADY_REGISTERED


async def test_pull_register_and_paged_query(fake):
    client = client_for(fake)
    assert isinstance(await client.pull_register(APP, "600984", "0722000000", "https://x.example/daraja/t/result"),
                      Registered)
    again = await client.pull_register(APP, "600984", "0722000000", "https://x.example/daraja/t/result")
    assert isinstance(again, Registered) and again.response_code == "1001"
    for i in range(3):
        fake.add_pull_row("600984", f"UL{i:08d}", "150.00", NOW - timedelta(minutes=10 * i), reference="INV-1")
    first = await client.pull_query(APP, "600984", NOW - timedelta(hours=2), NOW, 0)
    second = await client.pull_query(APP, "600984", NOW - timedelta(hours=2), NOW, 2)
    assert isinstance(first, PullPage) and isinstance(second, PullPage)
    assert [r.trans_id for r in first.rows + second.rows] == ["UL00000000", "UL00000001", "UL00000002"]
    assert first.rows[0].amount == Decimal("150.00") and first.rows[0].paid_at == NOW
    assert fake.calls_to("/pulltransactions/v1/query")[0].body["StartDate"] == "2026-12-01 10:00:00"


async def test_unreachable_daraja_is_unavailable():
    client = DarajaClient("http://127.0.0.1:9", sleep=no_sleep, timeout=1)
    answer = await client.token(APP)
    assert isinstance(answer, DarajaError) and answer.failure is Failure.UNAVAILABLE


async def test_a_push_whose_answer_is_lost_is_in_doubt_and_not_resent(fake):
    client = client_for(fake)
    fake.fail_next("/mpesa/stkpush/v1/processrequest", 0, None, times=3)
    answer = await client.stk_push(APP, push(), PASSKEY, NOW)
    assert isinstance(answer, DarajaError) and answer.failure is Failure.IN_DOUBT
    assert len(fake.calls_to("/mpesa/stkpush/v1/processrequest")) == 1
    fake.fail_next("/mpesa/stkpushquery/v1/query", 0, None)  # a query is safe to repeat
    again = await client.stk_query(APP, "174379", PASSKEY, "ws_CO_x", NOW)
    assert isinstance(again, DarajaError) and again.failure is Failure.NO_ANSWER


@pytest.mark.parametrize(("status", "body", "failure"), [
    (400, payload("stk_push_error_400_doc.json"), Failure.BAD_REQUEST),
    (401, {"errorCode": "404.001.03", "errorMessage": "Invalid Access Token"}, Failure.TOKEN),
    (400, {"errorCode": "400.003.01", "errorMessage": "Invalid Access Token"}, Failure.TOKEN),
    (401, {"errorCode": "401.002.01", "errorMessage": "Error Occurred - Invalid Access Token"}, Failure.TOKEN),
    (400, {"errorCode": "400.008.01", "errorMessage": "Invalid Authentication passed"}, Failure.AUTH),
    (400, {"errorCode": "400.008.02", "errorMessage": "Invalid grant type passed"}, Failure.AUTH),
    (401, {"errorCode": "401.003.01", "errorMessage": "Invalid API call as no apiproduct match found"},
     Failure.PRODUCT_MISMATCH),
    (500, {"errorCode": "500.001.1001", "errorMessage": ""}, Failure.NO_ANSWER),
    (500, {"errorCode": "500.001.1001", "errorMessage": "Unable to lock subscriber"}, Failure.NO_ANSWER),
    (500, {"errorCode": "500.002.1001", "errorMessage": "Duplicate OriginatorConversationID"}, Failure.DUPLICATE),
    (500, {"errorCode": "500.003.1001", "errorMessage": "Urls are already registered"}, Failure.ALREADY_REGISTERED),
    (500, {"errorCode": "500.003.1001", "errorMessage": "Duplicate notification info, SP ID is 1, correlator is 2"},
     Failure.ALREADY_REGISTERED),
    (500, {"errorCode": "500.003.1001", "errorMessage": "Internal Server Error"}, Failure.UNAVAILABLE),
    (500, {"errorCode": "500.003.02", "errorMessage": "Spike Arrest Violation"}, Failure.THROTTLED),
    (500, {"errorCode": "500.003.03", "errorMessage": "Quota Violation"}, Failure.THROTTLED),
    (404, {"errorCode": "404.001.04", "errorMessage": "Invalid Authentication Header"}, Failure.NOT_FOUND),
    (405, {"errorCode": "405.001", "errorMessage": "Method not allowed"}, Failure.NOT_FOUND),
    (429, None, Failure.THROTTLED),
    (503, None, Failure.UNAVAILABLE),
])
def test_every_error_body_is_a_typed_failure(status, body, failure):
    error = read_error(status, body)
    assert error.failure is failure
    if body:
        assert error.code == body["errorCode"]


def test_answers_in_the_samples_are_read():
    accepted = read_stk_accepted(payload("stk_push_response_doc.json"))
    assert isinstance(accepted, StkAccepted) and accepted.checkout_request_id == "ws_CO_1007202409152617172396192"
    answer = read_stk_answer(payload("stk_query_response_doc.json"))
    assert answer == StkAnswer(0, "The service request is processed successfully.")
