"""Signals between the long-running parts: built first, handed to the part that waits on it and to every part
that raises it, so nothing is wired by assignment after construction.

`Wakeup` says "there is work" (the outbox); `DuePayments` carries the ids of payments stored and not matched
yet (the matching worker). Both may be raised from any thread (the callback writer commits on its own thread);
before the waiter has started, raising them is a no-op and the periodic sweeps pick the work up.
"""

from __future__ import annotations

import asyncio


class Wakeup:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def attach(self) -> asyncio.Event:
        """Called once by the waiter, on its event loop, when it starts."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        return self._event

    def set(self, *_: object) -> None:
        """Thread-safe."""
        loop, event = self._loop, self._event
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)


class DuePayments:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self.queue: asyncio.Queue[int] = asyncio.Queue()

    def attach(self) -> asyncio.Queue[int]:
        """Called once by the matching worker, on its event loop, when it starts."""
        self._loop = asyncio.get_running_loop()
        return self.queue

    def put(self, payment_ids: list[int]) -> None:
        """Thread-safe: called by the callback writer's thread right after its commit."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # not started (a CLI, a test): the sweep will find them
        loop.call_soon_threadsafe(self._enqueue, list(payment_ids))

    def _enqueue(self, payment_ids: list[int]) -> None:
        for payment_id in payment_ids:
            self.queue.put_nowait(payment_id)
