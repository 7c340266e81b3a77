"""Digest posters for one-shot commands (``linkbrief digest run-now``).

``linkbrief run`` gets its posters from the running front ends; a one-shot
command has no gateway or socket, so it posts through the platforms' REST
APIs only: Slack's Web API, and Discord's REST API after a REST-only login.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from bot.app import App
from bot.digest.scheduler import DigestPoster


@asynccontextmanager
async def rest_posters(app: App) -> AsyncIterator[dict[str, DigestPoster]]:
    """A poster per configured platform, closed on exit."""
    posters: dict[str, DigestPoster] = {}
    async with AsyncExitStack() as stack:
        if app.settings.slack_enabled:
            import aiohttp

            from bot.adapters.slack.app import build_web_client
            from bot.adapters.slack.digest_poster import SlackDigestPoster

            session = await stack.enter_async_context(aiohttp.ClientSession())
            posters["slack"] = SlackDigestPoster(build_web_client(app.settings, session))
        if app.settings.discord_enabled and app.settings.discord_token is not None:
            from bot.adapters.discord.digest_poster import DiscordDigestPoster
            from bot.app import build_discord

            bot = build_discord(app).bot
            await stack.enter_async_context(bot)
            await bot.login(app.settings.discord_token.get_secret_value())
            posters["discord"] = DiscordDigestPoster(bot, gateway=False)
        yield posters
