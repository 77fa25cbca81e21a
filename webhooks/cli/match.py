"""`hesabu match replay`: the matching engine on a labelled scenario."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import typer

from bot.bookkeeping.replay import ReplayError, replay_scenario
from bot.storage.db import make_scratch_engine, make_single_use_engine
from bot.storage.migrate import upgrade
from webhooks.cli.common import fail
from webhooks.intake.records import build_record

match_app = typer.Typer(help="The matching engine, on labelled scenarios.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(match_app, name="match")


def replay_file(path: Path, database_url: str | None = None) -> list[dict[str, object]]:
    """Replay a scenario and return its decision lines. Without a URL it runs on a throw-away SQLite file
    (synchronous=OFF: nothing in it outlives the command), so it needs no server and no setup."""
    scenario = json.loads(path.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="hesabu-replay-") as scratch:
        url = database_url or f"sqlite:///{Path(scratch) / 'replay.db'}"
        upgrade(url)
        engine = make_scratch_engine(url) if url.startswith("sqlite") else make_single_use_engine(url)
        try:
            return list(replay_scenario(engine, scenario, build_record))
        finally:
            engine.dispose()


@match_app.command("replay")
def match_replay(scenario: Path, database_url: str = typer.Option(None, "--database-url",
                                                                   help="default: a temporary SQLite file")) -> None:
    """Replay a matching scenario; print one decision per payment as JSON Lines."""
    try:
        lines = replay_file(scenario, database_url)
    except (OSError, ValueError, KeyError, ReplayError) as exc:
        fail(f"cannot replay {scenario}: {exc}")
    for line in lines:
        sys.stdout.write(json.dumps(line) + "\n")
