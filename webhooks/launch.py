"""The `hesabu` console script. `hesabu chat …` needs none of the database or HTTP stack, so it starts without
importing them (the chat benchmark runs the command once per day of messages); every other command goes
to the full command line in `webhooks.cli`, which also lists `chat` in its help."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["chat"]:
        from webhooks.chat_cli import chat_app

        chat_app(args=sys.argv[2:], prog_name="hesabu chat")
        return
    from webhooks.cli import main as full_main

    full_main()
