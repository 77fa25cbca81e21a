"""`hesabu telegram set-webhook`."""

from __future__ import annotations

import asyncio

import typer

from webhooks.cli.common import fail, read_settings
from webhooks.services import telegram_token, telegram_webhook_secret

telegram_app = typer.Typer(help="The Telegram bot.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(telegram_app, name="telegram")


@telegram_app.command("set-webhook")
def telegram_set_webhook() -> None:
    """Point Telegram at HESABU_PUBLIC_URL/telegram with HESABU_TELEGRAM_WEBHOOK_SECRET (messages and buttons)."""
    from telegram.error import TelegramError

    from bot.channels.telegram.runtime import set_webhook

    settings = read_settings()
    token, secret = telegram_token(settings), telegram_webhook_secret(settings)
    if token is None:
        fail("HESABU_TELEGRAM_TOKEN is not set")
    if secret is None:
        fail("HESABU_TELEGRAM_WEBHOOK_SECRET is not set (without it the bot uses long polling)")
    assert token is not None and secret is not None
    url = settings.public_url.rstrip("/") + "/telegram"
    try:
        result = asyncio.run(set_webhook(token, settings.telegram_api_url, url, secret))
    except TelegramError as exc:
        fail(f"Telegram refused: {type(exc).__name__}: {exc.message}")
    typer.echo(f"webhook set: {result['url']} (pending updates: {result['pending_update_count']})")
