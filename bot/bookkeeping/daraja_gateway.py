"""What the Daraja services need besides the book: one client per Daraja base URL (sharing its token cache),
the keyring that opens stored credentials, and the public URLs Daraja calls back on. Built once at the
composition root (webhooks) and handed to every service that talks to Daraja."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bot.mpesa.daraja import PRODUCTION_URL, SANDBOX_URL, DarajaApp, DarajaClient
from bot.storage.businesses import business_by_shortcode
from bot.storage.daraja import DarajaCredentials, credentials_for
from bot.storage.db import Engine, unit_of_work
from bot.storage.sealing import Keyring, SealError

# Safaricom refuses callback URLs containing these, in any case (reference §2.2)
FORBIDDEN_IN_URL = re.compile(r"m-?pesa|safaricom|exe|exec|cmd|sql|query", re.IGNORECASE)


def callback_urls(public_url: str, token: str) -> dict[str, str]:
    base = public_url.rstrip("/")
    return {"validation": f"{base}/c2b/{token}/validation", "confirmation": f"{base}/c2b/{token}/confirmation",
            "stk_callback": f"{base}/stk/{token}/callback", "result": f"{base}/daraja/{token}/result"}


def url_problem(url: str, production: bool) -> str | None:
    """Why Daraja would refuse this callback URL, in words; None when it looks acceptable."""
    parts = urlsplit(url)
    if production and parts.scheme != "https":
        return f"production callback URLs must be https, and {url} is not (set HESABU_PUBLIC_URL)"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{url} is not an absolute http(s) URL (set HESABU_PUBLIC_URL)"
    word = FORBIDDEN_IN_URL.search(url)
    if word is not None:
        return f"Safaricom refuses callback URLs containing {word.group(0)!r}: {url}"
    if url != url.lower():
        return f"keep callback URLs lowercase (uppercase has been seen refused): {url}"
    return None


@dataclass
class DarajaGateway:
    keyring: Keyring
    public_url: str
    daraja_url: str = SANDBOX_URL  # HESABU_DARAJA_URL; anything but the sandbox default overrides every shortcode
    clients: dict[str, DarajaClient] = field(default_factory=dict)

    def base_url(self, credentials: DarajaCredentials) -> str:
        if self.daraja_url.rstrip("/") != SANDBOX_URL:
            return self.daraja_url
        return PRODUCTION_URL if credentials.environment == "production" else SANDBOX_URL

    def client(self, credentials: DarajaCredentials) -> DarajaClient:
        url = self.base_url(credentials)
        if url not in self.clients:
            self.clients[url] = DarajaClient(url)
        return self.clients[url]

    @staticmethod
    def app(credentials: DarajaCredentials) -> DarajaApp:
        return DarajaApp(credentials.consumer_key, credentials.consumer_secret)

    def urls(self, token: str) -> dict[str, str]:
        return callback_urls(self.public_url, token)

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()
        self.clients.clear()


@dataclass(frozen=True, slots=True)
class DarajaTarget:
    """A business Hesabu may call Daraja for: its id, its callback token and its opened credentials."""

    business_id: int
    token: str
    credentials: DarajaCredentials


def daraja_target(engine: Engine, gateway: DarajaGateway, shortcode: str) -> DarajaTarget | str:
    """The business of a shortcode with its credentials opened, or why not in words."""
    with unit_of_work(engine) as session:
        business = business_by_shortcode(session, shortcode)
        if business is None:
            return f"no business has shortcode {shortcode}"
        try:
            credentials = credentials_for(session, gateway.keyring, shortcode)
        except SealError as exc:
            return f"the stored Daraja credentials of {shortcode} do not open: {exc}"
        if credentials is None:
            return f"no Daraja credentials for {shortcode}: run 'hesabu daraja set {shortcode}' first"
        return DarajaTarget(business.id or 0, business.callback_token, credentials)
