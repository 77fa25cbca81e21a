"""The `hesabu` command line (names fixed by the contract): one module per command group, each registered in
webhooks.cli.commands with one line.

`main` is the console script. `hesabu chat …` needs none of the database or HTTP stack, so it starts without
importing them (the chat benchmark runs the command once per day of messages); every other command goes to the
full command line, which also lists `chat` in its help."""

from __future__ import annotations

import sys
from typing import Any


def main() -> None:
    if sys.argv[1:2] == ["chat"]:
        from webhooks.cli.chat import chat_app

        chat_app(args=sys.argv[2:], prog_name="hesabu chat")
        return
    from webhooks.cli.commands import app

    app()


def __getattr__(name: str) -> Any:
    """`from webhooks.cli import app`: the full command line, built on first use."""
    if name == "app":
        from webhooks.cli.commands import app

        return app
    raise AttributeError(name)
