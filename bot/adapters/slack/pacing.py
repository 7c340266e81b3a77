"""Back-pressure under a burst: acknowledgements, then placeholders, then briefs.

* ``WriteOrder`` queues this adapter's store writes, acknowledgements first;
* ``InFlight`` lets briefs wait while placeholders are still being posted;
* ``LoopPacer`` holds new briefs back while the event loop is congested.

Why the pacer: acknowledging an event takes a few milliseconds of the event loop, but it has
to happen within Slack's deadline, while each brief costs tens of
milliseconds of it (parsing, extraction hand-offs, the model client). When a
burst of links arrives faster than the process can brief them, an unpaced
backlog would delay acknowledgements by seconds. ``LoopPacer`` measures how
late a short sleep wakes up (the loop's lag) and holds new briefs back while
that lag is high, so acknowledgements and placeholders keep their turn and
briefs simply queue. With a slow model (I/O-bound work) the lag stays low and
nothing is held back.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator

PROBE_INTERVAL_S = 0.02
MAX_LAG_S = 0.025
MAX_HOLD_S = 5.0  # never starve a brief completely, whatever else loads the machine


class LoopPacer:
    def __init__(
        self,
        *,
        interval_s: float = PROBE_INTERVAL_S,
        max_lag_s: float = MAX_LAG_S,
        max_hold_s: float = MAX_HOLD_S,
    ) -> None:
        self.interval_s = interval_s
        self.max_lag_s = max_lag_s
        self.max_hold_s = max_hold_s
        self.lag_s = 0.0
        self._probe: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._probe is None:
            self._probe = asyncio.create_task(self._measure(), name="slack-loop-lag")

    async def aclose(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
            self._probe = None

    async def calm(self) -> None:
        """Return once the loop's lag is low (or after ``max_hold_s`` at most)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_hold_s
        while self.lag_s > self.max_lag_s and loop.time() < deadline:
            await asyncio.sleep(self.interval_s)

    async def _measure(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(self.interval_s)
            self.lag_s = max(0.0, loop.time() - started - self.interval_s)


class WriteOrder:
    """This adapter's store writes, one at a time, acknowledgements first.

    SQLite takes one writer at a time and makes the others sleep and retry, so
    concurrent writes from one process waste time and come out in no useful
    order. Queued here instead, an acknowledgement's write goes before any
    placeholder's claim, which goes before the bookkeeping of finished work.
    """

    ACK = 0
    POST = 1
    FINISH = 2

    def __init__(self) -> None:
        self._busy = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    @contextlib.asynccontextmanager
    async def turn(self, priority: int) -> AsyncIterator[None]:
        if self._busy or self._waiters:
            handed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiters, (priority, next(self._seq), handed))
            try:
                await handed
            except asyncio.CancelledError:
                if handed.done() and not handed.cancelled():
                    self._hand_on()  # the turn arrived as we were cancelled: pass it on
                raise
        else:
            self._busy = True
        try:
            yield
        finally:
            self._hand_on()

    def _hand_on(self) -> None:
        while self._waiters:
            _, _, handed = heapq.heappop(self._waiters)
            if not handed.done():
                handed.set_result(None)  # still busy: the turn passes straight on
                return
        self._busy = False


class InFlight:
    """Counts work of a higher priority in progress; lower-priority work waits for none."""

    def __init__(self, max_wait_s: float = MAX_HOLD_S) -> None:
        self.max_wait_s = max_wait_s
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.asynccontextmanager
    async def active(self) -> AsyncIterator[None]:
        self._count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def idle(self) -> None:
        """Return once nothing is in flight (or after ``max_wait_s`` at most)."""
        if self._count:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), self.max_wait_s)
