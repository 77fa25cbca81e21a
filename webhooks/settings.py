"""One typed settings object, read once at the composition root and passed down."""

from __future__ import annotations

import ipaddress
import secrets
from functools import cached_property
from typing import Annotated, Literal

from pydantic import PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.storage.sealing import Keyring

_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "dev", "development", "hesabu"}
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _cidrs(value: object) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return list(value)  # type: ignore[call-overload]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HESABU_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///./hesabu.db"
    public_url: str = "http://127.0.0.1:8000"
    secret_key: SecretStr = SecretStr("")
    # keys HESABU_SECRET_KEY had before: stored credentials sealed with them still open until `hesabu secrets rotate`
    previous_secret_keys: Annotated[list[SecretStr], NoDecode] = []
    timezone: str = "Africa/Nairobi"
    telegram_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org/bot"
    # Redis for the flood limits every process shares (one bot); unset: each process limits only itself
    redis_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_url: str = "https://api.twilio.com"
    # approved WhatsApp templates by message kind, for messages started outside the 24-hour window (JSON)
    twilio_templates: dict[str, str] = {}
    daraja_url: str = "https://sandbox.safaricom.co.ke"
    trusted_proxies: Annotated[list[str], NoDecode] = []
    callback_allow: Annotated[list[str], NoDecode] = []
    web_chat: bool | None = None
    spool_dir: str = "./spool"
    max_callback_bytes: int = 64 * 1024
    _secret_key_generated: bool = PrivateAttr(default=False)

    @field_validator("previous_secret_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> list[str]:
        return _cidrs(value)  # comma-separated, like the CIDR lists

    @field_validator("trusted_proxies", "callback_allow", mode="before")
    @classmethod
    def _split_cidrs(cls, value: object) -> list[str]:
        cidrs = _cidrs(value)
        for cidr in cidrs:
            ipaddress.ip_network(cidr, strict=False)  # raises a clear error for a typo
        return cidrs

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env == "production":
            if self.secret_key.get_secret_value().strip().lower() in _PLACEHOLDERS:
                raise ValueError("HESABU_SECRET_KEY must be set to a real secret in production")
            if len(self.secret_key.get_secret_value()) < 32:
                raise ValueError("HESABU_SECRET_KEY must be at least 32 characters in production")
        elif not self.secret_key.get_secret_value():
            # development: a fresh random key per process is safe (nothing signed must survive a restart)
            self.secret_key = SecretStr(secrets.token_hex(32))
            self._secret_key_generated = True
        return self

    @property
    def secret_key_generated(self) -> bool:
        """True when no HESABU_SECRET_KEY was given (development): anything sealed with it dies with the process."""
        return self._secret_key_generated

    def keyring(self) -> Keyring:
        return Keyring(self.secret_key.get_secret_value(),
                       tuple(k.get_secret_value() for k in self.previous_secret_keys))

    @property
    def web_chat_enabled(self) -> bool:
        return self.web_chat if self.web_chat is not None else self.env == "development"

    @cached_property
    def trusted_proxy_networks(self) -> list[IpNetwork]:
        return [ipaddress.ip_network(c, strict=False) for c in self.trusted_proxies]

    @cached_property
    def callback_allow_networks(self) -> list[IpNetwork]:
        return [ipaddress.ip_network(c, strict=False) for c in self.callback_allow]
