"""Leases on link work: who is briefing a link right now, and how to take over from the dead.

A chat front end briefs a link while holding a *lease*: a claim
(``Store.claim_once``) that expires ``lease_s`` after its last heartbeat. A live
process renews all of its leases in one statement every ``lease_s / 3``; a
process that is killed stops renewing, so its leases lapse and another process
(or the same one, restarted) may take the work over. A graceful stop releases
its leases at once.

Progress sits beside the lease as a small pending item keyed ``progress:<link
key>``: the id of the message posted for the link (the placeholder), and,
once the brief is in, "finished". A taker-over reads it to continue the work
instead of starting again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from bot.store.store import DEFAULT_CLAIM_TTL_S, Store

log = logging.getLogger(__name__)

LEASE_S = 30.0
# A holder that neither finishes nor lets its lease lapse for this long is stuck, or
# the claim predates leases (a week-long claim): stop waiting for it.
MAX_WAIT_S = 900.0


def progress_key(link_key: str) -> str:
    """Where the progress of one link job is kept (outside every front end's resume prefix)."""
    return f"progress:{link_key}"


class Leases:
    """The leases this process holds, their heartbeat, and waiting for someone else's."""

    def __init__(self, store: Store, lease_s: float = LEASE_S) -> None:
        self.store = store
        self.lease_s = lease_s
        self._held: dict[str, asyncio.Event] = {}  # set when this process lets go
        self._heartbeat: asyncio.Task[None] | None = None

    async def try_acquire(self, key: str) -> bool:
        """Take the lease on ``key`` if it is free (or lapsed); no waiting."""
        if await self.store.claim_once(key, ttl_s=self.lease_s):
            self._hold(key)
            return True
        return False

    def adopt(self, key: str) -> None:
        """A lease this process claimed elsewhere (with the accept write): hold and renew it."""
        self._hold(key)

    async def acquire(self, key: str) -> tuple[bool, bool]:
        """Wait until the work for ``key`` is ours or done elsewhere.

        Returns ``(held, took_over)``: ``held`` False means the link is finished;
        ``took_over`` True means someone held it before us (a previous attempt may
        have posted something: look before posting).
        """
        took_over = False
        waited = 0.0
        while True:
            if await self.store.claim_once(key, ttl_s=self.lease_s):
                self._hold(key)
                return True, took_over
            if await self.finished(key):
                return False, took_over
            if waited >= MAX_WAIT_S:
                log.warning("lease: gave up waiting for a link held for %.0f s", waited)
                return False, took_over
            took_over = True
            step = max(0.05, self.lease_s / 3)
            await self._wait_local(key, step)
            waited += step

    async def progress(self, key: str) -> tuple[dict[str, Any], bool]:
        """The recorded progress of ``key`` (empty if none), and whether it is finished."""
        found = await self.store.get_pending(progress_key(key))
        return (dict(found[0]), found[1]) if found else ({}, False)

    async def finished(self, key: str) -> bool:
        found = await self.store.get_pending(progress_key(key))
        return bool(found and found[1])

    async def record(self, key: str, **progress: Any) -> None:
        """Persist progress (e.g. ``ts=`` of the placeholder) before going on."""
        await self.store.put_pending(progress_key(key), progress)

    async def finish(self, key: str) -> None:
        """The link is briefed: mark it so (after ``record``). The claim is kept for as long
        as a plain exactly-once claim, so a late duplicate stops at its first write."""
        await self.store.finish_pending(progress_key(key))
        await self.store.renew_claims([key], DEFAULT_CLAIM_TTL_S)
        self._let_go(key)

    async def release(self, key: str) -> None:
        """Let go of the lease (given up, or interrupted by a graceful stop): free at once."""
        self._let_go(key)
        await self.store.release(key)

    def _let_go(self, key: str) -> None:
        event = self._held.pop(key, None)
        if event is not None:
            event.set()

    async def aclose(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None

    def _hold(self, key: str) -> None:
        self._held[key] = asyncio.Event()
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(self._beat(), name="lease-heartbeat")

    async def _wait_local(self, key: str, timeout: float) -> None:
        """Sleep ``timeout``, or less if the holder is this process and lets go sooner."""
        event = self._held.get(key)
        if event is None:
            await asyncio.sleep(timeout)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def _beat(self) -> None:
        while self._held:
            await asyncio.sleep(self.lease_s / 3)
            keys = list(self._held)
            if not keys:
                break
            try:
                await self.store.renew_claims(keys, self.lease_s)
            except Exception:  # a missed beat is survivable; the next one may land
                log.warning("lease: heartbeat failed", exc_info=True)
