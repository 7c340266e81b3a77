"""The link-job protocol, once for every chat platform.

1. *accept* (before the platform is acknowledged): a ``Request`` becomes one
   pending item keyed by its trigger (``Store.accept_many``: first caller wins,
   so a retry or a redelivery adds nothing), and the same transaction claims
   each job's *lease* (``bot.store.leases``: a claim renewed while the job
   runs, kept for days once finished). Accepts arriving together share one
   transaction (``bot.store.batch``: group commit).
2. *run* (in the background): each job holds its lease; a job whose lease is
   held elsewhere (another trigger on the same message, a dead process) waits
   for it to finish or lapse. The holder posts the placeholder, records its
   ``Ref`` as the link's progress, has the brief built (started as soon as
   the lease is ours, so it overlaps the post), updates the placeholder and
   marks the link finished. Placeholders of one request go out in link order.
   The pending item is finished when all its jobs are.
3. *resume* (at start): a pending item a previous process did not finish runs
   again; a recorded placeholder is updated, an unrecorded one is looked for
   (``Surface.find``) before a new one is posted, and an update never adds a
   message.

Logs name a link by its host only (``jobs.host_of``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bot.delivery.jobs import LINKS_KIND, Asker, LinkJob, Request, host_of
from bot.delivery.order import ACK, BRIEF, PLACEHOLDER, Order
from bot.delivery.surface import Outcome, Ref, Surface
from bot.errors import LinkbriefError
from bot.pipeline.models import Brief
from bot.store.batch import Batcher
from bot.store.digests import DigestStore, record_shared_link
from bot.store.leases import LEASE_S, Leases
from bot.store.store import Store
from bot.timeutil import Clock, utc_now

log = logging.getLogger(__name__)

# How long an acknowledgement waits for its accept write. Slack retries an event it
# has not seen acknowledged within 3 s, and a retry only adds load, so under overload
# the acknowledgement goes first and the write lands just after (before any post).
ACK_BUDGET_S = 0.1
LATE_LOG_EVERY_S = 10.0
# Briefs built at once, per model slot (LLM_CONCURRENCY): while one wave waits on the
# model, the next is fetched and extracted; unbounded, a burst extracts every page
# before the first model call (docs/performance.md, round six: 0.91x burst total).
BRIEFS_PER_MODEL_SLOT = 2
MIN_BRIEF_SLOTS = 8
# On close, running jobs get this long to finish (their last writes), then are cancelled.
CLOSE_GRACE_S = 2.0

BriefLink = Callable[..., Awaitable[Brief]]  # ``App.brief_link``
ResumeHandler = Callable[[str, dict[str, Any]], Awaitable[None]]
Accept = tuple[str, dict[str, Any], list[str]]  # pending key, payload, lease keys to claim


class Delivery:
    """Accepts, runs and resumes one platform's link jobs; owns their background tasks."""

    def __init__(
        self,
        surface: Surface,
        *,
        store: Store,
        brief_link: BriefLink,
        model_slots: int = 1,
        lease_s: float = LEASE_S,
        order: Order | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.surface = surface
        self.platform = surface.platform
        self.store = store
        self._brief_link = brief_link
        self._clock = clock
        self.ack_budget_s = ACK_BUDGET_S
        self.order = order or Order()
        self.leases = Leases(store, lease_s)
        slots = max(MIN_BRIEF_SLOTS, BRIEFS_PER_MODEL_SLOT * model_slots)
        self._brief_slots = asyncio.Semaphore(slots)
        self._accepts: Batcher[Accept, tuple[bool, list[bool]]] = Batcher(self._write_accepts)
        self._claimed_at_accept: set[str] = set()
        self._resumers: dict[str, ResumeHandler] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.late_saves = 0  # acknowledgements sent before their work was saved
        self._late_logged_at = -LATE_LOG_EVERY_S

    # --- accept ----------------------------------------------------------------

    async def acknowledge(
        self, accept: Coroutine[Any, Any, Any], budget_s: float | None = None
    ) -> None:
        """Run ``accept`` (persist, then start) before the platform hears "received".

        A failure within the budget propagates (the platform retries later); past the
        budget the acknowledgement is not held any longer and the write lands after it.
        """
        budget_s = self.ack_budget_s if budget_s is None else budget_s
        task = asyncio.create_task(accept, name=f"{self.platform}-accept")
        self._track(task)
        try:
            async with self.order.active(ACK):
                await asyncio.wait_for(asyncio.shield(task), budget_s)
        except TimeoutError:
            task.add_done_callback(self._log_failure)
            self.late_saves += 1
            now = time.monotonic()
            if now - self._late_logged_at > LATE_LOG_EVERY_S:  # a warning, not a flood
                self._late_logged_at = now
                log.warning("%s: the store is slow; acknowledged before saving (%d so far)",
                            self.platform, self.late_saves)  # fmt: skip

    async def accept_message(self, request: Request, *, channel_id: str, links: list[str]) -> str:
        """A person's message (or edit) with links: "accepted", "known" (a redelivery:
        nothing started) or "auto off" (the channel briefs only on request). Either way
        the links count as shared in the channel (its digest), written after the accept."""
        shares = self._record_shares(channel_id, links)
        if not (await self.store.get_channel(self.platform, channel_id)).auto:
            self.spawn(shares, name=f"{self.platform}-shares")
            return "auto off"
        if not await self.submit(request):
            shares.close()
            return "known"
        self.spawn(shares, name=f"{self.platform}-shares")
        return "accepted"

    async def _record_shares(self, channel_id: str, links: list[str]) -> None:
        for url in links:
            await record_shared_link(self.store, self.platform, channel_id, url, self._clock())

    async def submit(self, request: Request) -> bool:
        """Accept ``request`` and start it; False (nothing started) if its key is known."""
        if not await self.accept(request):
            return False
        self.start(request)
        return True

    async def accept(self, request: Request) -> bool:
        """Persist ``request`` and claim its jobs' leases in one write; False if known."""
        if not request.jobs:
            return False
        keys = [job.key for job in request.jobs]
        added, won = await self._accepts.submit((request.key, request.to_payload(), keys))
        for key, held in zip(keys, won, strict=False):
            if held:
                self._claimed_at_accept.add(key)
                self.leases.adopt(key)
        return added

    async def add_pending(self, key: str, payload: dict[str, Any]) -> bool:
        """Persist other accepted work (``payload["kind"]`` names its resumer)."""
        added, _ = await self._accepts.submit((key, payload, []))
        return added

    async def _write_accepts(self, items: list[Accept]) -> list[tuple[bool, list[bool]]]:
        return await self.store.accept_many(items, self.leases.lease_s)

    def start(self, request: Request, *, resumed: bool = False) -> None:
        self.spawn(self.run(request, resumed=resumed), name=f"{self.platform}-links")

    def on_resume(self, kind: str, handler: ResumeHandler) -> None:
        """Let a platform resume its own kind of pending work (e.g. Slack's reactions)."""
        self._resumers[kind] = handler

    # --- run -------------------------------------------------------------------

    async def run(self, request: Request, *, resumed: bool = False) -> None:
        """Run every job of ``request`` (placeholders in order), then finish its pending item.

        ``resumed``: a previous process accepted it, so it may have posted already.
        """
        if not request.language and request.asker.channel_id:  # issue 19: the brief's labels
            chosen = await DigestStore(self.store).channel_language(
                self.platform, request.asker.channel_id
            )
            request.language = chosen or ""
        steps = []
        previous: asyncio.Future[None] | None = None
        for job in request.jobs:
            posted = asyncio.get_running_loop().create_future()
            steps.append(self._run_job(request, job, resumed, after=previous, posted=posted))
            previous = posted
        results = await asyncio.gather(*steps, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        for failure in failures:
            if isinstance(failure, asyncio.CancelledError):
                raise failure
        if failures:  # the item stays pending: the next start tries again
            raise failures[0]
        await self.store.finish_pending(request.key)

    async def _run_job(
        self,
        request: Request,
        job: LinkJob,
        resumed: bool,
        *,
        after: asyncio.Future[None] | None,
        posted: asyncio.Future[None],
    ) -> None:
        try:
            held, took_over = await self._lease(job, posted)
        except BaseException:
            _set(posted)
            raise
        if not held:
            _set(posted)
            log.info("%s: %s already briefed (or started) here", self.platform, _name(job))
            return
        building: asyncio.Task[Outcome] | None = None
        try:
            # A fresh job's brief is built while its placeholder goes out; a resumed or
            # taken-over job may be finished already, so it reads its progress first.
            fresh = not (resumed or took_over)
            if job.note is None and fresh:
                building = asyncio.create_task(self._brief(request, job), name="brief")
            if after is not None:
                await asyncio.shield(after)  # the previous link's placeholder first
            await self.order.turn(PLACEHOLDER)
            async with self.order.active(PLACEHOLDER):
                ref = await self._placeholder(request, job, look_first=not fresh)
            _set(posted)
            if ref is None:  # finished elsewhere, or the platform refused the post
                await _cancelled(building)
                await self.leases.release(job.key)
                return
            if job.note is None:
                if building is None:
                    building = asyncio.create_task(self._brief(request, job), name="brief")
                await self.surface.update(request, job, ref, await building)
            await self.leases.finish(job.key)
        except BaseException:
            # Interrupted (shutdown) or failed: the progress stays, the lease goes, so the
            # next process (or a retry) finishes this placeholder without waiting.
            await _cancelled(building)
            await _quietly(self.leases.release(job.key))
            raise
        finally:
            _set(posted)

    async def _lease(self, job: LinkJob, posted: asyncio.Future[None]) -> tuple[bool, bool]:
        """``(held, took_over)``: won with the accept, claimed now, or waited for."""
        if job.key in self._claimed_at_accept:
            self._claimed_at_accept.discard(job.key)
            return True, False
        if await self.leases.try_acquire(job.key):
            return True, False
        _set(posted)  # someone holds it: the next link's placeholder need not wait
        return await self.leases.acquire(job.key)

    async def _placeholder(self, request: Request, job: LinkJob, *, look_first: bool) -> Ref | None:
        """The job's placeholder: recorded earlier, found where it posts, or posted now."""
        progress, finished = await self.leases.progress(job.key)
        if finished:  # briefed by another trigger while this one waited
            return None
        ref: Ref | None = progress or None
        if ref is None:
            await self._on_surface(self.surface.prepare, request, look=look_first)
        if ref is None and look_first:
            taken = [(await self.leases.progress(other.key))[0] for other in request.jobs
                     if other.key != job.key]  # fmt: skip
            ref = await self._on_surface(self.surface.find, request, job, taken)
            if ref is not None:
                log.info("%s: found the placeholder of an interrupted brief", self.platform)
        if ref is None:
            ref = await self._on_surface(self.surface.post, request, job)
            if ref is None:
                return None
        if ref != progress:
            await self.leases.record(job.key, **ref)
        return ref

    async def _on_surface(
        self, call: Callable[..., Awaitable[Any]], request: Request, *args: Any, **kwargs: Any
    ) -> Any:
        """``call``, then save the request if the platform amended its place."""
        before = dict(request.place)
        ref = await call(request, *args, **kwargs)
        if request.place != before:
            await self.store.put_pending(request.key, request.to_payload())
        return ref

    async def _brief(self, request: Request, job: LinkJob) -> Outcome:
        async with self._brief_slots:
            await self.order.turn(BRIEF)
            await self.order.calm()
            return await self.outcome(job.url, request.asker)

    async def outcome(self, url: str, asker: Asker) -> Outcome:
        """The brief of ``url`` for ``asker``, or the error to show; never raises for a bad link."""
        try:
            return await self._brief_link(
                url,
                platform=self.platform,
                team_id=asker.team_id,
                channel_id=asker.channel_id,
                user_id=asker.user_id,
            )
        except LinkbriefError as exc:
            log.info("%s: no brief for %s: %s", self.platform, host_of(url), exc.kind)
            return exc
        except Exception:
            log.exception("%s: unexpected error briefing a link on %s", self.platform, host_of(url))
            return LinkbriefError()

    # --- resume ----------------------------------------------------------------

    async def resume_pending(self, limit: int = 1000) -> int:
        """Restart this platform's work a previous process accepted; returns how many items."""
        prefix = f"{self.platform}:"
        items = [(k, p) for k, p in await self.store.pending(limit=limit) if k.startswith(prefix)]
        for key, payload in items:
            kind = str(payload.get("kind"))
            if kind == LINKS_KIND:
                try:
                    request = Request.from_payload(key, payload)
                except (KeyError, TypeError, ValueError):
                    log.warning("%s: pending work does not parse; dropping it", self.platform)
                    await self.store.finish_pending(key)
                    continue
                self.start(request, resumed=True)
            elif kind in self._resumers:
                self.spawn(self._resumers[kind](key, payload), name=f"{self.platform}-resume")
            else:
                log.warning("%s: unknown pending work kind %r; dropping it", self.platform, kind)
                await self.store.finish_pending(key)
        if items:
            log.info("%s: resuming %d pending item(s)", self.platform, len(items))
        return len(items)

    # --- tasks -----------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """Run ``coro`` in the background: cancelled on close, never lost silently."""
        self._track(asyncio.create_task(self._guarded(coro, name), name=name))

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: background task %s failed", self.platform, name)

    def _log_failure(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: accepting an event failed", self.platform, exc_info=task.exception())

    async def drain(self) -> None:
        """Wait until every background task has finished (tests and benchmarks)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self, grace_s: float = CLOSE_GRACE_S) -> None:
        """Stop: running jobs get ``grace_s`` to finish, then are cancelled (they stay
        pending and are resumed next start); leases won but never used are freed."""
        tasks = list(self._tasks)
        if tasks:
            _, unfinished = await asyncio.wait(tasks, timeout=grace_s)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        for key in list(self._claimed_at_accept):
            await _quietly(self.leases.release(key))
        self._claimed_at_accept.clear()
        await self.leases.aclose()


def _name(job: LinkJob) -> str:
    return "the note" if job.note is not None else host_of(job.url)


def _set(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _cancelled(task: asyncio.Task[Any] | None) -> None:
    """Stop a brief nobody will post (finished elsewhere, or we are stopping)."""
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


async def _quietly(step: Coroutine[Any, Any, None]) -> None:
    """Best-effort cleanup on the way out: a failure here must not hide the first one."""
    try:
        await step
    except Exception:
        log.warning("delivery: cleanup after an interrupted job failed", exc_info=True)
