"""Where discord.py keeps Discord's addresses, and the one function that changes them.

discord.py 2.7 has no constructor option for either endpoint, so tests (and
anyone running a Discord-compatible server) reach a different one through two
settings, applied to the class attributes the library reads:

* REST: ``discord.http.Route.BASE`` (``https://discord.com/api/v10``). Every REST
  call builds its URL from it, including interaction callbacks and webhook
  follow-ups (``discord.webhook.async_`` uses the same ``Route``).
* Gateway: ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``
  (``wss://gateway.discord.gg/``). ``Client.connect`` starts from it without
  asking ``GET /gateway/bot`` (only ``AutoShardedClient`` asks), and goes back to
  it after an INVALID_SESSION. Resumes use the ``resume_gateway_url`` that READY
  announced, so they follow whatever server sent READY, with no patch needed.

Both are process-wide, which matches linkbrief's one Discord client per process.
"""

from __future__ import annotations

import re

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.config import Settings

DEFAULT_API_BASE = Route.BASE
DEFAULT_GATEWAY = DiscordWebSocket.DEFAULT_GATEWAY
API_VERSION = 10


def configure_endpoints(settings: Settings) -> None:
    """Point discord.py at ``DISCORD_API_BASE_URL`` / ``DISCORD_GATEWAY_URL``, or back
    at Discord's own endpoints when they are unset."""
    Route.BASE = api_base(settings.discord_api_base_url) or DEFAULT_API_BASE
    gateway = (settings.discord_gateway_url or "").strip()
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway) if gateway else DEFAULT_GATEWAY


def api_base(url: str | None) -> str | None:
    """``https://host/api`` or ``https://host/api/v10`` → ``https://host/api/v10``."""
    url = (url or "").strip().rstrip("/")
    if not url:
        return None
    if re.search(r"/v\d+$", url):
        return url
    return f"{url}/v{API_VERSION}"
