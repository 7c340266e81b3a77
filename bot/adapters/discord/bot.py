"""The discord.py ``commands.Bot`` for linkbrief: intents, mentions policy, cogs.

Everything long-lived is created in ``setup_hook`` (which discord.py runs once,
after login and before the gateway connects), never in ``on_ready``: READY
fires again after every fresh session, and events may arrive before it. The
work a previous process accepted but did not finish is resumed from there too,
in the background (REST works before the gateway is up; the gateway is not kept
waiting for briefs).
"""

from __future__ import annotations

import discord
from discord.ext import commands

from bot.adapters.discord.briefing import Briefer
from bot.app import App
from bot.store.leases import LEASE_S


def bot_intents() -> discord.Intents:
    """Only what linkbrief reads: guilds (channels, threads, our permissions),
    guild and DM messages, and their content (privileged: enable it in the portal)."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = True
    return intents


class LinkbriefBot(commands.Bot):
    """One per process; the cogs reach the shared ``briefer`` through it."""

    # How long a killed process's links stay leased before another takes them over.
    lease_s: float = LEASE_S

    def __init__(self, app: App) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,  # unused: slash commands only
            help_command=None,
            intents=bot_intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            max_messages=None,  # the message cache is never read
            chunk_guilds_at_startup=False,
        )
        self.app = app
        self.briefer: Briefer | None = None

    async def setup_hook(self) -> None:
        from bot.adapters.discord.cogs.commands import CommandsCog
        from bot.adapters.discord.cogs.followups import FollowupCog
        from bot.adapters.discord.cogs.links import LinksCog

        self.briefer = Briefer(self.app, self, lease_s=self.lease_s)
        await self.add_cog(LinksCog(self, self.briefer))
        await self.add_cog(CommandsCog(self, self.briefer))
        await self.add_cog(FollowupCog(self, self.briefer))  # issue 18: questions, controls
        self.briefer.background.spawn(self.briefer.resume_pending(), name="discord-resume")

    async def close(self) -> None:
        # Resumed briefs stop first, while HTTP still works; they stay pending.
        if self.briefer is not None:
            await self.briefer.aclose()
        await super().close()

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: the links cog listens to messages instead."""
