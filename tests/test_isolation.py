"""The tests run isolated from the developer's machine: no HESABU_* variable and no .env in the working
directory reaches the settings (a developer's Telegram token would otherwise send real requests)."""

from __future__ import annotations

import os

from webhooks.settings import Settings


def test_a_dotenv_in_the_working_directory_is_not_read(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("HESABU_TELEGRAM_TOKEN=123:real-token\nHESABU_ENV=production\n")
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.telegram_token is None and settings.env == "development"


def test_no_hesabu_variable_of_the_developer_is_left():
    assert [n for n in os.environ if n.startswith("HESABU_") and n != "HESABU_TEST_PG_HOST"] == []
