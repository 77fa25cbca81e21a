"""The `hesabu` command line of the foundation: business add|list, link-code, simulate c2b, settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from bot.storage.db import make_engine
from tests.fakes.telegram_api import FakeTelegramApi
from tests.support import payments
from tests.webhooks.test_nothing_lost import _free_port
from webhooks.cli import app
from webhooks.settings import Settings

FORBIDDEN = ("mpesa", "safaricom", "exe", "exec", "cmd", "sql", "query")


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_business_add_json_list_and_link_codes(db_url, monkeypatch):
    monkeypatch.setenv("HESABU_DATABASE_URL", db_url)
    monkeypatch.setenv("HESABU_PUBLIC_URL", "https://pay.example.co.ke")
    monkeypatch.setenv("HESABU_TWILIO_WHATSAPP_FROM", "whatsapp:+14155238886")
    added = json.loads(run("business", "add", "Mama Mboga", "--shortcode", "600984", "--json"))
    assert set(added) == {"id", "name", "shortcode", "token", "link_code", "urls"}
    assert added["urls"]["confirmation"] == f"https://pay.example.co.ke/c2b/{added['token']}/confirmation"
    for url in added["urls"].values():  # Safaricom refuses these words, and uppercase, in callback URLs
        assert url == url.lower() and not any(word in url for word in FORBIDDEN)
    listed = json.loads(run("business", "list", "--json"))
    assert [(b["name"], b["shortcodes"]) for b in listed] == [("Mama Mboga", ["600984"])]
    out = run("link-code", "600984", "--role", "staff")
    code = out.split()[0]
    assert f"https://wa.me/14155238886?text=start%20{code}" in out and "staff of Mama Mboga" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [(["business", "add", "X", "--shortcode", "12"], "5-7 digit"),
     (["business", "add", "X", "--shortcode", "600984", "--timezone", "Mars/Olympus"], "unknown timezone"),
     (["link-code", "999999"], "no business has shortcode"),
     (["export", "payments", "999999", "--format", "csv"], "no business has shortcode")],
)
def test_bad_input_gets_a_clear_error(db_url, monkeypatch, args, message):
    monkeypatch.setenv("HESABU_DATABASE_URL", db_url)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and message in result.output


def test_production_refuses_an_empty_or_placeholder_secret():
    for key in ("", "changeme", "short-but-not-placeholder"):
        with pytest.raises(ValidationError):
            Settings(env="production", secret_key=key)
    assert Settings(env="production", secret_key="x" * 40).secret_key.get_secret_value() == "x" * 40


def test_simulate_posts_a_real_confirmation_to_a_running_server(db_url, monkeypatch, tmp_path):
    monkeypatch.setenv("HESABU_DATABASE_URL", db_url)
    added = json.loads(run("business", "add", "Duka", "--shortcode", "600985", "--json"))
    port = _free_port()
    env = {**os.environ, "HESABU_DATABASE_URL": db_url, "HESABU_SPOOL_DIR": str(tmp_path / "spool"),
           "HESABU_WEB_CHAT": "false"}
    server = subprocess.Popen([sys.executable, "-m", "webhooks", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        out = run("simulate", "c2b", "600985", "--amount", "1500", "--ref", "INV-0001", "--phone", "0712345678",
                  "--name", "Mary Wanjiku", "--url", f"http://127.0.0.1:{port}")
        assert "HTTP 200" in out
    finally:
        server.terminate()
        server.wait(timeout=15)
    engine = make_engine(db_url)
    [payment] = payments(engine, added["id"])
    assert payment.reference == "INV-0001" and f"{payment.amount}" == "1500.00" and payment.msisdn_kind == "sha256"
    engine.dispose()


def test_link_code_prints_the_telegram_deep_link_when_the_bot_answers(db_url, monkeypatch):
    monkeypatch.setenv("HESABU_DATABASE_URL", db_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    run("business", "add", "Duka", "--shortcode", "600986")
    with FakeTelegramApi() as fake:
        monkeypatch.setenv("HESABU_TELEGRAM_TOKEN", fake.token)
        monkeypatch.setenv("HESABU_TELEGRAM_API_URL", fake.base_url)
        out = run("link-code", "600986")
    code = out.split()[0]
    assert f"https://t.me/hesabu_test_bot?start={code}" in out
    assert fake.token not in out
