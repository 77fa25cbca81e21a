"""Daraja credentials: sealed at rest, masked when shown, never in a log; key rotation; register-urls/-pull
through the real client against the fake Daraja."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.storage.db import make_engine
from bot.storage.sealing import Keyring, SealError
from tests.fakes.daraja import FakeDaraja
from tests.support import add_business
from webhooks.cli import app

KEY = "k" * 40
SECRETS = {"consumer_key": "ck-AAAA-1234567890-ZZZZ", "consumer_secret": "cs-BBBB-0987654321-YYYY",
           "passkey": "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"}


def lines(values: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in values.items())


def cli(*args: str, stdin: str | None = None, ok: bool = True) -> str:
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert (result.exit_code == 0) is ok, result.output
    return result.output


@pytest.fixture
def env(db_url, monkeypatch):
    monkeypatch.setenv("HESABU_DATABASE_URL", db_url)
    monkeypatch.setenv("HESABU_SECRET_KEY", KEY)
    monkeypatch.setenv("HESABU_PUBLIC_URL", "https://pay.example.co.ke")
    engine = make_engine(db_url)
    shop = add_business(engine, "600984")
    yield engine, shop
    engine.dispose()


def test_keyring_binds_ciphertext_to_its_row_and_keeps_old_keys_readable():
    old = Keyring("old-secret-" + "x" * 30)
    key_id, sealed = old.seal(b"hello", "row:1")
    assert old.open(key_id, sealed, "row:1") == b"hello"
    with pytest.raises(SealError):
        old.open(key_id, sealed, "row:2")  # copied onto another row
    with pytest.raises(SealError):
        old.open(key_id, sealed[:-4] + "AAAA", "row:1")  # tampered
    new = Keyring("new-secret-" + "y" * 30, ("old-secret-" + "x" * 30,))
    assert new.open(key_id, sealed, "row:1") == b"hello" and new.current_id != key_id
    with pytest.raises(SealError):
        Keyring("new-secret-" + "y" * 30).open(key_id, sealed, "row:1")


def test_set_show_rotate_and_nothing_readable_in_the_database(env, db_url, monkeypatch, caplog):
    engine, _shop = env
    caplog.set_level(logging.DEBUG)
    out = cli("daraja", "set", "600984", "--env", "sandbox", stdin=lines(SECRETS))
    assert "stored, sealed" in out
    shown = json.loads(cli("daraja", "show", "600984", "--json"))
    assert shown["credentials"]["consumer_key"] == "ck-A…ZZZZ" and shown["environment"] == "sandbox"
    text = cli("daraja", "show", "600984")
    everything = out + text + json.dumps(shown) + caplog.text
    for secret in SECRETS.values():
        assert secret not in everything
        assert secret[4:-4] not in everything
    if db_url.startswith("sqlite"):
        path = Path(db_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
        for secret in SECRETS.values():
            assert secret.encode() not in raw
        row = sqlite3.connect(db_url.removeprefix("sqlite:///")).execute(
            "SELECT sealed FROM daraja_credential").fetchone()
        assert row[0].startswith("v1.")
    # a new key: the old one still opens the row until `secrets rotate` re-seals it
    monkeypatch.setenv("HESABU_SECRET_KEY", "n" * 40)
    assert "error" in json.loads(cli("daraja", "show", "600984", "--json"))["credentials"]
    monkeypatch.setenv("HESABU_PREVIOUS_SECRET_KEYS", KEY)
    assert json.loads(cli("daraja", "show", "600984", "--json"))["credentials"]["passkey"] == "bfb2…c919"
    assert "1 credentials re-sealed" in cli("secrets", "rotate")
    monkeypatch.delenv("HESABU_PREVIOUS_SECRET_KEYS")
    assert json.loads(cli("daraja", "show", "600984", "--json"))["credentials"]["passkey"] == "bfb2…c919"


@pytest.mark.parametrize(("stdin", "message"), [
    ("consumer_key=a\nconsumer_secret=b\n", "missing passkey"),
    ("consumer_key=a\nconsumer_secret=b\npasskey=c\nsomething=d\n", "KEY one of"),
    (lines(SECRETS) + "initiator_name=api\n", "go together"),
])
def test_set_refuses_bad_input(env, stdin, message):
    assert message in cli("daraja", "set", "600984", stdin=stdin, ok=False)


def test_set_refuses_a_throwaway_key_and_an_unknown_shortcode(env, monkeypatch):
    assert "no business has shortcode" in cli("daraja", "set", "111111", stdin=lines(SECRETS), ok=False)
    monkeypatch.delenv("HESABU_SECRET_KEY")
    assert "HESABU_SECRET_KEY" in cli("daraja", "set", "600984", stdin=lines(SECRETS), ok=False)


@pytest.fixture
def fake(env, monkeypatch):
    with FakeDaraja() as fake:
        fake.add_app(SECRETS["consumer_key"], SECRETS["consumer_secret"], products=("v2",))
        monkeypatch.setenv("HESABU_DARAJA_URL", fake.url)
        cli("daraja", "set", "600984", stdin=lines(SECRETS))
        yield fake


def test_register_urls_falls_back_to_the_apps_product_then_explains_already_registered(env, fake):
    _engine, shop = env
    out = cli("daraja", "register-urls", "600984", "--version", "v1")
    assert f"https://pay.example.co.ke/c2b/{shop.token}/confirmation" in out and "v2 was registered" in out
    [v1, v2] = fake.calls_to("/mpesa/c2b/v1/registerurl") + fake.calls_to("/mpesa/c2b/v2/registerurl")
    assert v1.status == 401 and v2.body == {"ShortCode": "600984", "ResponseType": "Completed",
                                            "ConfirmationURL": f"https://pay.example.co.ke/c2b/{shop.token}/confirmation",
                                            "ValidationURL": f"https://pay.example.co.ke/c2b/{shop.token}/validation"}
    shown = json.loads(cli("daraja", "show", "600984", "--json"))
    assert shown["registered"]["version"] == "v2"
    again = cli("daraja", "register-urls", "600984", "--version", "v2", ok=False)
    assert "already has C2B URLs" in again and "URL Management" in again


def test_register_urls_refuses_http_in_production_and_forbidden_words(env, fake, monkeypatch):
    cli("daraja", "set", "600984", "--env", "production", stdin=lines(SECRETS))
    monkeypatch.setenv("HESABU_PUBLIC_URL", "http://pay.example.co.ke")
    assert "must be https" in cli("daraja", "register-urls", "600984", ok=False)
    monkeypatch.setenv("HESABU_PUBLIC_URL", "https://mpesa.example.co.ke")
    assert "'mpesa'" in cli("daraja", "register-urls", "600984", ok=False)
    assert fake.calls_to("/mpesa/c2b/v1/registerurl") == []


def test_register_pull(env, fake):
    _engine, shop = env
    out = cli("daraja", "register-pull", "600984", "--nominated-number", "0722000000")
    assert f"https://pay.example.co.ke/daraja/{shop.token}/result" in out
    [call] = fake.calls_to("/pulltransactions/v1/register")
    assert call.body["NominatedNumber"] == "0722000000" and call.body["RequestType"] == "Pull"
    assert json.loads(cli("daraja", "show", "600984", "--json"))["pull_registered_at"] is not None
    assert "not a Kenyan mobile" in cli("daraja", "register-pull", "600984", "--nominated-number", "12",
                                        ok=False)


def test_calls_without_credentials_say_what_to_do(env):
    assert "hesabu daraja set 600984" in cli("daraja", "register-urls", "600984", ok=False)
