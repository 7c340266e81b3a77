"""What a Discord message's briefing needs to survive a crash: the persisted work, and
how to find, after a restart, the thread and the messages a dead process posted.

``MessageWork`` is the pending item saved (``Store.add_pending``) before anything
is posted for a message: where it was, who wrote it, its links, and whether a
thread was planned; once the thread exists its id is saved into the same item.
``Place`` is where the briefing happens, built either from the live
``discord.Message`` or, on resume, from the saved ids alone (partial objects:
no cache is needed, so it works in ``setup_hook`` before the gateway is up).
``Tracker`` settles and saves where a message's jobs post (a thread on it, or
replies), and finds, after a restart, what a dead process posted: the thread by
the message's id (a thread started from a message takes its id), a recorded
placeholder by its id, an unrecorded one by its text among our messages after
the person's message (in the thread, or among our replies to it).

Remaining windows: a MESSAGE_CREATE that arrives while no process is up, or in
the instant before its pending item is written, is lost: the gateway redelivers
only to the session that missed it, and a new process starts a new session. A
placeholder Discord accepted whose id was not recorded is found only within one
page (``SEARCH_LIMIT``) of history after the person's message and only while it
still reads as the placeholder; past that (a very busy reply channel, a
moderator's edit) the link gets a second placeholder. A placeholder deleted by a
moderator is not posted again. A brief edited in but not marked finished is
edited in again (same message). A thread created while Discord's answer was lost
is found by its id; one created by someone else is used as ours.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol, TypeVar

import discord

from bot.render.common import host_of
from bot.store.leases import Leases
from bot.store.store import Store

log = logging.getLogger(__name__)

PENDING_PREFIX = "discord:message:"
# One page of history after the person's message: the placeholders follow it closely.
SEARCH_LIMIT = 100
SKIPPED_NOTE = "#skipped-note"
THREAD_ARCHIVE_MINUTES = 1440
# On close, running briefs get this long to finish (e.g. their last store writes).
CLOSE_GRACE_S = 2.0
THREAD_NAME_LIMIT = 100
THREAD_ALREADY_CREATED = 160004  # Discord's code: this message already has a thread

Target = discord.abc.Messageable
T = TypeVar("T")


def claim_key(message_id: int, link: str) -> str:
    """The lease key of one link of one message (also the claim a finished link keeps)."""
    return f"discord:msg:{message_id}:{link}"


@dataclass(frozen=True, slots=True)
class MessageWork:
    """One message's link jobs, as saved before anything is posted for it."""

    message_id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    settings_channel_id: str  # threads and forum posts follow their parent's settings
    links: list[str] = field(default_factory=list)
    dropped: int = 0  # links over the cap: one note says so
    thread: bool = False  # a thread on the message is planned (else: replies)
    thread_id: int | None = None  # set once the thread exists

    @property
    def key(self) -> str:
        return f"{PENDING_PREFIX}{self.message_id}"

    def job_keys(self) -> list[tuple[str, str | None]]:
        """``(lease key, link)`` per job, in posting order; the note's link is None."""
        jobs: list[tuple[str, str | None]] = [
            (claim_key(self.message_id, link), link) for link in self.links
        ]
        if self.dropped:
            jobs.append((claim_key(self.message_id, SKIPPED_NOTE), None))
        return jobs

    def to_payload(self) -> dict[str, Any]:
        return {"kind": "links", **asdict(self)}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> MessageWork:
        guild_id = payload.get("guild_id")
        thread_id = payload.get("thread_id")
        return cls(
            message_id=int(payload["message_id"]),
            channel_id=int(payload["channel_id"]),
            guild_id=int(guild_id) if guild_id else None,
            author_id=int(payload["author_id"]),
            settings_channel_id=str(payload["settings_channel_id"]),
            links=[str(link) for link in payload.get("links") or []],
            dropped=int(payload.get("dropped") or 0),
            thread=bool(payload.get("thread")),
            thread_id=int(thread_id) if thread_id else None,
        )

    def with_target(self, thread_id: int | None) -> MessageWork:
        """The work once its target is settled: a thread, or replies (``None``)."""
        return replace(self, thread=thread_id is not None, thread_id=thread_id)


class Place:
    """Where one message is briefed: its channel, the message itself, and (once
    settled) the target: a thread on it, or None for replies to it."""

    def __init__(
        self,
        work: MessageWork,
        channel: Target,
        message: discord.PartialMessage,
        *,
        resumed: bool,
    ) -> None:
        self.work = work  # updated once the target is settled
        self.channel = channel
        self.message = message
        self.resumed = resumed  # a previous process may have posted: look before posting
        self.lock = asyncio.Lock()  # the target is settled once, by the first job to post
        self.settled = False
        self.target: Target | None = None

    @classmethod
    def live(cls, work: MessageWork, message: discord.Message) -> Place:
        return cls(work, message.channel, message, resumed=False)

    @classmethod
    def from_work(cls, client: discord.Client, work: MessageWork) -> Place:
        channel = client.get_partial_messageable(work.channel_id, guild_id=work.guild_id)
        return cls(work, channel, channel.get_partial_message(work.message_id), resumed=True)

    @property
    def posting_channel(self) -> Target:
        return self.target or self.channel


class Refusals(Protocol):
    """Channels that refused something (``briefing.ForbiddenChannels``)."""

    def __contains__(self, channel_id: int) -> bool: ...

    def add(self, channel_id: int, what: str) -> None: ...


def thread_name(links: list[str]) -> str:
    hosts = ", ".join(dict.fromkeys(host_of(link) or "link" for link in links))
    return f"Brief: {hosts}"[:THREAD_NAME_LIMIT]


class Tracker:
    """Where a message's jobs post, saved as soon as it exists, and found again."""

    def __init__(
        self, client: discord.Client, store: Store, leases: Leases, no_threads: Refusals
    ) -> None:
        self.client = client
        self.store = store
        self.leases = leases
        self.no_threads = no_threads

    async def settle_target(self, place: Place) -> None:
        """Decide once where this message's jobs post, and save it before posting."""
        async with place.lock:
            if not place.settled:
                await self.save_target(place, await self._thread_for(place))

    async def save_target(self, place: Place, target: Target | None) -> None:
        place.target, place.settled = target, True
        settled = place.work.with_target(target.id if target is not None else None)
        if settled != place.work:
            place.work = settled
            await self.store.put_pending(settled.key, settled.to_payload())

    async def _thread_for(self, place: Place) -> Target | None:
        """The thread on the message (recorded, found, or started now), or None: reply."""
        work = place.work
        if work.thread_id is not None:
            return self._thread_by_id(work, work.thread_id)
        if not work.thread or work.channel_id in self.no_threads:
            return None
        if place.resumed and (thread := await existing_thread(self.client, work)) is not None:
            return thread
        try:
            message = place.message
            if not isinstance(message, discord.Message):
                # A partial message knows no guild, and starting a thread needs one.
                parent = await self.client.fetch_channel(work.channel_id)
                message = parent.get_partial_message(work.message_id)  # type: ignore[union-attr]
            return await message.create_thread(
                name=thread_name(work.links), auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
        except discord.Forbidden:
            self.no_threads.add(work.channel_id, "start threads")
        except discord.HTTPException as exc:
            if exc.code == THREAD_ALREADY_CREATED:  # by an earlier attempt, or a person
                return self._thread_by_id(work, work.message_id)
            log.info("thread not created on message %s (%s); replying", work.message_id, exc)
        return None

    def _thread_by_id(self, work: MessageWork, thread_id: int) -> Target:
        return self.client.get_partial_messageable(
            thread_id, guild_id=work.guild_id, type=discord.ChannelType.public_thread
        )

    async def recorded(self, progress: dict[str, Any]) -> discord.Message | None:
        """The placeholder a job recorded, fetched so it can be edited; None if gone."""
        channel = self.client.get_partial_messageable(int(progress["channel"]))
        try:
            return await channel.fetch_message(int(progress["id"]))
        except discord.NotFound:  # deleted (by a moderator?): not ours to post again
            log.info("the placeholder %s of an interrupted brief is gone", progress["id"])
        except discord.HTTPException as exc:
            log.warning("could not fetch placeholder %s: %s", progress["id"], exc)
        return None

    async def find_unrecorded(
        self, place: Place, key: str, content: str | None
    ) -> discord.Message | None:
        """Our message reading ``content`` for job ``key``, posted but never recorded."""
        if self.client.user is None:
            return None
        skip: set[int] = set()  # what the other jobs of the message recorded
        for other, _ in place.work.job_keys():
            if other != key:
                progress, _ = await self.leases.progress(other)
                if progress.get("id") is not None:
                    skip.add(int(progress["id"]))
        return await find_own_message(place, self.client.user.id, content, skip)


class Background:
    """Briefing runs this bot owns (live messages and resumes): on close, given a
    moment to finish their last writes, then cancelled (what is left stays pending)."""

    def __init__(self, grace_s: float = CLOSE_GRACE_S) -> None:
        self.grace_s = grace_s
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        self._track(asyncio.create_task(self._guarded(coro, name), name=name))

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` as a tracked task, so closing the bot does not abandon it."""
        task = asyncio.create_task(coro)
        self._track(task)
        return await task

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("discord background task %s failed", name)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        if not tasks:
            return
        _, unfinished = await asyncio.wait(tasks, timeout=self.grace_s)
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)


async def existing_thread(client: discord.Client, work: MessageWork) -> Target | None:
    """The thread started on the message, if there is one (its id is the message's)."""
    try:
        channel = await client.fetch_channel(work.message_id)
    except discord.NotFound:
        return None
    except discord.HTTPException as exc:
        log.info("could not look up a thread on message %s (%s)", work.message_id, exc)
        return None
    return channel if isinstance(channel, discord.Thread) else None


async def find_own_message(
    place: Place,
    me_id: int,
    content: str | None,
    skip_ids: set[int],
) -> discord.Message | None:
    """Our message with ``content`` after the person's message in the target (a thread,
    or the channel where we reply), not in ``skip_ids`` (recorded by sibling jobs)."""
    if content is None:
        return None
    after = discord.Object(id=place.message.id)
    try:
        async for found in place.posting_channel.history(
            limit=SEARCH_LIMIT, after=after, oldest_first=True
        ):
            if found.author.id != me_id or found.id in skip_ids or found.content != content:
                continue
            if place.target is None:  # replies: only ours to this message
                reference = found.reference
                if reference is None or reference.message_id != place.message.id:
                    continue
            return found
    except discord.HTTPException as exc:
        log.warning("could not read channel %s to resume (%s)", place.posting_channel.id, exc)
    return None
