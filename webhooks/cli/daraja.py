"""`hesabu daraja …` and `hesabu secrets rotate`: a shortcode's Daraja credentials and the calls made with them.
Registered on the main command line by `register(app)` (one line in webhooks.cli.commands)."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import typer

from bot.bookkeeping.daraja_gateway import DarajaGateway
from bot.bookkeeping.processing import claim_unprocessed, process_payment
from bot.bookkeeping.pull import reconcile_pull
from bot.bookkeeping.registration import VERSIONS, Registration, register_pull, register_urls
from bot.bookkeeping.transaction_status import ask_status, status_answer
from bot.mpesa.daraja_errors import DarajaError, Failure
from bot.storage.businesses import business_by_shortcode
from bot.storage.daraja import (
    ENVIRONMENTS,
    OPTIONAL_FIELDS,
    SECRET_FIELDS,
    credential_row,
    last_pull_of,
    open_credentials,
    reseal_all,
    save_credentials,
)
from bot.storage.db import Engine, make_single_use_engine, unit_of_work
from bot.storage.sealing import SealError
from webhooks.daraja_wiring import daraja_gateway
from webhooks.settings import Settings

daraja_app = typer.Typer(help="Talk to Safaricom's Daraja for a shortcode.", no_args_is_help=True)
secrets_app = typer.Typer(help="The key that seals stored credentials.", no_args_is_help=True)
T = TypeVar("T")
MAX_SECRET = 2048


def register(app: typer.Typer) -> None:
    app.add_typer(daraja_app, name="daraja")
    app.add_typer(secrets_app, name="secrets")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


def _run(settings: Settings, call: Callable[[DarajaGateway], Awaitable[T]]) -> T:
    async def go() -> T:
        gateway = daraja_gateway(settings)
        try:
            return await call(gateway)
        finally:
            await gateway.aclose()

    return asyncio.run(go())


def read_secret_lines(text: str) -> dict[str, str]:
    """`KEY=VALUE` lines (blank lines and `#` comments skipped). Raises ValueError with the reason."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip().lower()
        if not sep or key not in SECRET_FIELDS + OPTIONAL_FIELDS:
            known = ", ".join(SECRET_FIELDS + OPTIONAL_FIELDS)
            raise ValueError(f"line {number} is not KEY=VALUE with KEY one of {known}")
        value = value.strip()
        if len(value) > MAX_SECRET or any(ord(ch) < 32 for ch in value):
            raise ValueError(f"line {number}: the value of {key} is too long or has control characters")
        values[key] = value
    missing = [k for k in SECRET_FIELDS if not values.get(k)]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    if bool(values.get("initiator_name")) != bool(values.get("security_credential")):
        raise ValueError("initiator_name and security_credential go together (Transaction Status needs both)")
    return values


def _prompt_secrets() -> str:
    lines = [f"{k}={getpass.getpass(f'{k}: ')}" for k in SECRET_FIELDS]
    for key in OPTIONAL_FIELDS:
        value = getpass.getpass(f"{key} (optional, Enter to skip): ")
        if value:
            lines.append(f"{key}={value}")
    return "\n".join(lines)


@daraja_app.command("set")
def daraja_set(shortcode: str, env: str = typer.Option("sandbox", "--env", help="sandbox | production")) -> None:
    """Store the shortcode's Daraja credentials, sealed. Reads KEY=VALUE lines on stdin (a prompt on a
    terminal): consumer_key, consumer_secret, passkey, optional initiator_name and security_credential."""
    settings = Settings()
    if env not in ENVIRONMENTS:
        _fail("--env is sandbox or production")
    if settings.secret_key_generated:
        _fail("set HESABU_SECRET_KEY first: credentials sealed with this process's throw-away key could never "
              "be opened again")
    text = _prompt_secrets() if sys.stdin.isatty() else sys.stdin.read(64 * 1024)
    try:
        values = read_secret_lines(text)
    except ValueError as exc:
        _fail(str(exc))
    engine = make_single_use_engine(settings.database_url)
    with unit_of_work(engine) as session:
        business = business_by_shortcode(session, shortcode)
        if business is None:
            _fail(f"no business has shortcode {shortcode}; see 'hesabu business list'")
        assert business is not None
        save_credentials(session, settings.keyring(), business.id or 0, shortcode, env, values, datetime.now(UTC))
    extra = " with an initiator (Transaction Status)" if values.get("initiator_name") else ""
    typer.echo(f"Daraja credentials for {shortcode} ({env}) stored, sealed{extra}.")


@daraja_app.command("show")
def daraja_show(shortcode: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """The credentials, masked, and what was last registered and pulled."""
    settings = Settings()
    engine = make_single_use_engine(settings.database_url)
    with unit_of_work(engine) as session:
        row = credential_row(session, shortcode)
        if row is None:
            _fail(f"no Daraja credentials for {shortcode}; set them with 'hesabu daraja set {shortcode}'")
        assert row is not None
        try:
            masked = open_credentials(settings.keyring(), row).masked()
        except SealError as exc:
            masked = {"error": str(exc)}
    out = {"shortcode": shortcode, "environment": row.environment, "credentials": masked,
           "registered": {"version": row.registered_version, "at": _iso(row.registered_at)},
           "pull_registered_at": _iso(row.pull_registered_at), "last_pull_at": _iso(row.last_pull_at),
           "last_pull": last_pull_of(row)}
    if as_json:
        typer.echo(json.dumps(out))
        return
    typer.echo(f"Daraja {shortcode} ({row.environment})")
    for key, value in masked.items():
        typer.echo(f"  {key:<20} {value or '-'}")
    typer.echo(f"  C2B URLs registered  {row.registered_version or 'no'} {_iso(row.registered_at) or ''}".rstrip())
    typer.echo(f"  Pull registered      {_iso(row.pull_registered_at) or 'no'}")
    typer.echo(f"  last pull            {_iso(row.last_pull_at) or 'never'} {json.dumps(last_pull_of(row))}")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def explain(error: DarajaError, shortcode: str, version: str = "") -> str:
    """Daraja's known failures in plain words, with what to do."""
    if error.failure is Failure.ALREADY_REGISTERED:
        if "duplicate notification" in error.message.casefold():
            return (f"{shortcode}'s URLs are registered on Safaricom's aggregator (Broker) platform; they must be "
                    "deleted there before Hesabu can register its own")
        return (f"{shortcode} already has C2B URLs (another integrator, or an earlier registration). Production "
                "registration is one-time: delete them on the Daraja portal (Self Services > URL Management, two "
                "org-portal approvers) and run this again")
    if error.failure is Failure.PRODUCT_MISMATCH:
        return (f"the Daraja app has neither C2B product this call needs (tried {version or 'both'}): add the "
                "'C2B' (v1) or 'C2B v2' product to the app on the Daraja portal")
    if error.failure is Failure.AUTH:
        return "Daraja refused the consumer key and secret: check them with 'hesabu daraja set'"
    if error.failure is Failure.BAD_REQUEST:
        return (f"Daraja refused a field: {error.message or error.code} (callback URLs must be public, lowercase "
                "and free of forbidden words)")
    if error.failure is Failure.THROTTLED:
        return "Daraja is throttling this app (spike arrest or quota): try again in a minute"
    if error.failure in (Failure.UNAVAILABLE, Failure.IN_DOUBT):
        return f"Daraja could not be reached or did not answer ({error.message}); try again"
    return f"Daraja said no: {error.code} {error.message}".strip()


def _report(result: Registration, what: str) -> None:
    if result.problem is not None:
        _fail(result.problem)
    if result.error is not None:
        _fail(explain(result.error, result.shortcode, "/".join(result.tried)))
    typer.echo(f"{what} for {result.shortcode}{f' ({result.version})' if result.version else ''}:")
    for url in result.urls:
        typer.echo(f"  {url}")


@daraja_app.command("register-urls")
def daraja_register_urls(shortcode: str, version: str = typer.Option("v1", "--version", help="v1 | v2")) -> None:
    """Register the C2B confirmation and validation URLs (ResponseType Completed)."""
    if version not in VERSIONS:
        _fail("--version is v1 or v2")
    settings = Settings()
    engine = make_single_use_engine(settings.database_url)
    result = _run(settings, lambda g: register_urls(engine, g, shortcode, version, datetime.now(UTC)))
    _report(result, "C2B URLs registered (ResponseType Completed)")
    if result.version != version:
        typer.echo(f"note: {version} is not a product of this Daraja app; {result.version} was registered instead")


@daraja_app.command("register-pull")
def daraja_register_pull(shortcode: str, nominated_number: str = typer.Option(..., "--nominated-number")) -> None:
    """Register the shortcode for Pull Transactions (production shortcodes only, per Safaricom)."""
    settings = Settings()
    engine = make_single_use_engine(settings.database_url)
    result = _run(settings, lambda g: register_pull(engine, g, shortcode, nominated_number, datetime.now(UTC)))
    _report(result, "Pull Transactions registered")


@daraja_app.command("pull")
def daraja_pull(shortcode: str, hours: float = typer.Option(3.0, "--hours", help="how far back (at most 48)"),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """Run the Pull reconciliation now (the scheduler runs it hourly): confirmed, recovered, conflicts."""
    settings = Settings()
    engine = make_single_use_engine(settings.database_url)
    report = _run(settings, lambda g: reconcile_pull(engine, g, shortcode, hours, datetime.now(UTC)))
    if report.problem and not report.pages:
        _fail(report.problem)
    matched = _match_recovered(engine) if report.recovered else 0
    if as_json:
        typer.echo(json.dumps({**report.counts(), "matched_now": matched}))
    else:
        typer.echo(f"Pull {shortcode} {report.start} .. {report.end}: {report.rows} rows in {report.pages} pages; "
                   f"{report.confirmed} confirmed, {report.recovered} recovered, {report.conflicts} conflicts"
                   + (f", {report.unreadable} unreadable" if report.unreadable else ""))
    if report.problem:
        _fail(f"stopped early: {report.problem}")


def _match_recovered(engine: Engine) -> int:
    """Match what the pull recovered now (a running server's sweep would too; the claim makes it once)."""
    now = datetime.now(UTC)
    with unit_of_work(engine) as session:
        ids = claim_unprocessed(session, 500, now, min_age=timedelta(0))
    done = 0
    for payment_id in ids:
        with unit_of_work(engine) as session:
            done += process_payment(session, payment_id, now) is not None
    return done


@daraja_app.command("status")
def daraja_status(shortcode: str, receipt: str, as_json: bool = typer.Option(False, "--json"),
                  wait: float = typer.Option(60.0, "--wait", help="seconds to wait for Daraja's result")) -> None:
    """Ask Daraja's Transaction Status about a receipt (needs an initiator) and print the result once it has come
    to the running server's /daraja/{token}/result."""
    settings = Settings()
    engine = make_single_use_engine(settings.database_url)
    asked = _run(settings, lambda g: ask_status(engine, g, shortcode, receipt, "cli", datetime.now(UTC)))
    if asked.problem:
        _fail(asked.problem)
    if asked.error is not None or asked.request_id is None:
        _fail(explain(asked.error, shortcode) if asked.error else "Daraja did not take the request")
    assert asked.request_id is not None
    deadline = time.monotonic() + wait
    while True:
        with unit_of_work(engine) as session:
            answer = status_answer(session, asked.request_id)
        if answer is None or answer.done or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    if answer is None or not answer.done:
        _fail(f"Daraja took the request but its result has not reached {settings.public_url}/daraja/…/result "
              f"within {wait:.0f} s (is the server running and reachable there?)")
    assert answer is not None
    if as_json:
        typer.echo(json.dumps({k: getattr(answer, k) for k in answer.__dataclass_fields__}))
        return
    if answer.result_code != "0":
        typer.echo(f"{answer.receipt}: not confirmed by M-Pesa ({answer.result_code} {answer.description})")
        return
    book = {"confirmed": "matches the book", "differs": "the book has another amount", "unknown": "not on the book",
            "reversed": "reversed on the book now"}.get(answer.on_book, "")
    parts = [f"{answer.receipt}: {answer.status or 'known'}, KES {answer.amount or '?'}",
             f"from {answer.payer}" if answer.payer else "", answer.finalised_at, f"({book})" if book else ""]
    typer.echo(" ".join(p for p in parts if p))


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """Re-seal every stored credential under the current HESABU_SECRET_KEY (old keys in
    HESABU_PREVIOUS_SECRET_KEYS open them); afterwards the previous keys can be dropped."""
    settings = Settings()
    if settings.secret_key_generated:
        _fail("set HESABU_SECRET_KEY (the new key) and HESABU_PREVIOUS_SECRET_KEYS (the old ones) first")
    engine = make_single_use_engine(settings.database_url)
    with unit_of_work(engine) as session:
        done, unreadable = reseal_all(session, settings.keyring(), datetime.now(UTC))
    typer.echo(f"{done} credentials re-sealed under the current key")
    if unreadable:
        _fail(f"no key opens the credentials of {', '.join(unreadable)}: add the key that sealed them to "
              "HESABU_PREVIOUS_SECRET_KEYS, or set them again")
