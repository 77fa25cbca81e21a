"""Bad input reachable by strangers or by a careless owner is answered, never raised: Unicode digits, dates at
the ends of the calendar, button data and message ids too large for an integer column, a 70-word name, a
4,000-character reference; invisible bidi and zero-width characters never reach what the owner reads."""

from __future__ import annotations

import pytest

from bot.assistant import wording
from tests.assistant.test_conversation import Chat, book, owner  # noqa: F401  (fixture)

HOSTILE_LINES = [
    "/business ²", "/business ①", "/business 99999999999999999999999", "/business " + "9" * 5000,
    "/summary 9999-12-31", "/summary 0001-01-01", "/export 9999-12", "/export 0000-01", "/export 10000-01",
    "/customer " + " ".join(f"word{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(70)),
    "/customer " + "A1" * 2000, "/invoice " + " ".join(["2"] * 50), "/invoice Mary ²⁵⁰⁰", "/invoice Mary ①",
    "/match QKL5ABCD12 " + "INV" * 1000, "²", "①", "9" * 30,
]
HOSTILE_CHOICES = ["b:99999999999999999999999", "b:²", "i:99999999999999999999999", "i:①",
                   "c:99999999999999999999999:1", "x:99999999999999999999999", "o:99999999999999999999999",
                   "c:²:1", "x:" + "9" * 40]


@pytest.mark.parametrize("text", HOSTILE_LINES, ids=range(len(HOSTILE_LINES)))
def test_a_hostile_line_gets_an_answer(book, text):  # noqa: F811
    chat = owner(book)
    replies = chat.say(text)
    assert replies and all(r.text for r in replies)


@pytest.mark.parametrize("data", HOSTILE_CHOICES, ids=range(len(HOSTILE_CHOICES)))
def test_a_forged_button_gets_an_answer(book, data):  # noqa: F811
    chat = owner(book)
    chat.say("/invoice Mary")  # a half-typed invoice, so customer buttons are read too
    replies = chat.say(choice=data, ref="99999999999999999999999")
    assert replies and all(r.text for r in replies)


def test_dates_beyond_the_calendar_are_refused_with_a_reason(book):  # noqa: F811
    chat = owner(book)
    assert "no date" in chat.text("/summary 9999-12-31") or "choose" in chat.text("/summary 9999-12-31")
    assert "month like" in chat.text("/export 0000-01")


@pytest.mark.parametrize("hidden", ["\u202e", "\u200b", "\u2066", "\ufeff", "\u200f", "\u061c"])
def test_invisible_characters_never_reach_what_the_owner_reads(hidden):
    name = f"JOHN{hidden} DOE"
    assert hidden not in wording.short_name(name) and wording.short_name(name) == "JOHN D."
    assert wording.safe_text(f"INV{hidden}-0042") == "INV-0042"
