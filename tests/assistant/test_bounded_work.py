"""One chat message cannot stall other tenants: the parse is linear and bounded by input size, a chat over its
rate is told once and then ignored before any database work, and charts and spreadsheets are drawn with no
write transaction open (SQLite's write lock is free while they are drawn)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import bot.assistant.grammar as grammar
from bot.assistant.conversation import MAX_MESSAGE_CHARS, SLOW_DOWN, TOO_LONG, handle_message
from bot.assistant.limits import ChatRateLimit, Verdict
from bot.assistant.messages import InboundMessage
from bot.storage.db import unit_of_work
from bot.storage.tables import InboundRow
from tests.assistant.test_conversation import NOW, book, owner  # noqa: F401  (fixture)


def _parse_work(monkeypatch: pytest.MonkeyPatch, words: int) -> int:
    """Characters the phone reader is handed while `/invoice 2 2 2 …` is parsed: the parse's work."""
    seen = [0]
    real = grammar.normalise_phone

    def counting(text: str) -> str | None:
        seen[0] += len(text)
        return real(text)

    monkeypatch.setattr(grammar, "normalise_phone", counting)
    grammar.parse_command("/invoice " + " ".join(["2"] * words))
    return seen[0]


def test_the_parse_of_many_number_words_is_linear(monkeypatch):
    small, large = _parse_work(monkeypatch, 200), _parse_work(monkeypatch, 800)
    assert small > 0 and large / small < 5  # four times the words, about four times the work (cubic was ~64x)


def test_a_line_past_the_limit_is_refused_unread(monkeypatch):
    assert isinstance(grammar.parse_command("/invoice " + "2 " * grammar.MAX_LINE_CHARS), grammar.GrammarError)


def test_a_message_too_long_is_answered_without_touching_the_database(book):  # noqa: F811
    msg = InboundMessage("telegram", "100", "Owner", "/invoice " + "x" * MAX_MESSAGE_CHARS, external_id="u1")
    with unit_of_work(book.engine) as session:
        assert handle_message(session, msg, NOW) == [TOO_LONG]
        assert session.execute(select(func.count()).select_from(InboundRow)).scalar_one() == 0


def test_the_rate_limit_allows_a_burst_says_slow_down_once_then_drops_and_refills():
    limit = ChatRateLimit(burst=3, per_seconds=2.0)
    verdicts = [limit.check("telegram:1", NOW) for _ in range(6)]
    assert verdicts == [Verdict.ALLOWED] * 3 + [Verdict.SLOW_DOWN, Verdict.DROPPED, Verdict.DROPPED]
    assert limit.check("telegram:2", NOW) is Verdict.ALLOWED  # another chat is not slowed
    assert limit.check("telegram:1", NOW + timedelta(seconds=2)) is Verdict.ALLOWED
    small = ChatRateLimit(max_chats=10)
    for i in range(100):
        small.check(f"web:{i}", NOW)
    assert len(small._buckets) == 10


def test_a_flooding_chat_is_told_once_then_ignored_before_any_work(book):  # noqa: F811
    chat, limit = owner(book), ChatRateLimit(burst=2, per_seconds=60)
    answers = []
    for i in range(5):
        msg = InboundMessage("telegram", chat.chat_id, "Owner", "/invoices", external_id=f"flood-{i}")
        with unit_of_work(book.engine) as session:
            answers.append(handle_message(session, msg, NOW, limit=limit))
    assert [len(a) for a in answers[:2]] == [1, 1] and answers[2:] == [[SLOW_DOWN], [], []]
    with unit_of_work(book.engine) as session:  # refused messages were never even recorded as seen
        assert session.execute(select(func.count()).select_from(InboundRow)).scalar_one() == 2


def test_charts_and_spreadsheets_are_drawn_with_the_write_lock_free(book, monkeypatch):  # noqa: F811
    """The runtimes call handle_message(render=False) inside their unit of work and draw after the commit."""
    if book.engine.dialect.name != "sqlite":
        pytest.skip("the write lock is SQLite's; PostgreSQL locks rows")
    import bot.assistant.summaries as summaries
    import bot.bookkeeping.exports as exports
    from bot.assistant.messages import rendered

    path = book.engine.url.database
    lock_free: list[bool] = []

    def probe() -> None:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            lock_free.append(True)
        except sqlite3.OperationalError:
            lock_free.append(False)
        finally:
            other.close()

    real_chart, real_xlsx = summaries.daily_chart, exports.to_xlsx
    monkeypatch.setattr(summaries, "daily_chart", lambda *a, **k: (probe(), real_chart(*a, **k))[1])
    monkeypatch.setattr(exports, "to_xlsx", lambda *a, **k: (probe(), real_xlsx(*a, **k))[1])
    chat = owner(book)
    for i, text in enumerate(["/summary month", "/export"]):
        msg = InboundMessage("telegram", chat.chat_id, "Owner", text, external_id=f"heavy-{i}")
        with unit_of_work(book.engine) as session:
            replies = handle_message(session, msg, NOW, render=False)
        drawn = rendered(replies)
        assert any(r.picture or r.document for r in drawn)
    assert lock_free == [True, True]
