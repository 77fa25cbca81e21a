"""`hesabu chat parse`: what each message on stdin asks for, read by the conversation's own reader.

Pure: no database, network or settings; the only clock is `--today` (default: today in Africa/Nairobi). One
JSON line out per line in, in order; a line that is not a JSON object with a string `text` gets an `error`
line and the command goes on. See ../shared/datasets/chat/README.md.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import typer

from bot.assistant.questions import question
from bot.assistant.understanding import read_message

chat_app = typer.Typer(help="The chat reader, without acting on anything.", no_args_is_help=True,
                       add_completion=False)
MAX_LINE_CHARS = 8192  # a chat message longer than this is read from its first characters only


def register(app: typer.Typer) -> None:
    app.add_typer(chat_app, name="chat")


@chat_app.callback()
def chat() -> None:
    """The chat reader, without acting on anything."""


@chat_app.command("parse")
def chat_parse(today: str = typer.Option(None, "--today", help="the business's local date, YYYY-MM-DD")) -> None:
    """Read JSON Lines `{"id", "text", "role"}` on stdin; print one reading per line."""
    try:
        day = date.fromisoformat(today) if today else datetime.now(UTC).astimezone(ZoneInfo("Africa/Nairobi")).date()
    except ValueError:
        typer.echo(f"error: --today {today!r} is not a date like 2026-12-01", err=True)
        raise typer.Exit(code=2) from None
    parse_lines(sys.stdin, sys.stdout, day)


def parse_lines(lines: Any, out: TextIO, today: date) -> None:
    for line in lines:
        if not line.strip():
            continue
        out.write(json.dumps(parse_line(line, today), ensure_ascii=False) + "\n")
    out.flush()


def parse_line(line: str, today: date) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        return {"id": None, "error": f"not JSON: {error.msg}"}
    if not isinstance(row, dict):
        return {"id": None, "error": "not a JSON object"}
    ident = row.get("id")
    if not isinstance(row.get("text"), str):
        return {"id": ident, "error": "text must be a string"}
    role = row.get("role") if row.get("role") in ("owner", "staff") else "owner"
    reading = read_message(row["text"][:MAX_LINE_CHARS], today)
    if reading.intent is None:
        return {"id": ident, "intent": None, "ask": question(reading, role), "lang": reading.lang,
                "why": reading.why, "args": reading.args}
    return {"id": ident, "intent": reading.intent, "args": reading.args, "lang": reading.lang}
