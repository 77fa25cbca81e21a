"""`hesabu serve` and `hesabu migrate`."""

from __future__ import annotations

import os
import sys

import typer

from bot.storage.migrate import upgrade
from webhooks.cli.common import read_settings


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(migrate)


def serve(host: str = "127.0.0.1", port: int = 8000,
          role: str = typer.Option("all", "--role", help="web: HTTP and callback storage; worker: matching, "
                                   "outbox, scheduler, reconciliation; all: both")) -> None:
    """Run the HTTP server, the chat channels and the scheduler (or one role of them)."""
    import uvicorn

    from webhooks.app import create_app
    from webhooks.services import ROLES

    if role not in ROLES:
        raise typer.BadParameter(f"one of {', '.join(ROLES)}", param_hint="--role")

    # The callback writer thread hands each batch to the database in C and then needs the GIL back; with
    # the default 5 ms switch interval it waits behind the event loop, which showed as commit latency.
    sys.setswitchinterval(float(os.environ.get("HESABU_SWITCH_INTERVAL", "0.0005")))

    uvicorn.run(create_app(read_settings(), role), host=host, port=port, log_level="warning", access_log=False,
                **SERVER_OPTIONS)


# uvicorn believes X-Forwarded-For from 127.0.0.1 by default (proxy_headers), so a spoofed header from any
# local process passed HESABU_CALLBACK_ALLOW; only HESABU_TRUSTED_PROXIES decides who may forward (webhooks.deps)
SERVER_OPTIONS: dict[str, object] = {"proxy_headers": False, "forwarded_allow_ips": ""}


def migrate() -> None:
    """Bring the database schema up to date."""
    upgrade(read_settings().database_url)
    typer.echo("database is up to date")
