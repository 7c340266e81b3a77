"""What a Slack link job needs to survive a crash: the persisted work, its exactly-once
keys, and how to find and restart, after a restart, what a dead process left behind.

``LinkJob`` is one link job as saved in a pending item (``Store.add_pending``)
before anything is posted; ``message_key``, ``note_key`` and ``event_key`` are
the keys its leases and pending items are stored under. ``Recovery`` keeps the
link's progress (the placeholder's ``ts``, recorded as soon as Slack returns it)
and finds, after a restart, the placeholder of a link a dead process took: the
recorded one, or, when the process died between posting and recording, its
message in the thread (every placeholder carries message metadata naming its
link), so it is updated rather than posted again. ``resume_pending`` runs again
what a previous process accepted but did not finish (``chat.update`` never adds
a message).

The remaining window: Slack accepted a ``chat.postMessage`` but the process
died before reading the answer *and* the message is not yet visible to
``conversations.replies`` (or lies beyond its first page of 200 replies): then
the link gets a second placeholder. A killed process's links wait for its
lease to lapse (``LEASE_S``) before another process takes them over.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict, dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.pacing import WriteOrder
from bot.app import App
from bot.store.leases import Leases
from bot.store.tables import digest

log = logging.getLogger(__name__)

# Message metadata on every placeholder, naming its link job, so a process taking
# over after a crash finds the placeholder in the thread instead of posting another.
LINK_METADATA_EVENT = "linkbrief_link"
THREAD_SEARCH_LIMIT = 200

ResumeHandler = Callable[[str, dict[str, Any]], Awaitable[None]]
PostPlaceholder = Callable[["LinkJob"], Awaitable[str | None]]
Spawn = Callable[[Coroutine[Any, Any, None], str], None]


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
    note: str | None = None  # post this text instead of briefing (e.g. "links skipped")
    poster_id: str = ""  # who posted the link, when not the asker (a reaction); issue 18

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
            note=payload.get("note"),
            poster_id=str(payload.get("poster_id") or ""),
        )

    @property
    def tag(self) -> str:
        """What the placeholder's metadata says about its job (a digest: keys hold URLs)."""
        return digest(self.key)[:32]


def message_key(channel: str, ts: str, url: str) -> str:
    """The exactly-once key of one link in one message, shared by every trigger."""
    return f"slack:msg:{channel}:{ts}:{url}"


def note_key(channel: str, ts: str) -> str:
    """The exactly-once key of the "links skipped" note of one message."""
    return f"slack:msg:{channel}:{ts}:#skipped-note"


def event_key(event_id: str) -> str:
    return f"slack:event:{event_id}"


class Recovery:
    """Records and finds link placeholders, and restarts the work a dead process accepted."""

    def __init__(
        self,
        app: App,
        client: AsyncWebClient,
        leases: Leases,
        writes: WriteOrder,
        spawn: Spawn,
    ) -> None:
        self.app = app
        self.client = client
        self.leases = leases
        self.writes = writes
        self._spawn = spawn
        self._resumers: dict[str, ResumeHandler] = {}

    def on_resume(self, kind: str, handler: ResumeHandler) -> None:
        """Let a listener module resume its own kind of pending work."""
        self._resumers[kind] = handler

    async def placeholder(
        self, job: LinkJob, *, look_first: bool, post: PostPlaceholder
    ) -> str | None:
        """The link's placeholder: recorded earlier, found in the thread, or posted now."""
        progress, finished = await self.leases.progress(job.key)
        if finished:  # briefed by another trigger while this one waited
            return None
        ts = progress.get("ts")
        if ts is None and look_first:
            ts = await self.find_placeholder(job)
            if ts is not None:
                log.info("slack: found the placeholder of an interrupted brief")
        if ts is None:
            ts = await post(job)
            if ts is None:
                return None
        if progress.get("ts") != ts:
            async with self.writes.turn(WriteOrder.POST):
                await self.leases.record(job.key, ts=ts)
        return str(ts)

    async def find_placeholder(self, job: LinkJob) -> str | None:
        """Our message for ``job`` already in its thread (or channel), by its metadata."""
        window: dict[str, Any] = {"include_all_metadata": True, "limit": THREAD_SEARCH_LIMIT}
        try:
            if job.thread_ts:
                found = await self.client.conversations_replies(
                    channel=job.channel, ts=job.thread_ts, **window
                )
            else:
                found = await self.client.conversations_history(channel=job.channel, **window)
        except SlackApiError as exc:
            log.warning("slack: could not read the thread (%s)", exc.response.get("error"))
            return None
        for message in found.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == LINK_METADATA_EVENT and payload.get("job") == job.tag:
                return str(message["ts"])
        return None

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
            self._spawn(resumer(key, payload), f"slack-resume:{payload.get('kind')}")
        return len(items)
