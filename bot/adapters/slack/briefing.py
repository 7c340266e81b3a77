"""The one Slack briefing flow every trigger shares: placeholder → brief → update.

Exactly-once works in two steps, both through the store:

1. *accept* (before Slack is acknowledged): the request becomes one pending
   item keyed by its ``event_id`` (``slack:event:<id>``) listing its link jobs;
   ``add_pending`` is first-caller-wins, so a retry or a Socket Mode
   redelivery of the same event adds nothing — one write per event;
2. *run* (in the background): each link job first takes ``claim_once`` on
   ``slack:msg:<channel>:<ts>:<canonical link>``, shared by every trigger, and
   only the winner posts the placeholder, builds the brief and updates the
   placeholder. The pending item is finished when all its links are.

On start, ``resume_pending`` runs again what a previous process accepted but
did not finish. A link whose claim is already taken is skipped: it was briefed,
or was interrupted after its claim and may have a placeholder in the thread —
a missing brief is better than a second reply.

Under a burst the order is: acknowledgements, then placeholders, then briefs
(``pacing``). An acknowledgement waits for its store write at most
``ACK_BUDGET_S``; past that it goes out first and the write lands just after
(still before anything is posted), so only an overloaded process that also
crashes in that instant can lose an event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.adapters.slack.pacing import InFlight, LoopPacer, WriteOrder
from bot.app import App
from bot.errors import LinkbriefError
from bot.pipeline.urls import links_in_message
from bot.render.slack import render_slack, render_slack_error, render_slack_placeholder

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

ResumeHandler = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class LinkJob:
    """One link to brief in one place; ``thread_ts`` None posts at the channel's top level."""

    key: str
    channel: str
    url: str
    thread_ts: str | None = None
    response_url: str | None = None  # slash commands: where to answer if we can't post
    team_id: str = ""  # whose daily model budget and rate limits apply
    user_id: str = ""

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> LinkJob:
        return cls(
            key=str(payload["key"]),
            channel=str(payload["channel"]),
            url=str(payload["url"]),
            thread_ts=payload.get("thread_ts"),
            response_url=payload.get("response_url"),
            team_id=str(payload.get("team_id") or ""),
            user_id=str(payload.get("user_id") or ""),
        )


def message_key(channel: str, ts: str, url: str) -> str:
    """The exactly-once key of one link in one message, shared by every trigger."""
    return f"slack:msg:{channel}:{ts}:{url}"


def event_key(event_id: str) -> str:
    return f"slack:event:{event_id}"


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
        self.writes = WriteOrder()
        self._tasks: set[asyncio.Task[None]] = set()
        self._resumers: dict[str, ResumeHandler] = {"links": self._resume_links}
        self.generic_error = LinkbriefError().message
        self.late_saves = 0  # acknowledgements sent before their work was saved
        self._late_logged_at = -LATE_LOG_EVERY_S

    # --- helpers the listeners share ------------------------------------------

    def links(self, text: str) -> list[str]:
        """Canonical links of a message worth briefing, capped by ``max_links_per_message``."""
        found, _ = links_in_message(text, limit=1000)
        wanted = [url for url in found if not is_slack_link(url)]
        return wanted[: self.app.settings.max_links_per_message]

    def on_resume(self, kind: str, handler: ResumeHandler) -> None:
        """Let a listener module resume its own kind of pending work."""
        self._resumers[kind] = handler

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

    # --- accept -----------------------------------------------------------------

    async def accept(self, key: str, jobs: list[LinkJob]) -> bool:
        """Persist a request's link jobs as one pending item; False if ``key`` is known."""
        if not jobs:
            return False
        payload = {"kind": "links", "jobs": [job.to_payload() for job in jobs]}
        return await self.add_pending(key, payload)

    async def add_pending(self, key: str, payload: dict[str, Any]) -> bool:
        """Persist accepted work, ahead of any other write this adapter has queued."""
        async with self.writes.turn(WriteOrder.ACK):
            return await self.app.store.add_pending(key, payload)

    def start(self, key: str, jobs: list[LinkJob]) -> None:
        """Run an accepted request's jobs in the background, then finish its pending item."""
        self.spawn(self.run_all(key, jobs), name=f"slack-briefs:{key}")

    async def run_all(self, key: str, jobs: list[LinkJob]) -> None:
        await asyncio.gather(*(self.run(job) for job in jobs))
        async with self.writes.turn(WriteOrder.FINISH):
            await self.app.store.finish_pending(key)

    # --- run --------------------------------------------------------------------

    async def run(self, job: LinkJob) -> None:
        """Brief one link: claim, placeholder, brief, update; errors become the reply."""
        async with self.placeholders.active():
            placeholder_ts = await self._claim_and_post(job)
        if placeholder_ts is None:
            return
        async with self._brief_slots:
            # Placeholders first: a brief starts only when none is waiting to be
            # posted and the event loop has room, so a burst shows "Reading…" at once.
            await self.placeholders.idle()
            await self.pacer.calm()
            message = await self._brief_message(job)
            await self._update(job, placeholder_ts, message)

    async def _claim_and_post(self, job: LinkJob) -> str | None:
        async with self._post_slots:
            async with self.writes.turn(WriteOrder.POST):
                claimed = await self.app.store.claim_once(job.key)
            if not claimed:
                log.info("slack: %s already briefed (or started) here", host_of(job.url))
                return None
            return await self._post_placeholder(job)

    async def _post_placeholder(self, job: LinkJob) -> str | None:
        placeholder = render_slack_placeholder(job.url)
        try:
            response = await self.client.chat_postMessage(
                channel=job.channel, thread_ts=job.thread_ts, **placeholder, **NO_UNFURL
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
            return render_slack(brief)
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

    async def _respond_ephemeral(self, response_url: str, text: str) -> None:
        try:
            await AsyncWebhookClient(response_url).send(text=text, response_type="ephemeral")
        except Exception:  # the response_url expired or is unreachable: nothing else to do
            log.warning("slack: could not answer through the response_url")

    # --- resume -------------------------------------------------------------------

    async def resume_pending(self, limit: int = 1000) -> int:
        """Restart the Slack work a previous process accepted; returns how many items."""
        items = [
            (key, payload)
            for key, payload in await self.app.store.pending(limit=limit)
            if key.startswith("slack:")
        ]
        for key, payload in items:
            resumer = self._resumers.get(str(payload.get("kind")))
            if resumer is None:
                log.warning("slack: unknown pending work kind %r; dropping it", payload.get("kind"))
                await self.app.store.finish_pending(key)
                continue
            self.spawn(resumer(key, payload), name=f"slack-resume:{payload.get('kind')}")
        return len(items)

    async def _resume_links(self, key: str, payload: dict[str, Any]) -> None:
        jobs = [LinkJob.from_payload(job) for job in payload.get("jobs") or []]
        await self.run_all(key, jobs)
