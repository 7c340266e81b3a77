"""The Discord briefing flow shared by the cogs: where to answer, and how.

A message with links gets a thread started on it (a reply where a thread is not
possible: DMs, messages already in a thread or forum post, a missing permission),
a placeholder per link, then each brief edited in as an embed. Every failure the
pipeline names becomes a friendly reply.

Posting rules, all enforced here so no cog can forget one:

* exactly once: each (message, link) pair is claimed in the store before anything
  is posted, so a gateway replay or a restart posts nothing twice;
* ``AllowedMentions.none()`` on every send and edit; content-only messages are sent
  with embeds suppressed and bare links in content are wrapped in ``<…>``;
* a 403 in a channel is remembered: logged once, no further requests there for a
  while, because repeated invalid requests get a bot banned by Discord's edge.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import discord

from bot.app import App
from bot.errors import LinkbriefError
from bot.pipeline.urls import canonical_url, links_in_message
from bot.render.common import host_of
from bot.render.discord import render_discord, render_discord_error, render_discord_placeholder
from bot.store.digests import record_shared_link
from bot.timeutil import utc_now

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
PLATFORM = "discord"
THREAD_NAME_LIMIT = 100
THREAD_ARCHIVE_MINUTES = 1440
# How long a refused channel is left alone; after that one request may try again
# (a moderator may have fixed the permission).
FORBIDDEN_TTL_S = 3600.0
_BARE_URL = re.compile(r"(?<![<\w])(https?://[^\s<>]+)", re.IGNORECASE)

Rendered = dict[str, Any]
Target = discord.abc.Messageable


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asked for a brief: the guild (model budget), channel and user (rate limits)."""

    guild_id: str = ""
    channel_id: str = ""
    user_id: str = ""


def claim_key(message_id: int, link: str) -> str:
    return f"discord:msg:{message_id}:{link}"


def send_kwargs(rendered: Rendered) -> dict[str, Any]:
    """A rendered dict as discord.py send/edit arguments, with the posting rules applied."""
    embeds = [discord.Embed.from_dict(e) for e in rendered.get("embeds") or []]
    content = _BARE_URL.sub(r"<\1>", rendered.get("content") or "")
    return {
        "content": content or None,
        "embeds": embeds,
        "allowed_mentions": NO_MENTIONS,
        # Suppressing embeds would hide our own embed too, so only when there is none.
        "suppress_embeds": not embeds,
    }


def thread_name(links: list[str]) -> str:
    hosts = ", ".join(dict.fromkeys(host_of(link) or "link" for link in links))
    return f"Brief: {hosts}"[:THREAD_NAME_LIMIT]


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

    def __init__(self, app: App) -> None:
        self.app = app
        self.forbidden = ForbiddenChannels()
        # Threads refused: replies still work there, so this is worth an INFO line only.
        self.no_threads = ForbiddenChannels(level=logging.INFO)

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
        mine = [
            link for link in links if await self.app.store.claim_once(claim_key(message.id, link))
        ]
        if not mine:
            # A replayed MESSAGE_CREATE, a restart, or another process got there first.
            log.debug("message %s skipped: its links were already briefed", message.id)
            return 0
        target = await self._target(message, mine)
        placeholders = await self._post_placeholders(target, message, mine)
        if dropped and placeholders:
            note = f"Only the first {len(links)} links are briefed; {dropped} more skipped."
            await self._send(target, message, {"content": note})
        asker = Asker(
            guild_id=str(message.guild.id) if message.guild else "",
            channel_id=channel_id,
            user_id=str(message.author.id),
        )
        await asyncio.gather(
            *(self._fill(ph, link, asker, several=len(mine) > 1) for ph, link in placeholders)
        )
        return len(placeholders)

    async def _target(self, message: discord.Message, links: list[str]) -> Target | None:
        """A new thread on the message, or None for "reply to the message"."""
        channel = message.channel
        if not isinstance(channel, discord.TextChannel) or channel.id in self.no_threads:
            return None  # DMs, threads, forum posts, voice chats, uncached channels
        me = channel.guild.me
        if me is not None:
            perms = channel.permissions_for(me)
            if not (perms.create_public_threads and perms.send_messages_in_threads):
                return None
        try:
            return await message.create_thread(
                name=thread_name(links), auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
        except discord.Forbidden:
            self.no_threads.add(channel.id, "start threads")
        except discord.HTTPException as exc:
            # e.g. 160004: someone (or an earlier attempt) already started one.
            log.info("thread not created on message %s (%s); replying", message.id, exc)
        return None

    async def _post_placeholders(
        self, target: Target | None, message: discord.Message, links: list[str]
    ) -> list[tuple[discord.Message, str]]:
        posted: list[tuple[discord.Message, str]] = []
        for index, link in enumerate(links):
            placeholder = await self._send(target, message, render_discord_placeholder(link))
            if placeholder is None:
                # Nothing was posted for these links: let a later delivery try again.
                for unposted in links[index:]:
                    await self.app.store.release(claim_key(message.id, unposted))
                break
            posted.append((placeholder, link))
        return posted

    async def _fill(
        self, placeholder: discord.Message, link: str, asker: Asker, *, several: bool
    ) -> None:
        rendered = await self.render_link(link, asker=asker, label=several)
        try:
            await placeholder.edit(**_edit_kwargs(rendered))
        except discord.Forbidden:
            self.forbidden.add(placeholder.channel.id, "edit my message")
        except discord.HTTPException as exc:
            log.warning("could not edit the brief into message %s: %s", placeholder.id, exc)

    async def _send(
        self, target: Target | None, message: discord.Message, rendered: Rendered
    ) -> discord.Message | None:
        """Post into the thread, or as a reply to ``message``; None if refused."""
        channel = target or message.channel
        if channel.id in self.forbidden:
            return None
        kwargs = send_kwargs(rendered)
        if target is None:
            kwargs["reference"] = message.to_reference(fail_if_not_exists=False)
            kwargs["mention_author"] = False
        try:
            return await channel.send(**kwargs)
        except discord.Forbidden:
            if target is None:
                self.forbidden.add(channel.id, "send messages")
                return None
            # Allowed to start threads but not to post in them: reply from now on.
            self.no_threads.add(message.channel.id, "send messages in threads")
            return await self._send(None, message, rendered)
        except discord.HTTPException as exc:
            log.warning("could not post in channel %s: %s", channel.id, exc)
        return None

    # --- shared ----------------------------------------------------------------
    async def render_link(
        self, link: str, *, asker: Asker | None = None, label: bool = False
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
        return render_discord(brief)


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
