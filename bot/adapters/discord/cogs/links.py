"""Messages and edits with links, translated into requests for the delivery core.

A new message's request is keyed by the message id (``discord:message:<id>``),
so a replayed MESSAGE_CREATE (gateway RESUME, a second process) adds nothing.
An edit (MESSAGE_UPDATE with ``edited_timestamp``; Discord's own embed
updates carry none) is keyed by the message and the edit's time; its links'
leases are the message's, so only a link the edit added is briefed.
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.adapters.discord.surface import DiscordSurface
from bot.app import App
from bot.delivery import Asker, Delivery, Request
from bot.pipeline.urls import links_in_message

log = logging.getLogger(__name__)

PERSON_MESSAGES = (discord.MessageType.default, discord.MessageType.reply)


def claim_key(message_id: int, link: str) -> str:
    """The lease key of one link of one message, shared by every trigger on it."""
    return f"discord:msg:{message_id}:{link}"


class LinksCog(commands.Cog):
    def __init__(self, app: App, delivery: Delivery, surface: DiscordSurface) -> None:
        self.app = app
        self.delivery = delivery
        self.surface = surface

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        await self.accept(message, f"discord:message:{message.id}")

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        edited = payload.data.get("edited_timestamp")
        if edited:  # a person's edit, not Discord adding link previews
            await self.accept(payload.message, f"discord:edit:{payload.message_id}:{edited}")

    async def accept(self, message: discord.Message, key: str) -> None:
        # Bots (this one included) are ignored before any work, so two bots
        # can't brief each other's briefs forever.
        if message.author.bot or message.type not in PERSON_MESSAGES:
            return
        await self.delivery.acknowledge(self._accept(message, key))

    async def _accept(self, message: discord.Message, key: str) -> None:
        links, dropped = links_in_message(message.content, self.app.settings.max_links_per_message)
        if not links:
            return
        if message.channel.id in self.surface.forbidden:
            log.debug("message %s skipped: channel %s refused us", message.id, message.channel.id)
            return
        channel_id = str(_settings_channel(message))
        place = {
            "message_id": message.id, "channel_id": message.channel.id,
            "guild_id": message.guild.id if message.guild else None,
            "thread": self._thread_possible(message), "thread_id": None,
        }  # fmt: skip
        guild = str(message.guild.id) if message.guild else ""
        asker = Asker(team_id=guild, channel_id=channel_id, user_id=str(message.author.id))
        request = Request.for_links(
            key, links, dropped, job_key=lambda link: claim_key(message.id, link), asker=asker,
            place=place,
        )  # fmt: skip
        answer = await self.delivery.accept_message(request, channel_id=channel_id, links=links)
        if answer == "known":  # a replayed MESSAGE_CREATE, a restart, or another process
            log.debug("message %s skipped: its links were already briefed", message.id)
        elif answer == "auto off":
            log.debug("message %s skipped: auto is off in its channel", message.id)

    def _thread_possible(self, message: discord.Message) -> bool:
        channel = message.channel
        if not isinstance(channel, discord.TextChannel) or channel.id in self.surface.no_threads:
            return False  # DMs, threads, forum posts, voice chats, uncached channels
        me = channel.guild.me
        if me is not None:
            perms = channel.permissions_for(me)
            return perms.create_public_threads and perms.send_messages_in_threads
        return True


def _settings_channel(message: discord.Message) -> int:
    """Threads and forum posts follow their parent channel's setting."""
    channel = message.channel
    if isinstance(channel, discord.Thread):
        return channel.parent_id
    return channel.id
