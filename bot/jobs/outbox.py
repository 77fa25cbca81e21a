"""The outbox sender (job `outbox.send`): committed outbox rows out to the linked chats, at most once each.

One pass (`run_once`), every `poll_every` seconds or at once after `wake()`:
  1. expand due outbox rows into per-chat deliveries (one transaction);
  2. deliveries `sending` past the lease went in doubt (their sender died mid-send): each is sent ONCE more,
     marked as a repeat (a missed alert costs more than a doubled one); a repeat in doubt stays `in_doubt`;
  3. claim due deliveries: `sending` + `claimed_at` is COMMITTED before any provider call;
  4. render each outbox row (bot.assistant.alerts, reading the book as it is now) and send per chat, within
     Telegram's limits (about 30 messages/s overall, 1/s per chat), chats in parallel, one chat in order;
  5. record each outcome in its own short transaction: `sent` + the provider's message id; `RetryLater` ->
     `pending` again with exponential back-off (never sooner than the provider asked); `Undeliverable` or
     too many attempts -> `failed`; `Held` (WhatsApp's window closed, no template) -> `held` until the chat
     writes again (bot.storage.outbox.release_held).
Every provider call has a deadline (`send_timeout`): a call that does not answer in time may have been sent,
so it goes in doubt as above. Each channel runs its own passes, so a slow or hanging provider holds up only
its own chats, never another channel's.
Database work runs in threads (asyncio.to_thread); the event loop only waits on the network.
Several processes may run this against one PostgreSQL: claims never hand a delivery to two senders.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.assistant.messages import Reply, rendered
from bot.assistant.renderers import render_outbox_message
from bot.assistant.wording import as_repeat
from bot.channels.base import Channel, Held, RetryLater, Undeliverable
from bot.jobs.signals import Wakeup
from bot.logs import get_logger
from bot.storage.db import Engine, unit_of_work
from bot.storage.outbox import (
    ClaimedDelivery,
    claim_deliveries,
    expand_outbox,
    mark_in_doubt,
    outbox_of,
    record_failed,
    record_held,
    record_in_doubt,
    record_retry,
    record_sent,
)

JOB_NAME = "outbox.send"
log = get_logger("outbox")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class RateLimiter:
    """Spacing for sends: at most `per_second` overall and one message per `per_chat` seconds to a chat.
    Per process; Telegram's 429 (retry_after) covers what several processes together overshoot."""

    per_second: float = 30.0
    per_chat: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _next_any: float = 0.0
    _next_chat: dict[str, float] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def wait(self, chat_key: str) -> None:
        async with self._lock:  # reserve a slot under the lock, sleep outside it
            now = self.clock()
            at = max(now, self._next_any, self._next_chat.get(chat_key, 0.0))
            self._next_any = at + 1.0 / self.per_second
            self._next_chat[chat_key] = at + self.per_chat
            if len(self._next_chat) > 10_000:
                self._next_chat = {k: v for k, v in self._next_chat.items() if v > now}
        if at > now:
            await asyncio.sleep(at - now)


@dataclass
class SendReport:
    expanded: int = 0
    in_doubt: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0


class OutboxSender:
    """Built with its channels and its `work` signal (raised by whatever queues a message: `wake` is its `set`);
    `register` adds a channel that joins later (the local chat page, once a web chat exists). `start()` in the
    lifespan, `stop()` on the way out."""

    name = JOB_NAME

    def __init__(self, engine: Engine, channels: Iterable[Channel] = (), *, work: Wakeup | None = None,
                 poll_every: float = 1.0,
                 batch: int = 50, lease: timedelta = timedelta(minutes=2), max_attempts: int = 12,
                 base_backoff: float = 2.0, max_backoff: float = 900.0, limiter: RateLimiter | None = None,
                 clock: Callable[[], datetime] = utcnow, send_timeout: float = 30.0,
                 on_in_doubt: Callable[[int], None] = lambda _count: None) -> None:
        self.engine = engine
        self.channels: dict[str, Channel] = {c.name: c for c in channels}
        self.poll_every = poll_every
        self.batch = batch
        self.lease = lease
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.limiter = limiter or RateLimiter()
        self.clock = clock
        self.work = work or Wakeup()
        self.send_timeout = send_timeout
        self.on_in_doubt = on_in_doubt  # e.g. a /metrics counter
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._passes: dict[str, asyncio.Task[None]] = {}  # the pass each channel is running now
        self._stopping = False

    def register(self, channel: Channel) -> None:
        self.channels[channel.name] = channel
        self.wake()

    # --- the loop ------------------------------------------------------------------------------------
    async def start(self) -> None:
        self._wakeup = self.work.attach()
        self._stopping = False
        self._task = asyncio.create_task(self._forever(), name=JOB_NAME)

    async def stop(self) -> None:
        if self._task is not None:
            self._stopping = True  # the loop ends after this pass even if something swallowed the cancellation
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        passes = list(self._passes.values())
        for task in passes:
            task.cancel()
        await asyncio.gather(*passes, return_exceptions=True)
        self._passes.clear()

    def wake(self, *_: object) -> None:
        """Thread-safe: something was queued and committed; run a pass now instead of at the next poll."""
        self.work.set()

    async def _forever(self) -> None:
        """Start a pass for every channel that is not in one already, then wait for a wake or the poll."""
        assert self._wakeup is not None
        while not self._stopping:
            self._wakeup.clear()
            for name in list(self.channels):
                running = self._passes.get(name)
                if running is None or running.done():
                    self._passes[name] = asyncio.create_task(self._channel_passes(name), name=f"{JOB_NAME}:{name}")
            # asyncio.timeout, not asyncio.wait_for: on Python 3.11 wait_for returns the result instead of raising
            # when it is cancelled after the event was set (a wake() just before stop()), so the cancellation
            # was lost and stop() waited for this loop forever (gh-86296; wait_for is built on timeout in 3.12)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_every):
                    await self._wakeup.wait()

    async def _channel_passes(self, name: str) -> None:
        """One channel's passes, run again at once while there is more to do."""
        while not self._stopping:
            try:
                report = await self.run_once([name])
            except Exception as exc:  # noqa: BLE001 - the database may be away; the next pass retries
                log.warning("outbox.pass_failed", channel=name, error=type(exc).__name__)
                return
            if report.sent or report.failed or report.retried or report.in_doubt:
                log.info("outbox.pass", channel=name, sent=report.sent, retried=report.retried, failed=report.failed,
                         in_doubt=report.in_doubt)
            if not (report.expanded or report.sent >= self.batch):
                return

    # --- one pass -----------------------------------------------------------------------------------
    async def run_once(self, only: Iterable[str] | None = None) -> SendReport:
        """One pass over every channel (or only those named)."""
        report = SendReport()
        if not self.channels:
            return report  # nowhere to send: leave the outbox pending rather than failing it
        wanted = set(only) if only is not None else None
        report.expanded, report.in_doubt, claimed = await asyncio.to_thread(self._prepare, self.clock(), wanted)
        if report.in_doubt:
            self.on_in_doubt(report.in_doubt)
        if not claimed:
            return report
        replies = await asyncio.to_thread(self._render, claimed)
        by_chat: dict[tuple[str, str], list[ClaimedDelivery]] = {}
        for delivery in claimed:
            by_chat.setdefault((delivery.channel, delivery.chat_id), []).append(delivery)
        outcomes = await asyncio.gather(*(self._send_chat(group, replies) for group in by_chat.values()))
        for sent, retried, failed in outcomes:
            report.sent += sent
            report.retried += retried
            report.failed += failed
        return report

    def _prepare(self, now: datetime, wanted: set[str] | None) -> tuple[int, int, list[ClaimedDelivery]]:
        with unit_of_work(self.engine) as session:
            expanded = expand_outbox(session, now, sorted(self.channels), self.batch)
        with unit_of_work(self.engine) as session:
            in_doubt = mark_in_doubt(session, now, self.lease)
        channels = [c for c in self._ready_channels() if wanted is None or c in wanted]
        with unit_of_work(self.engine) as session:  # committed here: `sending` is durable before any send
            claimed = claim_deliveries(session, now, channels, self.batch)
        return expanded, in_doubt, claimed

    def _ready_channels(self) -> list[str]:
        """Channels that can send now: one still starting (a `ready` event not yet set) keeps its deliveries
        pending instead of spending their attempts."""
        ready = (getattr(channel, "ready", None) for channel in self.channels.values())
        return sorted(name for name, event in zip(self.channels, ready, strict=True)
                      if not isinstance(event, asyncio.Event) or event.is_set())

    def _render(self, claimed: list[ClaimedDelivery]) -> dict[int, Reply | None]:
        replies: dict[int, Reply | None] = {}
        with unit_of_work(self.engine) as session:
            for outbox_id in dict.fromkeys(d.outbox_id for d in claimed):
                outbox = outbox_of(session, outbox_id)
                try:
                    replies[outbox_id] = render_outbox_message(session, outbox) if outbox is not None else None
                except Exception as exc:  # noqa: BLE001 - a rendering bug fails its deliveries, not the pass
                    log.error("outbox.render_failed", outbox_id=outbox_id, error=type(exc).__name__)
                    replies[outbox_id] = None
        return {outbox_id: _drawn(reply) for outbox_id, reply in replies.items()}

    async def _send_chat(self, group: list[ClaimedDelivery], replies: dict[int, Reply | None]
                         ) -> tuple[int, int, int]:
        sent = retried = failed = 0
        for delivery in group:
            outcome = await self._send_one(delivery, replies.get(delivery.outbox_id))
            sent += outcome == "sent"
            retried += outcome == "retry"
            failed += outcome == "failed"
        return sent, retried, failed

    async def _send_one(self, delivery: ClaimedDelivery, reply: Reply | None) -> str:
        if reply is None:
            await asyncio.to_thread(self._record, record_failed, delivery.id, "cannot render this message")
            return "failed"
        channel = self.channels[delivery.channel]
        await self.limiter.wait(f"{delivery.channel}:{delivery.chat_id}")
        if delivery.repeat:
            reply = as_repeat(reply)
        try:
            async with asyncio.timeout(self.send_timeout):
                ref = await channel.send(delivery.chat_id, reply)
        except TimeoutError:
            log.warning("outbox.provider_timeout", delivery_id=delivery.id, channel=delivery.channel)
            await asyncio.to_thread(self._record, record_in_doubt, delivery.id,
                                    f"{delivery.channel} did not answer in {self.send_timeout:.0f} s", self.clock())
            self.on_in_doubt(1)
            return "in_doubt"
        except RetryLater as exc:
            return await self._retry_or_give_up(delivery, exc)
        except Held as exc:
            log.info("outbox.held", delivery_id=delivery.id, reason=exc.reason)
            await asyncio.to_thread(self._record, record_held, delivery.id, exc.reason)
            return "held"
        except Undeliverable as exc:
            log.info("outbox.undeliverable", delivery_id=delivery.id, reason=exc.reason)
            await asyncio.to_thread(self._record, record_failed, delivery.id, exc.reason)
            return "failed"
        await asyncio.to_thread(self._record, record_sent, delivery.id, ref, self.clock())
        return "sent"

    async def _retry_or_give_up(self, delivery: ClaimedDelivery, exc: RetryLater) -> str:
        attempts = delivery.attempts + 1
        if attempts >= self.max_attempts:
            await asyncio.to_thread(self._record, record_failed, delivery.id, f"gave up after {attempts}: {exc}")
            return "failed"
        await asyncio.to_thread(self._record, record_retry, delivery.id,
                                self.clock() + timedelta(seconds=self.backoff(attempts, exc.after_seconds)), str(exc))
        return "retry"

    def backoff(self, attempts: int, provider_hint: float) -> float:
        """Seconds before attempt `attempts + 1`: doubling from `base_backoff`, never below the provider's hint."""
        doubling: float = min(self.max_backoff, self.base_backoff * 2.0 ** (attempts - 1))
        return max(provider_hint, doubling)

    def _record(self, action: Callable[..., bool], delivery_id: int, *args: object) -> None:
        with unit_of_work(self.engine) as session:
            if not action(session, delivery_id, *args):
                log.warning("outbox.record_lost", delivery_id=delivery_id, reason="declared in doubt meanwhile")


def _drawn(reply: Reply | None) -> Reply | None:
    """The reply's chart drawn now that the render transaction is over; a drawing bug fails its deliveries."""
    if reply is None:
        return None
    try:
        return rendered([reply])[0]
    except Exception as exc:  # noqa: BLE001 - as in _render
        log.error("outbox.render_failed", error=type(exc).__name__)
        return None
