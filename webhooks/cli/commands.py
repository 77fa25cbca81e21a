"""Every command group on one Typer app: one line per group (each module's `register`)."""

from __future__ import annotations

import typer

from webhooks.cli.business import register as register_business
from webhooks.cli.chat import register as register_chat
from webhooks.cli.customers import register as register_customers
from webhooks.cli.daraja import register as register_daraja
from webhooks.cli.doctor import register as register_doctor
from webhooks.cli.export import register as register_export
from webhooks.cli.imports import register as register_import
from webhooks.cli.match import register as register_match
from webhooks.cli.serve import register as register_serve
from webhooks.cli.simulate import register as register_simulate
from webhooks.cli.sms import register as register_sms
from webhooks.cli.telegram import register as register_telegram

app = typer.Typer(help="Hesabu: M-Pesa bookkeeping in the owner's chat.", no_args_is_help=True,
                  add_completion=False)
register_serve(app)
register_business(app)
register_simulate(app)
register_export(app)
register_match(app)
register_customers(app)
register_telegram(app)
register_daraja(app)
register_chat(app)
register_import(app)
register_sms(app)
register_doctor(app)
