"""`hesabu business add|list` and `hesabu link-code`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import typer

from bot.storage.businesses import ShortcodeTaken, create_business, list_businesses, new_link_code, shortcodes_of
from bot.storage.db import make_single_use_engine, unit_of_work
from webhooks.cli.common import business_or_exit, fail, read_settings
from webhooks.settings import Settings
from webhooks.urls import callback_urls

business_app = typer.Typer(help="Businesses served by this deployment.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(business_app, name="business")
    app.command("link-code")(link_code)


@business_app.command("add")
def business_add(name: str, shortcode: str = typer.Option(..., "--shortcode"), till: bool = False,
                 timezone: str = typer.Option(None, "--timezone"),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Create a business; print its callback URLs and an owner link code."""
    settings = read_settings()
    if not shortcode.isdigit() or not 5 <= len(shortcode) <= 7:
        fail("the shortcode is the 5-7 digit paybill or till number, e.g. 600984")
    tz = timezone or settings.timezone
    try:
        ZoneInfo(tz)
    except Exception:  # noqa: BLE001
        fail(f"unknown timezone {tz!r}; use an IANA name such as Africa/Nairobi")
    engine = make_single_use_engine(settings.database_url)
    try:
        with unit_of_work(engine) as session:
            business = create_business(session, name, shortcode, till=till, timezone=tz)
            code = new_link_code(session, business.id or 0, "owner", datetime.now(UTC))
    except ShortcodeTaken as exc:
        fail(str(exc))
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
    engine = make_single_use_engine(read_settings().database_url)
    with unit_of_work(engine) as session:
        rows = [(b, shortcodes_of(session, b.id or 0)) for b in list_businesses(session)]
    if as_json:
        typer.echo(json.dumps([{"id": b.id, "name": b.name, "kind": b.kind, "timezone": b.timezone,
                                "shortcodes": codes} for b, codes in rows]))
        return
    for b, codes in rows:
        typer.echo(f"#{b.id}  {b.name}  {b.kind} {','.join(codes)}  {b.timezone}")


def link_code(shortcode: str, role: str = typer.Option("owner", "--role")) -> None:
    """A new one-time code that links a chat to the business."""
    if role not in ("owner", "staff"):
        fail("--role is owner or staff")
    engine = make_single_use_engine(read_settings().database_url)
    with unit_of_work(engine) as session:
        business = business_or_exit(session, shortcode)
        code = new_link_code(session, business.id or 0, role, datetime.now(UTC))
    typer.echo(f"{code}  ({role} of {business.name}, valid 24 h): send '/start {code}' on Telegram "
               f"or 'start {code}' on WhatsApp")
    settings = read_settings()
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
