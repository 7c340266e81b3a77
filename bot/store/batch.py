"""Group commit: writes that arrive while one transaction runs share the next one.

Under a burst (200 Slack events at once) every acknowledgement and every lease
claim is a one-row write, and SQLite takes one writer at a time: written one
transaction each, they queue for hundreds of milliseconds, most of it spent on
BEGIN/COMMIT and thread hand-offs rather than on the rows. ``Batcher`` writes
the first item at once (no added latency when idle), and everything that queued
meanwhile in one transaction after it. Each caller still gets its own answer,
only after the transaction holding its item has committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
MAX_BATCH = 256


class Batcher(Generic[T, R]):
    """Feeds ``write`` (one transaction for a list of items, answers in order) in batches."""

    def __init__(
        self, write: Callable[[list[T]], Awaitable[list[R]]], max_batch: int = MAX_BATCH
    ) -> None:
        self._write = write
        self._max_batch = max_batch
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Write ``item`` with whatever else is queued; its answer once committed."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="store-batch")
        # The write goes on if this caller is cancelled: others share its transaction.
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            try:
                answers = await self._write([item for item, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], exc=exc)
                    continue
                # One bad item must not fail the others: write them one at a time.
                log.warning("store: a batch of %d writes failed; writing them singly", len(batch))
                for item, future in batch:
                    try:
                        (answer,) = await self._write([item])
                    except Exception as single:
                        _settle(future, exc=single)
                    else:
                        _settle(future, answer)
                continue
            for (_, future), answer in zip(batch, answers, strict=True):
                _settle(future, answer)


def _settle(
    future: asyncio.Future[R], answer: R | None = None, exc: Exception | None = None
) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(answer)  # type: ignore[arg-type]
