"""The one Slack briefing flow every trigger shares: placeholder → brief → update.

Exactly-once works in three steps, all through the store:

1. *accept* (before Slack is acknowledged): the request becomes one pending
   item keyed by its ``event_id`` (``slack:event:<id>``) listing its link jobs;
   ``add_pending`` is first-caller-wins, so a retry or a Socket Mode
   redelivery of the same event adds nothing — one write per event;
2. *run* (in the background): each link job takes a *lease* on
   ``slack:msg:<channel>:<ts>:<canonical link>``, shared by every trigger
   (``bot.store.leases``: a claim renewed by a heartbeat while the job runs).
   The holder posts the placeholder, records its ``ts`` as the link's
   progress, builds the brief, updates the placeholder and marks the link
   finished. A job that finds the lease held waits: for "finished" (then it has
   nothing to do) or for the lease to lapse (its holder died: take over).
   The pending item is finished when all its links are.
3. *recover*: on start, ``resume_pending`` runs again what a previous process
   accepted but did not finish; a resumed or taken-over link's placeholder is
   the recorded one or is looked up in the thread before a new one is posted
   (``bot.adapters.slack.recovery`` holds the saved shape, the keys, the
   look-ups and the window that remains).

Under a burst acknowledgements go first (``pacing``); a fresh link's brief is
built while its placeholder is posted, and the update waits for both. An
acknowledgement waits for its store write at most ``ACK_BUDGET_S``; past that
it goes out first and the write lands just after (still before anything is
posted), so only an overloaded process that also
crashes in that instant can lose an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from typing import Any
from urllib.parse import urlsplit

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.adapters.slack.pacing import InFlight, LoopPacer, WriteOrder
from bot.adapters.slack.recovery import LINK_METADATA_EVENT, LinkJob, Recovery, ResumeHandler
from bot.adapters.slack.recovery import event_key as event_key
from bot.adapters.slack.recovery import message_key as message_key
from bot.adapters.slack.recovery import note_key as note_key
from bot.app import App
from bot.errors import LinkbriefError
from bot.followup.render import CONTROLS_BLOCK_ID, with_slack_controls
from bot.pipeline.urls import links_in_message
from bot.render.slack import render_slack, render_slack_error, render_slack_placeholder
from bot.store.batch import Batcher
from bot.store.leases import LEASE_S, Leases

log = logging.getLogger(__name__)

PLATFORM = "slack"
# Every bot post: the brief is the preview, Slack's own unfurl would only repeat it.
NO_UNFURL: dict[str, bool] = {"unfurl_links": False, "unfurl_media": False}
NOT_IN_CHANNEL_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
NOT_IN_CHANNEL_TEXT = (
    "I can't post in this channel yet. Invite me with `/invite @linkbrief` and try again."
)

# How long an acknowledgement may wait for the store. Slack retries an event it has
# not seen acknowledged within 3 s, and a retry only adds load, so under overload
# the acknowledgement goes first and persisting finishes just after it (still
# before anything is posted).
ACK_BUDGET_S = 0.1
LATE_LOG_EVERY_S = 10.0
POST_CONCURRENCY = 16
BRIEF_CONCURRENCY = 8
# Brief slots per model slot (LLM_CONCURRENCY): while one wave of briefs waits on
# the model, the next is fetched and extracted. With 8 fixed slots, 200 links on a
# 1 s model took 25 waves (27.5 s) though LLM_CONCURRENCY=32 allows 7 (bench/concurrency.py).
BRIEFS_PER_MODEL_SLOT = 2


# An accept write: pending key, payload, and the lease keys to claim if it is new.
Accept = tuple[str, dict[str, Any], list[str]]


def skipped_note(briefed: int, skipped: int) -> str:
    return f"Only the first {briefed} links are briefed; {skipped} more skipped."


def is_slack_link(url: str) -> bool:
    """Links into Slack itself (message permalinks, often to our own briefs): never briefed."""
    host = (urlsplit(url).hostname or "").lower()
    return host == "slack.com" or host.endswith(".slack.com")


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("slack: accepting an event failed", exc_info=task.exception())


def host_of(url: str) -> str:
    """What logs may say about a link: its host only (queries can carry secrets)."""
    return urlsplit(url).hostname or "?"


class Briefer:
    """Accepts, runs and resumes link jobs; owns the background tasks it starts."""

    def __init__(
        self,
        app: App,
        client: AsyncWebClient,
        *,
        post_concurrency: int = POST_CONCURRENCY,
        brief_concurrency: int | None = None,
        lease_s: float = LEASE_S,
    ) -> None:
        self.app = app
        self.client = client
        # Background work is bounded so a burst of links cannot starve the event loop
        # and the database pool that acknowledging the next event needs. Placeholders
        # have their own slots, so they still go out while briefs wait their turn.
        self._post_slots = asyncio.Semaphore(post_concurrency)
        if brief_concurrency is None:
            model_slots = app.settings.llm_concurrency
            brief_concurrency = max(BRIEF_CONCURRENCY, BRIEFS_PER_MODEL_SLOT * model_slots)
        self._brief_slots = asyncio.Semaphore(brief_concurrency)
        self.pacer = LoopPacer()
        self.placeholders = InFlight()
        # Events being acknowledged: link work waits until a burst of them is answered.
        self.accepting = InFlight(max_wait_s=ACK_BUDGET_S * 20)
        self.writes = WriteOrder()
        self.leases = Leases(
            app.store, lease_s, write_turn=lambda: self.writes.turn(WriteOrder.POST)
        )
        # Acknowledgements arriving together share one transaction (group commit); it
        # also claims the leases of the accepted link jobs (no second write per link).
        self._accepts: Batcher[Accept, tuple[bool, list[bool]]] = Batcher(self._write_accepts)
        self._claimed_at_accept: set[str] = set()  # job keys whose lease the accept won
        self._tasks: set[asyncio.Task[None]] = set()
        self.recovery = Recovery(app, client, self.leases, self.writes, self.spawn)
        self.recovery.on_resume("links", self._resume_links)
        self.generic_error = LinkbriefError().message
        self.late_saves = 0  # acknowledgements sent before their work was saved
        self._late_logged_at = -LATE_LOG_EVERY_S

    # --- helpers the listeners share ------------------------------------------

    def links(self, text: str) -> list[str]:
        """Canonical links of a message worth briefing, capped by ``max_links_per_message``."""
        return self.links_and_skipped(text)[0]

    def links_and_skipped(self, text: str) -> tuple[list[str], int]:
        """The capped links worth briefing, and how many more the cap left out."""
        found, _ = links_in_message(text, limit=1000)
        wanted = [url for url in found if not is_slack_link(url)]
        cap = self.app.settings.max_links_per_message
        return wanted[:cap], max(0, len(wanted) - cap)

    def on_resume(self, kind: str, handler: ResumeHandler) -> None:
        """Let a listener module resume its own kind of pending work."""
        self.recovery.on_resume(kind, handler)

    async def before_ack(
        self, accept: Coroutine[Any, Any, None], budget_s: float = ACK_BUDGET_S
    ) -> None:
        """Run ``accept`` (persist, then start the work) ahead of the acknowledgement.

        A failure within the budget propagates, so bolt answers 500 and Slack
        retries later; past the budget the acknowledgement is not held any longer.
        """
        task = asyncio.create_task(accept, name="slack-accept")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            async with self.accepting.active():
                await asyncio.wait_for(asyncio.shield(task), budget_s)
        except TimeoutError:
            task.add_done_callback(_log_failure)
            self.late_saves += 1
            now = time.monotonic()
            if now - self._late_logged_at > LATE_LOG_EVERY_S:  # a warning, not a flood
                self._late_logged_at = now
                log.warning(
                    "slack: the store is slow; acknowledged before saving (%d so far)",
                    self.late_saves,
                )

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``coro`` in the background; it is cancelled on shutdown, never lost silently."""
        task = asyncio.create_task(self._guarded(coro, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("slack background task %s failed", name)

    async def drain(self) -> None:
        """Wait until every background task has finished (tests and benchmarks)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel background work; accepted items stay pending and are resumed next start."""
        await self.pacer.aclose()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # Leases won at accept by jobs that never started: free them for the next process.
        for key in list(self._claimed_at_accept):
            await _quietly(self.leases.release(key))
        self._claimed_at_accept.clear()
        await self.leases.aclose()

    # --- accept -----------------------------------------------------------------

    async def accept(self, key: str, jobs: list[LinkJob]) -> bool:
        """Persist a request's link jobs as one pending item; False if ``key`` is known.

        The same transaction claims each job's lease, so ``run`` starts holding it; a
        job whose lease is held elsewhere (another trigger on the same message) waits
        for it in ``run`` as before.
        """
        if not jobs:
            return False
        payload = {"kind": "links", "jobs": [job.to_payload() for job in jobs]}
        keys = [job.key for job in jobs]
        added, won = await self._accepts.submit((key, payload, keys))
        for job_key, held in zip(keys, won, strict=False):
            if held:
                self._claimed_at_accept.add(job_key)
                self.leases.adopt(job_key)
        return added

    async def add_pending(self, key: str, payload: dict[str, Any]) -> bool:
        """Persist accepted work, ahead of any other write this adapter has queued."""
        added, _ = await self._accepts.submit((key, payload, []))
        return added

    async def _write_accepts(self, items: list[Accept]) -> list[tuple[bool, list[bool]]]:
        async with self.writes.turn(WriteOrder.ACK):
            return await self.app.store.accept_many(items, self.leases.lease_s)

    def start(self, key: str, jobs: list[LinkJob]) -> None:
        """Run an accepted request's jobs in the background, then finish its pending item."""
        self.spawn(self.run_all(key, jobs), name=f"slack-briefs:{key}")

    async def run_all(self, key: str, jobs: list[LinkJob], *, resumed: bool = False) -> None:
        await asyncio.gather(*(self.run(job, resumed=resumed) for job in jobs))
        async with self.writes.turn(WriteOrder.FINISH):
            await self.app.store.finish_pending(key)

    # --- run --------------------------------------------------------------------

    async def run(self, job: LinkJob, *, resumed: bool = False) -> None:
        """Brief one link: lease, placeholder, brief, update; errors become the reply.

        ``resumed``: a previous process accepted this job, so it may have posted.
        """
        # Acknowledgements first: under a burst, link work starts once they are out.
        await self.accepting.idle()
        if job.key in self._claimed_at_accept:  # won with the accept write
            self._claimed_at_accept.discard(job.key)
            held = True
        else:
            async with self.placeholders.active():
                held = await self.leases.try_acquire(job.key)  # batched with other claims
        took_over = False
        if not held:
            # Someone holds the link: wait (outside every slot) until it is finished
            # there, or its holder died and the lease lapsed.
            held, took_over = await self.leases.acquire(job.key)
            if not held:
                log.info("slack: %s already briefed (or started) here", host_of(job.url))
                return
        # A fresh job's brief is built while its placeholder goes out: the lease is
        # ours, and only the update needs the placeholder. A resumed or taken-over job
        # may be finished already, so it learns that (from its progress) first.
        fresh = not (resumed or took_over)
        building: asyncio.Task[dict[str, Any]] | None = None
        try:
            if job.note is None and fresh:
                building = asyncio.create_task(self._paced_brief(job), name="slack-brief")
            async with self.placeholders.active():
                placeholder_ts = await self._placeholder(job, look_first=not fresh)
            if placeholder_ts is None:  # finished elsewhere, or Slack refused the post
                await _cancelled(building)
                await self.leases.release(job.key)
                return
            if job.note is None:
                if building is None:
                    building = asyncio.create_task(self._paced_brief(job), name="slack-brief")
                message = await building
                if _has_controls(message):  # issue 18: recorded first, so a question or a
                    await self._record_post(job, placeholder_ts)  # click never finds none
                await self._update(job, placeholder_ts, message)
            async with self.writes.turn(WriteOrder.FINISH):
                await self.leases.finish(job.key)
        except BaseException:
            # Interrupted (shutdown) or failed: the progress stays, the lease goes, so
            # the next process (or a retry) finishes this placeholder without waiting.
            await _cancelled(building)
            await _quietly(self.leases.release(job.key))
            raise

    async def _paced_brief(self, job: LinkJob) -> dict[str, Any]:
        """The job's rendered brief, built in a brief slot once the event loop has room."""
        async with self._brief_slots:
            # Acknowledgements first: a brief starts only when the loop's lag is low.
            await self.pacer.calm()
            return await self._brief_message(job)

    async def _placeholder(self, job: LinkJob, *, look_first: bool) -> str | None:
        """The link's placeholder: recorded earlier, found in the thread, or posted now."""
        async with self._post_slots:
            return await self.recovery.placeholder(
                job, look_first=look_first, post=self._post_placeholder
            )

    async def _post_placeholder(self, job: LinkJob) -> str | None:
        placeholder = render_slack_placeholder(job.url) if job.note is None else {"text": job.note}
        metadata = {"event_type": LINK_METADATA_EVENT, "event_payload": {"job": job.tag}}
        try:
            response = await self.client.chat_postMessage(
                channel=job.channel,
                thread_ts=job.thread_ts,
                metadata=metadata,
                **placeholder,
                **NO_UNFURL,
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown"))
            log.warning("slack: could not post in %s (%s)", job.channel, error)
            if error in NOT_IN_CHANNEL_ERRORS and job.response_url:
                await self._respond_ephemeral(job.response_url, NOT_IN_CHANNEL_TEXT)
            return None
        return str(response["ts"])

    async def _brief_message(self, job: LinkJob) -> dict[str, Any]:
        """The rendered brief, or the rendered friendly error; never raises for a bad link."""
        url = job.url
        try:
            brief = await self.app.brief_link(
                url,
                platform=PLATFORM,
                team_id=job.team_id,
                channel_id=job.channel,
                user_id=job.user_id,
            )
            return with_slack_controls(render_slack(brief), version=0)
        except LinkbriefError as exc:
            log.info("slack: no brief for %s: %s", host_of(url), exc.kind)
            return render_slack_error(exc.message)
        except Exception:
            log.exception("slack: unexpected error briefing a link on %s", host_of(url))
            return render_slack_error(self.generic_error)

    async def _update(self, job: LinkJob, ts: str, message: dict[str, Any]) -> None:
        # chat.update does not document the unfurl flags; they are sent anyway so the
        # update can never turn previews on, and Slack ignores arguments it does not use.
        try:
            await self.client.chat_update(channel=job.channel, ts=ts, **message, **NO_UNFURL)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown"))
            log.warning("slack: chat.update with blocks failed (%s); sending text only", error)
            text = str(message.get("text") or self.generic_error)
            await self.client.chat_update(channel=job.channel, ts=ts, text=text, blocks=[])

    async def _record_post(self, job: LinkJob, ts: str) -> None:
        """Remember the posted brief for its controls and follow-up questions (issue 18)."""
        try:
            await self.app.followups.followups.record_post(
                platform=PLATFORM, channel_id=job.channel, message_id=ts,
                thread_id=job.thread_ts or ts, team_id=job.team_id,
                poster_id=job.poster_id or job.user_id,
                url=job.url,
            )  # fmt: skip
        except Exception:  # the brief is out; only its controls will say "gone"
            log.warning("slack: could not record a posted brief", exc_info=True)

    async def _respond_ephemeral(self, response_url: str, text: str) -> None:
        try:
            await AsyncWebhookClient(response_url).send(text=text, response_type="ephemeral")
        except Exception:  # the response_url expired or is unreachable: nothing else to do
            log.warning("slack: could not answer through the response_url")

    # --- resume -------------------------------------------------------------------

    async def resume_pending(self, limit: int = 1000) -> int:
        """Restart the Slack work a previous process accepted; returns how many items."""
        return await self.recovery.resume_pending(limit)

    async def _resume_links(self, key: str, payload: dict[str, Any]) -> None:
        jobs = [LinkJob.from_payload(job) for job in payload.get("jobs") or []]
        await self.run_all(key, jobs, resumed=True)


def _has_controls(message: dict[str, Any]) -> bool:
    return any(b.get("block_id") == CONTROLS_BLOCK_ID for b in message.get("blocks") or [])


async def _cancelled(task: asyncio.Task[Any] | None) -> None:
    """Stop a brief nobody will post (the link was finished elsewhere, or we are stopping)."""
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
        log.warning("slack: cleanup after an interrupted job failed", exc_info=True)
