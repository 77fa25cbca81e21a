"""`hesabu sms url SHORTCODE`: the address an SMS-forwarding app on the owner's phone posts M-PESA messages to, and
the signing key for apps that sign. Registered by `register(app)` (one line in webhooks.cli.commands)."""

from __future__ import annotations

import typer

from bot.storage.db import make_single_use_engine, unit_of_work
from bot.storage.forwarding import set_up_forwarding
from webhooks.cli.common import business_or_exit, read_settings

sms_app = typer.Typer(help="Forwarded M-PESA SMS from the owner's phone.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(sms_app, name="sms")


@sms_app.command("url")
def sms_url(shortcode: str, require_signature: bool = typer.Option(
        None, "--require-signature/--allow-unsigned", help="refuse posts without a valid X-Signature"),
        new_key: bool = typer.Option(False, "--new-key", help="make a new signing key")) -> None:
    """The address to give an SMS-forwarding app, and the signing key for apps that sign (SMS Gateway for Android)."""
    settings = read_settings()
    engine = make_single_use_engine(settings.database_url)
    try:
        with unit_of_work(engine) as session:
            business = business_or_exit(session, shortcode)
            forwarding = set_up_forwarding(session, business, require_signature=require_signature, new_key=new_key)
            token = business.callback_token
    finally:
        engine.dispose()
    typer.echo(f"url: {settings.public_url.rstrip('/')}/sms/{token}")
    typer.echo(f"signing key: {forwarding.signing_key}")
    typer.echo(f"unsigned posts: {'refused' if forwarding.require_signature else 'accepted (the URL is the secret)'}")
    typer.echo("forward only messages from MPESA; other senders are ignored and never stored")
