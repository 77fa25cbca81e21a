"""`hesabu doctor` says what is wrong in words, and exits 1 when anything is."""

from __future__ import annotations

import httpx
from typer.testing import CliRunner

from bot.storage.migrate import upgrade
from tests.fakes.telegram_api import FakeTelegramApi
from webhooks.cli.commands import app
from webhooks.intake.spool import Spool, SpoolEntry


def _doctor(monkeypatch, tmp_path, url: str, **env: str):
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("HESABU_DATABASE_URL", url)
    monkeypatch.setenv("HESABU_SPOOL_DIR", str(tmp_path / "spool"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(app, ["doctor"])


def test_a_fresh_database_needs_its_migrations(monkeypatch, tmp_path):
    result = _doctor(monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'new.db'}")
    assert result.exit_code == 1
    assert "migrations: the database has no schema yet: run `hesabu migrate`" in result.output
    assert "database: ok" in result.output and "spool: ok" in result.output


def test_a_migrated_database_and_an_empty_spool_are_ok(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'ok.db'}"
    upgrade(url)
    result = _doctor(monkeypatch, tmp_path, url)
    assert result.exit_code == 0, result.output
    assert "migrations: ok" in result.output


def test_unreachable_database_and_refused_settings_are_named(monkeypatch, tmp_path):
    result = _doctor(monkeypatch, tmp_path, "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert result.exit_code == 1
    assert "database: cannot connect with HESABU_DATABASE_URL" in result.output
    result = _doctor(monkeypatch, tmp_path, "sqlite:///x.db", HESABU_ENV="production", HESABU_SECRET_KEY="short")
    assert result.exit_code == 1
    assert "settings: refused:" in result.output and "32 characters" in result.output


def test_spooled_callbacks_and_a_wrong_webhook_are_reported(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'ok.db'}"
    upgrade(url)
    from datetime import UTC, datetime

    Spool(tmp_path / "spool").append([SpoolEntry("c2b_confirmation", 1, b"{}", "127.0.0.1", datetime.now(UTC))])
    with FakeTelegramApi() as fake:
        httpx.post(f"{fake.base_url}{fake.token}/setWebhook", data={"url": "https://old.example/telegram"})
        result = _doctor(monkeypatch, tmp_path, url, HESABU_TELEGRAM_TOKEN=fake.token,
                         HESABU_TELEGRAM_API_URL=fake.base_url, HESABU_TELEGRAM_WEBHOOK_SECRET="s3cret",
                         HESABU_PUBLIC_URL="https://pay.example.co.ke", NO_PROXY="127.0.0.1,localhost")
    assert result.exit_code == 1
    assert "spool: 1 callbacks wait in" in result.output
    assert ("telegram webhook: Telegram posts to https://old.example/telegram, not "
            "https://pay.example.co.ke/telegram: run `hesabu telegram set-webhook`") in result.output
