"""Shared fixtures: real SQLite and real PostgreSQL, both migrated with alembic; an app wired to either.

PostgreSQL is required when CI=true: the run fails (it does not skip) when it cannot be reached.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from bot.storage.migrate import upgrade

PG_HOST = os.environ.get("HESABU_TEST_PG_HOST", "127.0.0.1")

# A developer's HESABU_* variables (a real Telegram token, a production database) and a .env in the working
# directory must never reach the tests or the servers they start: both are removed before anything reads them.
for _name in [n for n in os.environ if n.startswith("HESABU_") and n != "HESABU_TEST_PG_HOST"]:
    del os.environ[_name]


def _settings_without_dotenv() -> None:
    from webhooks.settings import Settings

    Settings.model_config["env_file"] = None


_settings_without_dotenv()
PG_ADMIN_DSN = f"host={PG_HOST} port=5432 user=postgres dbname=test connect_timeout=3"
TABLES_IN_DELETE_ORDER: list[str] = []


def _pg_reachable() -> bool:
    try:
        psycopg.connect(PG_ADMIN_DSN).close()
    except psycopg.OperationalError:
        return False
    return True


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_sessionstart(session: pytest.Session) -> None:
    if _in_ci() and not _pg_reachable():
        pytest.exit("CI=true but PostgreSQL at 127.0.0.1:5432 is unreachable: the suite must run on it", returncode=1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    if not _pg_reachable():
        pytest.skip("PostgreSQL unreachable (allowed outside CI only)")
    name = f"hesabu_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@{PG_HOST}:5432/{name}"
    upgrade(url)
    yield url
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


def _truncate_pg(url: str) -> None:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'")]
        if tables:
            conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path, sqlite_template: str) -> str:
    """A freshly migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "hesabu.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    _truncate_pg(url)
    return url
