"""The discord.py ``commands.Bot`` for linkbrief: intents, mentions policy, cogs.

The cogs are added in ``setup_hook`` (which discord.py runs once, after login
and before the gateway connects), never in ``on_ready``: READY fires again
after every fresh session, and events may arrive before it. The work a
previous process accepted but did not finish is resumed from there too, in
the background (REST works before the gateway is up).

A new trigger is a listener in a cog (``cogs/``), added in ``setup_hook``.
"""

from __future__ import annotations

from collections.abc import Callable

import discord
from discord.ext import commands

from bot.adapters.discord.surface import DiscordSurface
from bot.app import App
from bot.delivery import Delivery


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
    """One per process. ``deliver`` builds the delivery core on this bot's surface
    (the surface needs the client, the client's cogs need the delivery)."""

    def __init__(
        self, app: App, deliver: Callable[[DiscordSurface], Delivery] | None = None
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,  # unused: slash commands only
            help_command=None,
            intents=bot_intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            max_messages=None,  # the message cache is never read
            chunk_guilds_at_startup=False,
        )
        self.app = app
        self.surface = DiscordSurface(self, posts=app.followups.followups)  # posts: issue 18
        self.delivery = (deliver or app.delivery)(self.surface)

    async def setup_hook(self) -> None:
        from bot.adapters.discord.cogs.commands import CommandsCog
        from bot.adapters.discord.cogs.followups import FollowupCog
        from bot.adapters.discord.cogs.links import LinksCog

        await self.add_cog(LinksCog(self.app, self.delivery, self.surface))
        await self.add_cog(CommandsCog(self.app, self.delivery))
        await self.add_cog(FollowupCog(self, self.app))  # issue 18: questions, controls
        self.delivery.spawn(self.delivery.resume_pending(), name="discord-resume")

    async def close(self) -> None:
        # Running briefs stop first, while HTTP still works; what is left stays pending.
        await self.delivery.aclose()
        await super().close()

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: the links cog listens to messages instead."""
