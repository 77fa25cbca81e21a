"""`hesabu simulate c2b`: a realistic C2B confirmation posted to a running server."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import typer

from bot.storage.db import make_single_use_engine, unit_of_work
from webhooks.cli.common import business_or_exit, fail, read_settings
from webhooks.dev.simulator import c2b_body
from webhooks.urls import callback_url

simulate_app = typer.Typer(help="Post realistic Daraja callbacks to a running server.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(simulate_app, name="simulate")


@simulate_app.command("c2b")
def simulate_c2b(shortcode: str, amount: str = typer.Option(..., "--amount"), ref: str = "",
                 phone: str = "0708374149", name: str = "John Doe", url: str = typer.Option(None, "--url")) -> None:
    """Post a realistic C2B confirmation to a running server."""
    settings = read_settings()
    engine = make_single_use_engine(settings.database_url)
    with unit_of_work(engine) as session:
        token = business_or_exit(session, shortcode).callback_token
    body = c2b_body(shortcode, amount, ref, phone, name, datetime.now(UTC))
    target = callback_url(url or settings.public_url, token, "c2b_confirmation")
    try:
        response = httpx.post(target, json=body, timeout=10)
    except httpx.HTTPError as exc:
        fail(f"could not reach {url or settings.public_url}: {exc}")
    typer.echo(f"{body['TransID']}: HTTP {response.status_code} {response.text}")
    if response.status_code != 200:
        raise typer.Exit(code=1)
