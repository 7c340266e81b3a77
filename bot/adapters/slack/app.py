"""Build the bolt ``AsyncApp`` and its Web API client from ``Settings``.

Every Web API call (including Socket Mode's ``apps.connections.open``) goes to
``SLACK_API_BASE_URL`` through one client that retries Slack's 429s after
``Retry-After`` and drops connection errors once. ``process_before_response``
stays False: bolt acknowledges first and runs listeners in the background.
"""

from __future__ import annotations

import logging

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.listeners import commands, followups, messages, reactions
from bot.adapters.slack.parts import SlackParts
from bot.config import Settings

RATE_LIMIT_RETRIES = 3


def api_base_url(settings: Settings) -> str:
    """slack_sdk joins method names onto the base URL, so it must end with a slash."""
    base = settings.slack_api_base_url
    return base if base.endswith("/") else base + "/"


def build_web_client(settings: Settings, session: aiohttp.ClientSession) -> AsyncWebClient:
    if settings.slack_bot_token is None:
        raise ValueError("SLACK_BOT_TOKEN is not set")
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=api_base_url(settings),
        session=session,  # one connection pool for every call, closed by the front end
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
        ],
        logger=logging.getLogger("bot.adapters.slack.web"),
    )


def build_bolt_app(settings: Settings, parts: SlackParts) -> AsyncApp:
    """The bolt app with every listener registered; signatures are checked in HTTP mode.

    A new trigger is a module under ``listeners`` with ``register(bolt_app, parts)``,
    added to the list below.
    """
    http_mode = settings.slack_mode == "http"
    secret = settings.slack_signing_secret
    bolt_app = AsyncApp(
        name="linkbrief",
        client=parts.client,
        signing_secret=secret.get_secret_value() if secret else "",
        # Socket Mode requests arrive over an authenticated WebSocket, not signed HTTP.
        request_verification_enabled=http_mode,
        process_before_response=False,
        logger=logging.getLogger("bot.adapters.slack.bolt"),
    )
    for listeners in (messages, reactions, commands, followups):  # followups: issue 18
        listeners.register(bolt_app, parts)
    return bolt_app
