"""The Discord briefing flow shared by the cogs: where to answer, and how.

A message with links gets a thread started on it (a reply where a thread is not
possible: DMs, messages already in a thread or forum post, a missing permission),
a placeholder per link, then each brief edited in as an embed. Every failure the
pipeline names becomes a friendly reply.

Posting rules, all enforced here so no cog can forget one:

* ``AllowedMentions.none()`` on every send and edit; content-only messages are sent
  with embeds suppressed and bare links in content are wrapped in ``<…>``;
* a 403 in a channel is remembered: logged once, no further requests there for a
  while, because repeated invalid requests get a bot banned by Discord's edge.

Exactly once, across replays, restarts and crashes (``bot.adapters.discord.recovery``
holds the saved shape and the look-ups):

1. *accept*: before anything is posted, the message's link jobs become one pending
   item keyed by the message id (``discord:message:<id>``: channel, guild, author,
   links, whether a thread is planned). ``add_pending`` is first-caller-wins, so a
   replayed MESSAGE_CREATE (gateway RESUME, a second process) adds nothing.
2. *run*: each link takes a *lease* (``bot.store.leases``) on
   ``discord:msg:<message id>:<link>``, renewed while it runs and kept for 7 days
   once finished. The thread's id is saved into the pending item as soon as the
   thread exists, each placeholder's id (and channel) into the link's progress as
   soon as Discord returns it; the brief is then edited in and the link finished.
3. *recover*: ``resume_pending`` (started from ``setup_hook``) runs again what a
   previous process accepted but did not finish: a recorded placeholder is
   edited (an edit never adds a message); a link without one is looked up first
   (``recovery.Tracker``) and posted only if nothing is found. A dead process's
   links are taken over once its leases lapse (``LEASE_S``).

The windows that remain are listed in ``recovery``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import discord

from bot.adapters.discord.controls_view import CONTROLS_KEY, controls_view
from bot.adapters.discord.recovery import (
    PENDING_PREFIX,
    Background,
    MessageWork,
    Place,
    Tracker,
)
from bot.app import App
from bot.errors import LinkbriefError
from bot.pipeline.urls import canonical_url, links_in_message
from bot.render.common import host_of
from bot.render.discord import render_discord, render_discord_error, render_discord_placeholder
from bot.store.digests import record_shared_link
from bot.store.leases import LEASE_S, Leases
from bot.timeutil import utc_now

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
PLATFORM = "discord"
# How long a refused channel is left alone; after that one request may try again
# (a moderator may have fixed the permission).
FORBIDDEN_TTL_S = 3600.0
RESUME_CONCURRENCY = 8  # messages resumed at once after a restart
_BARE_URL = re.compile(r"(?<![<\w])(https?://[^\s<>]+)", re.IGNORECASE)

Rendered = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asked for a brief: the guild (model budget), channel and user (rate limits)."""

    guild_id: str = ""
    channel_id: str = ""
    user_id: str = ""


def send_kwargs(rendered: Rendered) -> dict[str, Any]:
    """A rendered dict as discord.py send/edit arguments, with the posting rules applied."""
    embeds = [discord.Embed.from_dict(e) for e in rendered.get("embeds") or []]
    content = _BARE_URL.sub(r"<\1>", rendered.get("content") or "")
    kwargs = {
        "content": content or None,
        "embeds": embeds,
        "allowed_mentions": NO_MENTIONS,
        # Suppressing embeds would hide our own embed too, so only when there is none.
        "suppress_embeds": not embeds,
    }
    if CONTROLS_KEY in rendered:  # issue 18: Regenerate / thumbs / Delete under a brief
        kwargs["view"] = controls_view(int(rendered[CONTROLS_KEY]))
    return kwargs


class ForbiddenChannels:
    """Channels where Discord answered 403, each logged once and then left alone."""

    def __init__(self, ttl_s: float = FORBIDDEN_TTL_S, *, level: int = logging.WARNING) -> None:
        self._ttl_s = ttl_s
        self._level = level
        self._until: dict[int, float] = {}

    def __contains__(self, channel_id: int) -> bool:
        until = self._until.get(channel_id)
        if until is None:
            return False
        if until < time.monotonic():
            del self._until[channel_id]
            return False
        return True

    def add(self, channel_id: int, what: str) -> None:
        if channel_id in self:
            return
        self._until[channel_id] = time.monotonic() + self._ttl_s
        log.log(
            self._level,
            "Discord refused to let me %s in channel %s (403: missing permission); "
            "not trying that there for %d minutes. "
            "The README's Discord section lists the permissions needed.",
            what,
            channel_id,
            self._ttl_s // 60,
        )


class Briefer:
    """Briefs the links of Discord messages and slash commands for one bot."""

    def __init__(self, app: App, client: discord.Client, *, lease_s: float = LEASE_S) -> None:
        self.app = app
        self.client = client
        self.forbidden = ForbiddenChannels()
        # Threads refused: replies still work there, so this is worth an INFO line only.
        self.no_threads = ForbiddenChannels(level=logging.INFO)
        self.leases = Leases(app.store, lease_s)
        self.tracker = Tracker(client, app.store, self.leases, self.no_threads)
        self._resume_slots = asyncio.Semaphore(RESUME_CONCURRENCY)
        self.background = Background()

    # --- messages --------------------------------------------------------------
    async def handle_message(self, message: discord.Message) -> int:
        """Brief the new links of ``message``; returns how many placeholders were posted."""
        if message.author.bot or message.type not in (
            discord.MessageType.default,
            discord.MessageType.reply,
        ):
            return 0
        links, dropped = links_in_message(message.content, self.app.settings.max_links_per_message)
        if not links:
            return 0
        if message.channel.id in self.forbidden:
            log.debug("message %s skipped: channel %s refused us", message.id, message.channel.id)
            return 0
        channel_id = str(_settings_channel(message))
        # The day's shares feed the channel's digest, whether or not links are auto-briefed.
        for link in links:
            await record_shared_link(self.app.store, PLATFORM, channel_id, link, utc_now())
        settings = await self.app.store.get_channel(PLATFORM, channel_id)
        if not settings.auto:
            log.debug("message %s skipped: auto is off in its channel", message.id)
            return 0
        work = MessageWork(
            message_id=message.id,
            channel_id=message.channel.id,
            guild_id=message.guild.id if message.guild else None,
            author_id=message.author.id,
            settings_channel_id=channel_id,
            links=links,
            dropped=dropped,
            thread=self._thread_possible(message),
        )
        if not await self.app.store.add_pending(work.key, work.to_payload()):
            # A replayed MESSAGE_CREATE, a restart, or another process got there first.
            log.debug("message %s skipped: its links were already briefed", message.id)
            return 0
        return await self.background.run(self.run(Place.live(work, message)))

    async def run(self, place: Place) -> int:
        """Brief every job of ``place.work``, then finish its pending item.

        Placeholders go out one by one in link order; the briefs are then built and
        edited in side by side. Returns how many link placeholders this run has.
        """
        work = place.work
        asker = Asker(
            guild_id=str(work.guild_id or ""),
            channel_id=work.settings_channel_id,
            user_id=str(work.author_id),
        )
        several = len(work.links) > 1
        started: list[tuple[str, str, discord.Message]] = []
        waiting: list[tuple[str, str | None]] = []
        try:
            for key, link in work.job_keys():
                if link is None and not (started or waiting):
                    break  # the "links skipped" note only follows a placeholder
                if not await self.leases.try_acquire(key):
                    if place.resumed:  # another process holds it: wait for it (below)
                        waiting.append((key, link))
                    else:  # fresh work whose link is claimed: a claim from before leases
                        log.info("a link of message %s was already briefed", work.message_id)
                    continue
                placeholder = await self._held(key, self._placeholder(place, key, link))
                if placeholder is None:
                    continue
                if link is None:
                    await self.leases.finish(key)
                else:
                    started.append((key, link, placeholder))
        except BaseException:
            # Interrupted between placeholders: the posted ones stay recorded for the
            # next process; their leases go now instead of lapsing.
            for key, _, _ in started:
                await _quietly(self.leases.release(key))
            raise
        await asyncio.gather(
            *(self._complete(key, link, ph, asker, several) for key, link, ph in started),
            *(self._take_over(place, key, link, asker, several) for key, link in waiting),
        )
        await self.app.store.finish_pending(work.key)
        return len(started)

    async def _held(
        self, key: str, step: Coroutine[Any, Any, discord.Message | None]
    ) -> discord.Message | None:
        """Run ``step`` under the lease on ``key``; let the lease go if nothing came of it,
        or if it failed or was interrupted (the next process or delivery may go on)."""
        try:
            placeholder = await step
        except BaseException:
            await _quietly(self.leases.release(key))
            raise
        if placeholder is None:
            await self.leases.release(key)
        return placeholder

    async def _take_over(
        self, place: Place, key: str, link: str | None, asker: Asker, several: bool
    ) -> None:
        """Wait for a link another process holds: done there, or its lease lapsed."""
        held, _ = await self.leases.acquire(key)
        if not held:
            return
        placeholder = await self._held(key, self._placeholder(place, key, link))
        if placeholder is None:
            return
        if link is None:
            await self.leases.finish(key)
        else:
            await self._complete(key, link, placeholder, asker, several)

    async def _complete(
        self, key: str, link: str, placeholder: discord.Message, asker: Asker, several: bool
    ) -> None:
        try:
            rendered = await self.render_link(link, asker=asker, label=several, controls=True)
            if CONTROLS_KEY in rendered:  # recorded first: a question or click finds it
                await self._record_post(placeholder, link, asker)
            await self._edit(placeholder, rendered)
            await self.leases.finish(key)
        except BaseException:
            await _quietly(self.leases.release(key))
            raise

    async def _record_post(self, posted: discord.Message, link: str, asker: Asker) -> None:
        """Remember the brief for its controls and questions (issue 18): in the bot's thread
        the thread is the conversation, elsewhere replies to the brief are."""
        channel = posted.channel
        thread = channel.id if isinstance(channel, discord.Thread) else posted.id
        try:
            await self.app.followups.followups.record_post(
                platform=PLATFORM, channel_id=str(channel.id), message_id=str(posted.id),
                thread_id=str(thread), team_id=asker.guild_id, poster_id=asker.user_id,
                url=link,
            )  # fmt: skip
        except Exception:  # the brief is out; only its controls will say "gone"
            log.warning("could not record a posted brief", exc_info=True)

    async def _placeholder(
        self, place: Place, key: str, link: str | None
    ) -> discord.Message | None:
        """The job's message: recorded earlier, found where we post, or posted now."""
        progress, finished = await self.leases.progress(key)
        if finished:
            return None
        if progress.get("id") is not None:
            return await self.tracker.recorded(progress)
        await self.tracker.settle_target(place)
        rendered = self._job_message(place.work, link)
        if place.resumed:
            found = await self.tracker.find_unrecorded(place, key, send_kwargs(rendered)["content"])
            if found is not None:
                log.info("found the placeholder of an interrupted brief (%s)", found.id)
                await self.leases.record(key, id=found.id, channel=found.channel.id)
                return found
        posted = await self._send(place, rendered)
        if posted is not None:
            await self.leases.record(key, id=posted.id, channel=posted.channel.id)
        return posted

    @staticmethod
    def _job_message(work: MessageWork, link: str | None) -> Rendered:
        if link is not None:
            return render_discord_placeholder(link)
        note = f"Only the first {len(work.links)} links are briefed; {work.dropped} more skipped."
        return {"content": note}

    # --- where to post -----------------------------------------------------------
    def _thread_possible(self, message: discord.Message) -> bool:
        channel = message.channel
        if not isinstance(channel, discord.TextChannel) or channel.id in self.no_threads:
            return False  # DMs, threads, forum posts, voice chats, uncached channels
        me = channel.guild.me
        if me is not None:
            perms = channel.permissions_for(me)
            return perms.create_public_threads and perms.send_messages_in_threads
        return True

    async def _edit(self, placeholder: discord.Message, rendered: Rendered) -> None:
        try:
            await placeholder.edit(**_edit_kwargs(rendered))
        except discord.Forbidden:
            self.forbidden.add(placeholder.channel.id, "edit my message")
        except discord.HTTPException as exc:
            log.warning("could not edit the brief into message %s: %s", placeholder.id, exc)

    async def _send(self, place: Place, rendered: Rendered) -> discord.Message | None:
        """Post into the thread, or as a reply to the message; None if refused."""
        channel = place.posting_channel
        if channel.id in self.forbidden:
            return None
        kwargs = send_kwargs(rendered)
        if place.target is None:
            kwargs["reference"] = place.message.to_reference(fail_if_not_exists=False)
            kwargs["mention_author"] = False
        try:
            return await channel.send(**kwargs)
        except discord.Forbidden:
            if place.target is None:
                self.forbidden.add(channel.id, "send messages")
                return None
            # Allowed to start threads but not to post in them: reply from now on.
            self.no_threads.add(place.work.channel_id, "send messages in threads")
            await self.tracker.save_target(place, None)
            return await self._send(place, rendered)
        except discord.HTTPException as exc:
            log.warning("could not post in channel %s: %s", channel.id, exc)
        return None

    # --- resume ------------------------------------------------------------------
    async def resume_pending(self, limit: int = 1000) -> int:
        """Restart the Discord work a previous process accepted; returns how many messages."""
        items = [
            (key, payload)
            for key, payload in await self.app.store.pending(limit=limit)
            if key.startswith(PENDING_PREFIX)
        ]
        for key, payload in items:
            try:
                work = MessageWork.from_payload(payload)
            except (KeyError, TypeError, ValueError):
                log.warning("discord: pending work %s does not parse; dropping it", key)
                await self.app.store.finish_pending(key)
                continue
            self.background.spawn(self._resume(work), name=f"discord-resume:{work.message_id}")
        if items:
            log.info("resuming %d unfinished Discord message(s)", len(items))
        return len(items)

    async def _resume(self, work: MessageWork) -> None:
        async with self._resume_slots:
            await self.run(Place.from_work(self.client, work))

    async def drain(self) -> None:
        """Wait until every background task (resumes) has finished (tests)."""
        await self.background.drain()

    async def aclose(self) -> None:
        """Stop briefing (what is unfinished stays pending, resumed next start); stop heartbeats."""
        await self.background.aclose()
        await self.leases.aclose()

    # --- shared ----------------------------------------------------------------
    async def render_link(
        self, link: str, *, asker: Asker | None = None, label: bool = False, controls: bool = False
    ) -> Rendered:
        """The brief of ``link`` as a rendered dict, or the friendly error in its place.

        ``asker`` is whose rate limits and whose guild's model budget apply.
        """
        asker = asker or Asker()
        try:
            brief = await self.app.brief_link(
                canonical_url(link),
                platform=PLATFORM,
                team_id=asker.guild_id,
                channel_id=asker.channel_id,
                user_id=asker.user_id,
            )
        except LinkbriefError as exc:
            prefix = f"{host_of(link) or link}: " if label else ""
            return render_discord_error(prefix + exc.message)
        except Exception:
            log.exception("unexpected failure briefing %s", link)
            return render_discord_error(LinkbriefError.default_message)
        rendered = render_discord(brief)
        return {**rendered, CONTROLS_KEY: 0} if controls else rendered


def _edit_kwargs(rendered: Rendered) -> dict[str, Any]:
    kwargs = send_kwargs(rendered)
    kwargs["suppress"] = kwargs.pop("suppress_embeds")  # Message.edit's name for the flag
    return kwargs


def _settings_channel(message: discord.Message) -> int:
    """Threads and forum posts follow their parent channel's setting."""
    channel = message.channel
    if isinstance(channel, discord.Thread):
        return channel.parent_id
    return channel.id


async def _quietly(step: Coroutine[Any, Any, None]) -> None:
    """Best-effort cleanup on the way out: a failure here must not hide the first one."""
    try:
        await step
    except Exception:
        log.warning("discord: cleanup after an interrupted job failed", exc_info=True)
