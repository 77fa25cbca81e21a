"""The STK push worker (job `stk.requests`): sends the pushes people asked for in chat and follows each one
(STK query with back-off) until Daraja gives a final answer. Every `poll_every` seconds, or at once after
`wake()`. Claims are conditional updates, so several processes may run it against one database.
Messages it queues go out through the outbox; `on_queued` wakes its sender."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.bookkeeping.daraja_gateway import DarajaGateway
from bot.bookkeeping.stk_requests import check_pending, send_queued
from bot.storage.db import Engine

JOB_NAME = "stk.requests"
log = logging.getLogger("hesabu.stk")


class StkWorker:
    def __init__(self, engine: Engine, gateway: DarajaGateway, *, poll_every: float = 2.0,
                 on_queued: Callable[[], Any] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine, self.gateway, self.poll_every = engine, gateway, poll_every
        self.on_queued, self.clock = on_queued, clock
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=JOB_NAME)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run_once(self) -> int:
        now = self.clock()
        done = await send_queued(self.engine, self.gateway, now) + await check_pending(self.engine, self.gateway, now)
        if done and self.on_queued is not None:
            self.on_queued()
        return done

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await self.run_once()
            except Exception as exc:  # noqa: BLE001 - the next turn retries; nothing is lost (rows stay queued)
                log.error("stk.worker_failed error=%s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_every):
                    await self._wake.wait()
            self._wake.clear()
