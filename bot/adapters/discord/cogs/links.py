"""Messages with links: every new message is handed to the shared ``Briefer``."""

from __future__ import annotations

import discord
from discord.ext import commands

from bot.adapters.discord.briefing import Briefer


class LinksCog(commands.Cog):
    def __init__(self, bot: commands.Bot, briefer: Briefer) -> None:
        self.bot = bot
        self.briefer = briefer

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        # Bots (this one included) are ignored before any work, so two bots
        # can't brief each other's briefs forever.
        if message.author.bot:
            return
        await self.briefer.handle_message(message)


async def setup(bot: commands.Bot) -> None:
    """Extension entry point, for ``bot.load_extension`` users."""
    briefer = getattr(bot, "briefer", None)
    if briefer is None:
        raise RuntimeError("LinksCog needs a bot with a shared briefer")
    await bot.add_cog(LinksCog(bot, briefer))
