"""Discord's surface for the delivery core: where a message's jobs post, and how.

A message with links gets a thread started on it (a reply where a thread is
not possible: DMs, messages already in a thread or forum post, a missing
permission), a placeholder per link, then each brief edited in as an embed.

A request's ``place`` is ``{"message_id", "channel_id", "guild_id", "thread",
"thread_id"}``: ``thread`` says a thread is planned; once it exists its id is
saved into the place (the delivery core persists it before the placeholder is
recorded). After a restart the thread is found by the message's id (a thread
started from a message takes its id), a recorded placeholder by its id, an
unrecorded one by its text among our messages after the person's message.

Remaining windows: a MESSAGE_CREATE that arrives while no process is up is
lost (the gateway redelivers only to the session that missed it). A
placeholder Discord accepted whose id was not recorded is found only within
one page (``SEARCH_LIMIT``) after the person's message and only while it still
reads as the placeholder; past that the link gets a second placeholder. A
placeholder deleted by a moderator is not posted again.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

import discord

from bot.adapters.discord.controls_view import CONTROLS_KEY
from bot.adapters.discord.posting import ForbiddenChannels, Rendered, edit_kwargs, send_kwargs
from bot.delivery import LinkJob, Outcome, Ref, Request, host_of
from bot.errors import LinkbriefError
from bot.render.discord import render_discord, render_discord_error, render_discord_placeholder
from bot.store.followups import FollowupStore

log = logging.getLogger(__name__)

PLATFORM = "discord"
SEARCH_LIMIT = 100  # one page of history after the person's message
THREAD_ARCHIVE_MINUTES = 1440
THREAD_NAME_LIMIT = 100
THREAD_ALREADY_CREATED = 160004  # Discord's code: this message already has a thread

Target = discord.abc.Messageable


def thread_name(links: list[str]) -> str:
    hosts = ", ".join(dict.fromkeys(host_of(link) for link in links))
    return f"Brief: {hosts}"[:THREAD_NAME_LIMIT]


class _Where:
    """Where one request's jobs post, settled once by the first job to post."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.settled = False
        self.thread: Target | None = None  # None: replies to the message


class DiscordSurface:
    platform = PLATFORM

    def __init__(self, client: discord.Client, posts: FollowupStore | None = None) -> None:
        self.client = client
        self.posts = posts  # issue 18: where briefs are recorded for their controls
        self.forbidden = ForbiddenChannels()
        # Threads refused: replies still work there, so this is worth an INFO line only.
        self.no_threads = ForbiddenChannels(level=logging.INFO)
        self._where: weakref.WeakKeyDictionary[Request, _Where] = weakref.WeakKeyDictionary()
        self._posted: dict[int, discord.Message] = {}  # placeholders until their edit

    # --- the surface -------------------------------------------------------------

    async def prepare(self, request: Request, *, look: bool) -> None:
        await self._settle(request, look=look)

    async def post(self, request: Request, job: LinkJob) -> Ref | None:
        thread = await self._settle(request, look=False)
        posted = await self._send(request, thread, self._placeholder(job))
        if posted is None:
            return None
        if job.note is None:
            self._posted[posted.id] = posted
        return {"id": posted.id, "channel": posted.channel.id}

    async def find(self, request: Request, job: LinkJob, taken: list[Ref]) -> Ref | None:
        thread = await self._settle(request, look=True)
        me = self.client.user
        content = send_kwargs(self._placeholder(job))["content"]
        if me is None or content is None:
            return None
        skip = {int(ref["id"]) for ref in taken if ref.get("id") is not None}
        message_id = int(request.place["message_id"])
        channel = thread or self._channel(request.place)
        if channel.id in self.forbidden:  # type: ignore[attr-defined]
            return None  # refused us: nothing of ours there to find, and no reads to log
        try:
            after = discord.Object(id=message_id)
            async for found in channel.history(limit=SEARCH_LIMIT, after=after, oldest_first=True):
                if found.author.id != me.id or found.id in skip or found.content != content:
                    continue
                if thread is None:  # replies: only ours to this message
                    reference = found.reference
                    if reference is None or reference.message_id != message_id:
                        continue
                return {"id": found.id, "channel": found.channel.id}
        except discord.Forbidden:
            # Not allowed to read history: nothing to find; the post that follows says
            # once, at WARNING, if we may not write there either.
            log.info("may not read channel %s to resume; posting afresh", channel.id)
        except discord.HTTPException as exc:
            log.warning(
                "could not read channel %s to resume (%s)", getattr(channel, "id", "?"), exc
            )
        return None

    async def update(self, request: Request, job: LinkJob, ref: Ref, outcome: Outcome) -> None:
        if isinstance(outcome, LinkbriefError):
            several = sum(1 for j in request.jobs if j.note is None) > 1
            prefix = f"{host_of(job.url)}: " if several else ""
            rendered = render_discord_error(prefix + outcome.message)
        elif self.posts is None:
            rendered = render_discord(outcome, request.language)
        else:  # issue 18: recorded first, so a quick question or click always finds it
            await self._record(request, job, ref)
            rendered = {**render_discord(outcome, request.language), CONTROLS_KEY: 0}
        placeholder = self._posted.pop(int(ref["id"]), None) or await self._fetch(ref)
        if placeholder is None:
            return
        try:
            await placeholder.edit(**edit_kwargs(rendered))
        except discord.Forbidden:
            self.forbidden.add(placeholder.channel.id, "edit my message")
        except discord.HTTPException as exc:
            log.warning("could not edit the brief into message %s: %s", placeholder.id, exc)

    async def _record(self, request: Request, job: LinkJob, ref: Ref) -> None:
        """The brief's message and conversation, for its controls and questions (issue 18):
        in the bot's thread the thread is the conversation, elsewhere replies to the brief."""
        assert self.posts is not None
        channel, message = str(ref["channel"]), str(ref["id"])
        in_own_thread = str(request.place.get("thread_id") or "") == channel
        try:
            await self.posts.record_post(
                platform=PLATFORM, channel_id=channel, message_id=message,
                thread_id=channel if in_own_thread else message,
                team_id=request.asker.team_id, poster_id=request.asker.user_id, url=job.url,
            )  # fmt: skip
        except Exception:  # the brief goes out anyway; only its controls will say "gone"
            log.warning("could not record a posted brief", exc_info=True)

    # --- where to post ---------------------------------------------------------

    @staticmethod
    def _placeholder(job: LinkJob) -> Rendered:
        return render_discord_placeholder(job.url) if job.note is None else {"content": job.note}

    def _channel(self, place: dict[str, Any]) -> Target:
        channel = self.client.get_channel(int(place["channel_id"]))
        if isinstance(channel, discord.abc.Messageable):
            return channel
        guild_id = place.get("guild_id")
        return self.client.get_partial_messageable(
            int(place["channel_id"]), guild_id=int(guild_id) if guild_id else None
        )

    async def _settle(self, request: Request, *, look: bool) -> Target | None:
        """The thread this request's jobs post in (started now if planned), or None: reply."""
        where = self._where.setdefault(request, _Where())
        async with where.lock:
            if not where.settled:
                where.thread = await self._thread_for(request, look=look)
                self._save(request, where.thread)
                where.settled = True
        return where.thread

    def _save(self, request: Request, thread: Target | None) -> None:
        """Note the settled target in the place (the delivery core saves it)."""
        place = request.place
        thread_id = getattr(thread, "id", None)
        if place.get("thread_id") != thread_id or bool(place.get("thread")) != (thread is not None):
            place["thread"], place["thread_id"] = thread is not None, thread_id

    async def _thread_for(self, request: Request, *, look: bool) -> Target | None:
        place = request.place
        channel_id, message_id = int(place["channel_id"]), int(place["message_id"])
        if place.get("thread_id"):
            return self._thread_by_id(place, int(place["thread_id"]))
        if not place.get("thread") or channel_id in self.no_threads:
            return None
        if look and (thread := await self._existing_thread(message_id)) is not None:
            return thread
        try:
            parent = self._channel(place)
            if not isinstance(parent, discord.TextChannel):
                # A partial message knows no guild, and starting a thread needs one.
                parent = await self.client.fetch_channel(channel_id)  # type: ignore[assignment]
            message = parent.get_partial_message(message_id)  # type: ignore[union-attr]
            links = [job.url for job in request.jobs if job.note is None]
            return await message.create_thread(
                name=thread_name(links), auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
        except discord.Forbidden:
            self.no_threads.add(channel_id, "start threads")
        except discord.HTTPException as exc:
            if exc.code == THREAD_ALREADY_CREATED:  # by an earlier attempt, or a person
                return self._thread_by_id(place, message_id)
            log.info("thread not created on message %s (%s); replying", message_id, exc)
        return None

    def _thread_by_id(self, place: dict[str, Any], thread_id: int) -> Target:
        guild_id = place.get("guild_id")
        return self.client.get_partial_messageable(
            thread_id, guild_id=int(guild_id) if guild_id else None,
            type=discord.ChannelType.public_thread,
        )  # fmt: skip

    async def _existing_thread(self, message_id: int) -> Target | None:
        """The thread started on the message, if there is one (its id is the message's)."""
        try:
            channel = await self.client.fetch_channel(message_id)
        except discord.NotFound:
            return None
        except discord.HTTPException as exc:
            log.info("could not look up a thread on message %s (%s)", message_id, exc)
            return None
        return channel if isinstance(channel, discord.Thread) else None

    async def _send(
        self, request: Request, thread: Target | None, rendered: Rendered
    ) -> discord.Message | None:
        """Post into the thread, or as a reply to the message; None if refused."""
        channel = thread or self._channel(request.place)
        if channel.id in self.forbidden:  # type: ignore[attr-defined]
            return None
        kwargs = send_kwargs(rendered)
        if thread is None:
            message = self._channel(request.place).get_partial_message(  # type: ignore[attr-defined]
                int(request.place["message_id"])
            )
            kwargs["reference"] = message.to_reference(fail_if_not_exists=False)
            kwargs["mention_author"] = False
        try:
            return await channel.send(**kwargs)
        except discord.Forbidden:
            if thread is None:
                self.forbidden.add(channel.id, "send messages")  # type: ignore[attr-defined]
                return None
            # Allowed to start threads but not to post in them: reply from now on.
            self.no_threads.add(int(request.place["channel_id"]), "send messages in threads")
            self._where[request].thread = None
            self._save(request, None)
            return await self._send(request, None, rendered)
        except discord.HTTPException as exc:
            log.warning("could not post in channel %s: %s", getattr(channel, "id", "?"), exc)
        return None

    async def _fetch(self, ref: Ref) -> discord.Message | None:
        """A recorded placeholder, fetched so it can be edited; None if gone."""
        channel = self.client.get_partial_messageable(int(ref["channel"]))
        try:
            return await channel.fetch_message(int(ref["id"]))
        except discord.NotFound:  # deleted (by a moderator?): not ours to post again
            log.info("the placeholder %s of an interrupted brief is gone", ref["id"])
        except discord.HTTPException as exc:
            log.warning("could not fetch placeholder %s: %s", ref["id"], exc)
        return None
