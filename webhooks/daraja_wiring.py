"""The one DarajaGateway a process uses (its clients share their token caches), built from the settings."""

from __future__ import annotations

from bot.bookkeeping.daraja_gateway import DarajaGateway
from webhooks.settings import Settings


def daraja_gateway(settings: Settings) -> DarajaGateway:
    return DarajaGateway(settings.keyring(), settings.public_url, settings.daraja_url)
