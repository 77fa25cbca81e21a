"""`hesabu doctor`: checks the settings, the database, the migrations, the Telegram webhook and the spool, and
says in words what is wrong and what to do. Exit code 1 when anything is."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import typer
from pydantic import ValidationError

from bot.storage.db import database_reachable, make_single_use_engine
from bot.storage.migrate import migration_state
from webhooks.intake.spool import Spool
from webhooks.settings import Settings


def register(app: typer.Typer) -> None:
    app.command()(doctor)


def doctor() -> None:
    """Check settings, database, migrations, webhook registration and the spool."""
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(str(e.get("msg", "")).removeprefix("Value error, ") for e in exc.errors())
        _report([("settings", f"refused: {problems}")])
        return
    checks = [("settings", None)]
    checks.append(("database", _database(settings)))
    if checks[-1][1] is None:
        checks.append(("migrations", _migrations(settings)))
    checks.append(("telegram webhook", _webhook(settings)))
    checks.append(("spool", _spool(settings)))
    _report(checks)


def _report(checks: list[tuple[str, str | None]]) -> None:
    for name, problem in checks:
        typer.echo(f"{name}: {'ok' if problem is None else problem}")
    if any(problem is not None for _, problem in checks):
        raise typer.Exit(code=1)


def _database(settings: Settings) -> str | None:
    engine = make_single_use_engine(settings.database_url)
    try:
        if database_reachable(engine):
            return None
    finally:
        engine.dispose()
    return "cannot connect with HESABU_DATABASE_URL; is the server up and the URL right?"


def _migrations(settings: Settings) -> str | None:
    current, heads = migration_state(settings.database_url)
    if current in heads:
        return None
    if current is None:
        return "the database has no schema yet: run `hesabu migrate`"
    return f"the schema is at {current}, this version needs {', '.join(sorted(heads))}: run `hesabu migrate`"


def _webhook(settings: Settings) -> str | None:
    token = settings.telegram_token.get_secret_value().strip() if settings.telegram_token else ""
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
    if not token or not secret:
        return None  # Telegram off, or polling: no webhook to register
    wanted = f"{settings.public_url.rstrip('/')}/telegram"
    try:
        answer = httpx.get(f"{settings.telegram_api_url}{token}/getWebhookInfo", timeout=10).json()
    except (httpx.HTTPError, ValueError):
        return "cannot ask Telegram for the webhook (HESABU_TELEGRAM_API_URL unreachable?)"
    if not answer.get("ok"):
        return f"Telegram refused the token: {answer.get('description', 'no reason given')}"
    registered = answer.get("result", {}).get("url", "")
    if registered != wanted:
        shown = registered or "nothing"
        return f"Telegram posts to {shown}, not {wanted}: run `hesabu telegram set-webhook`"
    return None


def _spool(settings: Settings) -> str | None:
    directory = Path(settings.spool_dir)
    if directory.exists() and not os.access(directory, os.W_OK):
        return f"{directory} is not writable: callbacks could not be spooled when the database is away"
    if not directory.exists():
        return None
    waiting = Spool(directory).depth()
    if waiting:
        return (f"{waiting} callbacks wait in {directory} for the database; a running server replays them every "
                "few seconds (is one running against this database?)")
    return None
