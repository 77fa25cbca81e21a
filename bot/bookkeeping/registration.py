"""Registering a shortcode with Daraja: its C2B confirmation/validation URLs (ResponseType `Completed`) and
Pull Transactions. Read the business (one short unit of work), call Daraja with no transaction open, record
what was registered (another). Outcomes are values; the words for a person are the caller's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.bookkeeping.daraja_gateway import DarajaGateway, daraja_target, url_problem
from bot.ledger.phones import normalise_phone
from bot.mpesa.daraja_errors import DarajaError, Failure
from bot.storage.daraja import mark_pull_registered, mark_registered
from bot.storage.db import Engine, unit_of_work

VERSIONS = ("v1", "v2")


@dataclass(frozen=True, slots=True)
class Registration:
    """`ok` or `problem` (our refusal before calling) or `error` (Daraja's answer)."""

    shortcode: str
    version: str = ""
    urls: tuple[str, ...] = ()
    problem: str | None = None
    error: DarajaError | None = None
    tried: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.problem is None and self.error is None




async def register_urls(engine: Engine, gateway: DarajaGateway, shortcode: str, version: str,
                        now: datetime) -> Registration:
    """Register; on "no apiproduct match" try the other version once (the app has the other C2B product)."""
    target = daraja_target(engine, gateway, shortcode)
    if isinstance(target, str):
        return Registration(shortcode, version, problem=target)
    urls = gateway.urls(target.token)
    wanted = (urls["confirmation"], urls["validation"])
    production = target.credentials.environment == "production"
    for url in wanted:
        problem = url_problem(url, production)
        if problem is not None:
            return Registration(shortcode, version, wanted, problem=problem)
    client, app = gateway.client(target.credentials), gateway.app(target.credentials)
    tried: list[str] = []
    for attempt in (version, *(v for v in VERSIONS if v != version)):
        tried.append(attempt)
        answer = await client.register_urls(app, shortcode, *wanted, version=attempt)
        if not isinstance(answer, DarajaError):
            with unit_of_work(engine) as session:
                mark_registered(session, shortcode, attempt, now)
            return Registration(shortcode, attempt, wanted, tried=tuple(tried))
        if answer.failure is not Failure.PRODUCT_MISMATCH:
            break
    return Registration(shortcode, tried[-1], wanted, error=answer, tried=tuple(tried))


async def register_pull(engine: Engine, gateway: DarajaGateway, shortcode: str, nominated_number: str,
                        now: datetime) -> Registration:
    target = daraja_target(engine, gateway, shortcode)
    if isinstance(target, str):
        return Registration(shortcode, problem=target)
    phone = normalise_phone(nominated_number)
    if phone is None:
        return Registration(shortcode, problem=f"{nominated_number!r} is not a Kenyan mobile number")
    url = gateway.urls(target.token)["result"]
    problem = url_problem(url, target.credentials.environment == "production")
    if problem is not None:
        return Registration(shortcode, urls=(url,), problem=problem)
    # the docs sample nominates "0722000000": the local form (UNCONFIRMED whether 2547... is accepted too)
    answer = await gateway.client(target.credentials).pull_register(
        gateway.app(target.credentials), shortcode, "0" + phone[3:], url)
    if isinstance(answer, DarajaError):
        return Registration(shortcode, urls=(url,), error=answer)
    with unit_of_work(engine) as session:
        mark_pull_registered(session, shortcode, now)
    return Registration(shortcode, urls=(url,))
