"""The Discord front end (discord.py): ``DiscordFrontEnd`` for ``linkbrief run``,
``sync_commands`` for ``linkbrief discord sync``.

Layout: ``endpoints`` (where discord.py keeps Discord's addresses), ``bot`` (the
``commands.Bot``), ``surface`` (where and how link jobs post), ``posting`` (the
posting rules), ``cogs/links`` (messages and edits with links), ``cogs/commands``
(slash commands).
"""

from __future__ import annotations

import logging

import aiohttp
import discord

from bot.adapters.discord.bot import LinkbriefBot
from bot.adapters.discord.digest_poster import DiscordDigestPoster
from bot.adapters.discord.endpoints import configure_endpoints
from bot.adapters.discord.surface import PLATFORM
from bot.app import App
from bot.errors import ConfigError
from bot.preflight import unreachable

log = logging.getLogger(__name__)

# linkbrief never joins voice channels: without this, every start warns that PyNaCl
# (and davey) are missing, which sends people installing things they do not need.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False

__all__ = ["DiscordFrontEnd", "LinkbriefBot", "configure_endpoints", "sync_commands"]


def discord_host() -> str:
    """Where discord.py sends REST calls now (``configure_endpoints`` may have moved it)."""
    return str(discord.http.Route.BASE).split("/api")[0]


def _token(app: App) -> str:
    if app.settings.discord_token is None:
        raise ConfigError("DISCORD_TOKEN is not set.")
    return app.settings.discord_token.get_secret_value()


class DiscordFrontEnd:
    """The bot, run until cancelled; its digest poster for the scheduler."""

    platform = PLATFORM

    def __init__(self, app: App, bot: LinkbriefBot) -> None:
        self.app = app
        self.bot = bot
        self.delivery = bot.delivery
        self.poster = DiscordDigestPoster(bot)

    async def run(self) -> None:
        """Run until cancelled; closes the gateway and HTTP session on the way out."""
        try:
            async with self.bot:
                await self.bot.start(_token(self.app))
        except discord.LoginFailure:
            raise ConfigError(
                "Discord rejected DISCORD_TOKEN. Copy the bot token again from the "
                "Developer Portal (Bot → Reset Token)."
            ) from None
        except discord.PrivilegedIntentsRequired:
            raise ConfigError(
                "Discord refused the Message Content intent. Enable it in the Developer "
                "Portal: Bot → Privileged Gateway Intents → Message Content Intent."
            ) from None
        except (aiohttp.ClientConnectionError, OSError) as exc:
            # Only login lands here: once connected, discord.py reconnects by itself.
            raise unreachable("Discord", discord_host(), exc, "DISCORD_API_BASE_URL") from None


async def sync_commands(app: App) -> int:
    """Register the slash commands with Discord (global bulk overwrite); returns how many.

    Done on request, not at every start: Discord rate-limits command registration
    and a start-up sync would overwrite commands on every deploy.
    """
    configure_endpoints(app.settings)
    bot = LinkbriefBot(app)
    try:
        async with bot:
            await bot.login(_token(app))  # runs setup_hook, which adds the cogs
            synced = await bot.tree.sync()
    except discord.LoginFailure:
        raise ConfigError("Discord rejected DISCORD_TOKEN.") from None
    log.info("synced %d Discord application commands", len(synced))
    return len(synced)
