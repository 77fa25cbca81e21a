"""`hesabu migrate`: alembic, driven from code so the package carries its own migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

_HERE = Path(__file__).parent


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def autogenerate(url: str, message: str) -> None:
    """Developer helper: write a new revision from the difference between the tables and the database."""
    command.revision(alembic_config(url), message=message, autogenerate=True)


def migration_state(url: str) -> tuple[str | None, set[str]]:
    """(the database's revision, the package's head revisions): equal when `hesabu migrate` has nothing to do."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from bot.storage.db import make_single_use_engine

    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    engine = make_single_use_engine(url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
    return current, heads
