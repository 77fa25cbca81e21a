"""The migration chain stays linear: exactly one head, so `hesabu migrate` (upgrade to head) always works."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

import bot.storage.migrate


def test_exactly_one_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(bot.storage.migrate.__file__).parent / "migrations"))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"migrations have several heads {heads}: set down_revision to main's head"
