"""The `hesabu` command line (names fixed by the contract)."""

from __future__ import annotations

import csv
import json
import random
import string
import sys
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import typer

from bot.bookkeeping import exports
from bot.bookkeeping.invoices import import_customers
from bot.bookkeeping.replay import ReplayError, replay_scenario
from bot.ledger.phones import normalise_phone, phone_sha256
from bot.storage.businesses import (
    ShortcodeTaken,
    business_by_shortcode,
    create_business,
    list_businesses,
    new_link_code,
    shortcodes_of,
)
from bot.storage.db import make_single_use_engine, unit_of_work
from bot.storage.migrate import upgrade
from bot.storage.tables import BusinessRow
from webhooks import cli_daraja
from webhooks.chat_cli import chat_app
from webhooks.daraja import build_record
from webhooks.settings import Settings

app = typer.Typer(help="Hesabu: M-Pesa bookkeeping in the owner's chat.", no_args_is_help=True,
                  add_completion=False)
business_app = typer.Typer(help="Businesses served by this deployment.", no_args_is_help=True)
simulate_app = typer.Typer(help="Post realistic Daraja callbacks to a running server.", no_args_is_help=True)
export_app = typer.Typer(help="Exports for the accountant.", no_args_is_help=True)
app.add_typer(business_app, name="business")
app.add_typer(simulate_app, name="simulate")
app.add_typer(export_app, name="export")
match_app = typer.Typer(help="The matching engine, on labelled scenarios.", no_args_is_help=True)
customers_app = typer.Typer(help="A business's customers.", no_args_is_help=True)
app.add_typer(match_app, name="match")
app.add_typer(customers_app, name="customers")
telegram_app = typer.Typer(help="The Telegram bot.", no_args_is_help=True)
app.add_typer(telegram_app, name="telegram")
cli_daraja.register(app)
app.add_typer(chat_app, name="chat")


def _settings() -> Settings:
    return Settings()


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=1)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the HTTP server, the chat channels and the scheduler."""
    import os

    import uvicorn

    from webhooks.app import create_app

    # The callback writer thread hands each batch to the database in C and then needs the GIL back; with
    # the default 5 ms switch interval it waits behind the event loop, which showed as commit latency.
    sys.setswitchinterval(float(os.environ.get("HESABU_SWITCH_INTERVAL", "0.0005")))

    uvicorn.run(create_app(_settings()), host=host, port=port, log_level="warning", access_log=False)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    upgrade(_settings().database_url)
    typer.echo("database is up to date")


def callback_urls(public_url: str, token: str) -> dict[str, str]:
    base = public_url.rstrip("/")
    return {"validation": f"{base}/c2b/{token}/validation", "confirmation": f"{base}/c2b/{token}/confirmation",
            "stk_callback": f"{base}/stk/{token}/callback"}


@business_app.command("add")
def business_add(name: str, shortcode: str = typer.Option(..., "--shortcode"), till: bool = False,
                 timezone: str = typer.Option(None, "--timezone"),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Create a business; print its callback URLs and an owner link code."""
    settings = _settings()
    if not shortcode.isdigit() or not 5 <= len(shortcode) <= 7:
        _fail("the shortcode is the 5-7 digit paybill or till number, e.g. 600984")
    tz = timezone or settings.timezone
    try:
        ZoneInfo(tz)
    except Exception:  # noqa: BLE001
        _fail(f"unknown timezone {tz!r}; use an IANA name such as Africa/Nairobi")
    engine = make_single_use_engine(settings.database_url)
    try:
        with unit_of_work(engine) as session:
            business = create_business(session, name, shortcode, till=till, timezone=tz)
            code = new_link_code(session, business.id or 0, "owner", datetime.now(UTC))
    except ShortcodeTaken as exc:
        _fail(str(exc))
    urls = callback_urls(settings.public_url, business.callback_token)
    out = {"id": business.id, "name": name, "shortcode": shortcode, "token": business.callback_token,
           "link_code": code, "urls": urls}
    if as_json:
        typer.echo(json.dumps(out))
        return
    typer.echo(f"Business {name} (#{business.id}), {'till' if till else 'paybill'} {shortcode}")
    for label, url in urls.items():
        typer.echo(f"  {label:<13} {url}")
    typer.echo(f"Owner link code (valid 24 h): {code}  -> send '/start {code}' to the bot")


@business_app.command("list")
def business_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """The businesses."""
    engine = make_single_use_engine(_settings().database_url)
    with unit_of_work(engine) as session:
        rows = [(b, shortcodes_of(session, b.id or 0)) for b in list_businesses(session)]
    if as_json:
        typer.echo(json.dumps([{"id": b.id, "name": b.name, "kind": b.kind, "timezone": b.timezone,
                                "shortcodes": codes} for b, codes in rows]))
        return
    for b, codes in rows:
        typer.echo(f"#{b.id}  {b.name}  {b.kind} {','.join(codes)}  {b.timezone}")


def _business(session: object, shortcode: str) -> BusinessRow:
    business = business_by_shortcode(session, shortcode)  # type: ignore[arg-type]
    if business is None:
        _fail(f"no business has shortcode {shortcode}; see 'hesabu business list'")
    assert business is not None
    return business


@app.command("link-code")
def link_code(shortcode: str, role: str = typer.Option("owner", "--role")) -> None:
    """A new one-time code that links a chat to the business."""
    if role not in ("owner", "staff"):
        _fail("--role is owner or staff")
    engine = make_single_use_engine(_settings().database_url)
    with unit_of_work(engine) as session:
        business = _business(session, shortcode)
        code = new_link_code(session, business.id or 0, role, datetime.now(UTC))
    typer.echo(f"{code}  ({role} of {business.name}, valid 24 h): send '/start {code}' on Telegram "
               f"or 'start {code}' on WhatsApp")
    settings = _settings()
    username = _telegram_username(settings)
    if username:
        typer.echo(f"  Telegram: https://t.me/{username}?start={code}")
    if settings.twilio_whatsapp_from:
        number = "".join(ch for ch in settings.twilio_whatsapp_from if ch.isdigit())
        typer.echo(f"  WhatsApp: https://wa.me/{number}?text=start%20{code}")
    if settings.web_chat_enabled:
        typer.echo(f"  chat page: {settings.public_url.rstrip('/')}/chat/login/{code}")


def _telegram_username(settings: Settings) -> str | None:
    """The bot's username for the t.me deep link, when a token is set and Telegram answers quickly."""
    if settings.telegram_token is None:
        return None
    url = f"{settings.telegram_api_url}{settings.telegram_token.get_secret_value()}/getMe"
    try:
        answer = httpx.get(url, timeout=3).json()
    except (httpx.HTTPError, ValueError):
        return None
    username = answer.get("result", {}).get("username") if isinstance(answer, dict) else None
    return username if isinstance(username, str) else None


def c2b_body(shortcode: str, amount: str, ref: str, phone: str, name: str, now: datetime) -> dict[str, str]:
    """A C2B v1 confirmation as Daraja sends it today: strings everywhere, the phone hashed."""
    canonical = normalise_phone(phone) or "254708374149"
    names = (name.split() + ["", "", ""])[:3]
    trans_id = "".join(random.choices(string.ascii_uppercase + string.digits, k=10))  # noqa: S311
    local = now.astimezone(ZoneInfo("Africa/Nairobi"))
    return {
        "TransactionType": "Pay Bill" if ref else "Buy Goods", "TransID": trans_id,
        "TransTime": local.strftime("%Y%m%d%H%M%S"), "TransAmount": amount, "BusinessShortCode": shortcode,
        "BillRefNumber": ref, "InvoiceNumber": "", "OrgAccountBalance": "", "ThirdPartyTransID": "",
        "MSISDN": phone_sha256(canonical), "FirstName": names[0].upper(), "MiddleName": names[1].upper(),
        "LastName": names[2].upper(),
    }


@simulate_app.command("c2b")
def simulate_c2b(shortcode: str, amount: str = typer.Option(..., "--amount"), ref: str = "",
                 phone: str = "0708374149", name: str = "John Doe", url: str = typer.Option(None, "--url")) -> None:
    """Post a realistic C2B confirmation to a running server."""
    settings = _settings()
    engine = make_single_use_engine(settings.database_url)
    with unit_of_work(engine) as session:
        token = _business(session, shortcode).callback_token
    body = c2b_body(shortcode, amount, ref, phone, name, datetime.now(UTC))
    target = f"{(url or settings.public_url).rstrip('/')}/c2b/{token}/confirmation"
    try:
        response = httpx.post(target, json=body, timeout=10)
    except httpx.HTTPError as exc:
        _fail(f"could not reach {url or settings.public_url}: {exc}")
    typer.echo(f"{body['TransID']}: HTTP {response.status_code} {response.text}")
    if response.status_code != 200:
        raise typer.Exit(code=1)


def _day(text: str | None, tz: ZoneInfo) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time.min, tzinfo=tz)
    except ValueError:
        _fail(f"dates are YYYY-MM-DD, got {text!r}")
    return None


@export_app.command("payments")
def export_payments(shortcode: str, date_from: str = typer.Option(None, "--from"),
                    date_to: str = typer.Option(None, "--to", help="inclusive day"),
                    fmt: str = typer.Option(..., "--format", help="csv | json | xlsx | quickbooks | xero"),
                    output: Path = typer.Option(None, "-o")) -> None:
    """Every stored payment with its match state (quickbooks, xero: their bank-statement CSV layouts)."""
    if fmt not in exports.FORMATS:
        _fail("--format is csv, json, xlsx, quickbooks or xero")
    if fmt == "xlsx" and output is None and sys.stdout.isatty():
        _fail("xlsx is a binary file: give -o FILE.xlsx (or redirect the output)")
    engine = make_single_use_engine(_settings().database_url)
    with unit_of_work(engine) as session:
        business = _business(session, shortcode)
        tz = ZoneInfo(business.timezone)
        end = _day(date_to, tz)
        until = end + timedelta(days=1) if end else None
        records = exports.payment_records(session, business.id or 0, shortcode, tz, _day(date_from, tz), until)
    content = exports.render(records, fmt)
    if output is None:
        if isinstance(content, bytes):
            sys.stdout.buffer.write(content)
        else:
            sys.stdout.write(content)
        return
    if isinstance(content, bytes):
        output.write_bytes(content)
    else:
        output.write_text(content, encoding="utf-8")
    typer.echo(f"{len(records)} payments written to {output}", err=True)


@app.command()
def summary(shortcode: str, day: str = typer.Option(None, "--date", help="YYYY-MM-DD; default today"),
            send: bool = typer.Option(False, "--send", help="also deliver it to the business's chats")) -> None:
    """Print that day's summary; --send also queues it for the business's linked chats."""
    from bot.assistant.summaries import SUMMARY_DAILY, summary_reply
    from bot.ledger.summaries import Period
    from bot.storage.settlements import queue_message

    engine = make_single_use_engine(_settings().database_url)
    now = datetime.now(UTC)
    with unit_of_work(engine) as session:
        business = _business(session, shortcode)
        today = now.astimezone(ZoneInfo(business.timezone)).date()
        chosen = _day(day, ZoneInfo(business.timezone))
        the_day = chosen.date() if chosen else today
        reply = summary_reply(session, business, Period.day(the_day), today, chart=False)
        if send:  # an explicit request: its own dedupe key, so it is sent even when the 20:00 one was
            queue_message(session, business.id or 0, SUMMARY_DAILY, f"summary.manual:{business.id}:{now.isoformat()}",
                          {"day": the_day.isoformat()}, now)
    typer.echo(reply.text)
    if send:
        typer.echo("queued for the business's chats", err=True)


def replay_file(path: Path, database_url: str | None = None) -> list[dict[str, object]]:
    """Replay a scenario and return its decision lines. Without a URL it runs on a throw-away SQLite file
    (synchronous=OFF: nothing in it outlives the command), so it needs no server and no setup."""
    scenario = json.loads(path.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="hesabu-replay-") as scratch:
        url = database_url or f"sqlite:///{Path(scratch) / 'replay.db'}"
        upgrade(url)
        engine = make_single_use_engine(url)
        if url.startswith("sqlite"):
            from sqlalchemy import event

            event.listen(engine, "connect", lambda conn, _r: conn.execute("PRAGMA synchronous=OFF"))
        try:
            return list(replay_scenario(engine, scenario, build_record))
        finally:
            engine.dispose()


@match_app.command("replay")
def match_replay(scenario: Path, database_url: str = typer.Option(None, "--database-url",
                                                                   help="default: a temporary SQLite file")) -> None:
    """Replay a matching scenario; print one decision per payment as JSON Lines."""
    try:
        lines = replay_file(scenario, database_url)
    except (OSError, ValueError, KeyError, ReplayError) as exc:
        _fail(f"cannot replay {scenario}: {exc}")
    for line in lines:
        sys.stdout.write(json.dumps(line) + "\n")


@customers_app.command("import")
def customers_import(shortcode: str, file: Path) -> None:
    """Add customers from a CSV with columns name,phone,account (phone and account optional)."""
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        _fail(f"cannot read {file}: {exc}")
    if rows and "name" not in rows[0]:
        _fail("the first line must name the columns: name,phone,account")
    engine = make_single_use_engine(_settings().database_url)
    with unit_of_work(engine) as session:
        business = _business(session, shortcode)
        result = import_customers(session, business.id or 0, rows)
    for problem in result.problems:
        typer.echo(f"skipped {problem}", err=True)
    typer.echo(f"{result.added} customers imported into {business.name}")


@telegram_app.command("set-webhook")
def telegram_set_webhook() -> None:
    """Point Telegram at HESABU_PUBLIC_URL/telegram with HESABU_TELEGRAM_WEBHOOK_SECRET (messages and buttons)."""
    import asyncio

    from telegram.error import TelegramError

    from webhooks.telegram import set_webhook

    try:
        result = asyncio.run(set_webhook(_settings()))
    except ValueError as exc:
        _fail(str(exc))
    except TelegramError as exc:
        _fail(f"Telegram refused: {type(exc).__name__}: {exc.message}")
    typer.echo(f"webhook set: {result['url']} (pending updates: {result['pending_update_count']})")


def main() -> None:
    app()


