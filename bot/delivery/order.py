"""The one priority order of link work: acknowledgements, then placeholders, then briefs.

Acknowledging an event takes a few milliseconds of the event loop and has a
deadline (Slack retries after 3 s); a placeholder tells the person the link
was seen; a brief costs tens of milliseconds of CPU (extraction, verification)
and waits seconds on the model anyway. Under a burst the loop is shared by all
three, so each kind waits its turn:

* ``Order.active(lane)`` marks work of a lane as in progress;
* ``Order.turn(lane)`` returns once no work of a higher lane is in progress
  (or after ``max_wait_s``: a lower lane is delayed, never starved);
* ``Order.calm()`` holds a new brief while the loop is congested: a probe
  measures how late a short sleep wakes up, and briefs wait while that lag is
  high. Work that has not reached the bot's code yet (HTTP requests waiting on
  their sockets) cannot be counted, only seen as lag.

What each part buys is in ``docs/performance.md`` (round six, issue 17).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

ACK, PLACEHOLDER, BRIEF = 0, 1, 2
MAX_WAIT_S = 2.0
PROBE_INTERVAL_S = 0.02
MAX_LAG_S = 0.025


class Order:
    """Counts work in progress per lane; lower lanes wait for the higher ones."""

    def __init__(
        self,
        *,
        max_wait_s: float = MAX_WAIT_S,
        probe_interval_s: float = PROBE_INTERVAL_S,
        max_lag_s: float = MAX_LAG_S,
    ) -> None:
        self.max_wait_s = max_wait_s
        self.probe_interval_s = probe_interval_s
        self.max_lag_s = max_lag_s
        self.lag_s = 0.0
        self._probe: asyncio.Task[None] | None = None
        self._active = [0, 0, 0]
        self._idle = [asyncio.Event(), asyncio.Event(), asyncio.Event()]
        for idle in self._idle:
            idle.set()

    @contextlib.asynccontextmanager
    async def active(self, lane: int) -> AsyncIterator[None]:
        self._active[lane] += 1
        self._idle[lane].clear()
        try:
            yield
        finally:
            self._active[lane] -= 1
            if self._active[lane] == 0:
                self._idle[lane].set()

    async def turn(self, lane: int) -> None:
        """Return once no work of a lane above ``lane`` is in progress (bounded wait)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait_s
        for higher in range(lane):
            left = deadline - loop.time()
            if self._active[higher] and left > 0:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                # that arrives as the event is set, and a cancelled brief would run on.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(left):
                        await self._idle[higher].wait()

    async def calm(self) -> None:
        """Return once the loop's lag is low (or after ``max_wait_s`` at most)."""
        if self._probe is None:
            self._probe = asyncio.create_task(self._measure(), name="loop-lag-probe")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait_s
        while self.lag_s > self.max_lag_s and loop.time() < deadline:
            await asyncio.sleep(self.probe_interval_s)

    async def _measure(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(self.probe_interval_s)
            self.lag_s = max(0.0, loop.time() - started - self.probe_interval_s)

    async def aclose(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
            self._probe = None
