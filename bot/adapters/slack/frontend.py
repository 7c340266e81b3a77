"""The running Slack front end: HTTP mode (an aiohttp server we own) or Socket Mode.

HTTP mode serves ``POST /slack/events`` from an ``aiohttp.web.Application`` that
also answers ``/healthz`` and ``/metrics``. Socket Mode uses bolt's aiohttp
``AsyncSocketModeHandler`` with our Web API client, so even
``apps.connections.open`` goes to ``SLACK_API_BASE_URL``. Everything it runs
is built by the composition root (``bot.app.build_slack``) and handed in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.adapters.slack.digest_poster import SlackDigestPoster
from bot.adapters.slack.parts import SlackParts
from bot.adapters.slack.surface import PLATFORM
from bot.ops.http import add_ops_routes
from bot.ops.signed_requests import slack_signature_middleware
from bot.preflight import check_slack

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_REQUEST_BYTES = 1 << 20  # Slack payloads are a few KB; refuse anything silly


def build_http_app(bolt_app: AsyncApp, signing_secret: str = "") -> web.Application:
    """An aiohttp app answering Slack's requests at ``/slack/events``; add routes freely.

    With a ``signing_secret``, requests are verified before bolt parses them
    (``bot/ops/signed_requests.py``): anything unsigned or malformed gets 401 unread.
    """

    async def slack_events(request: web.Request) -> web.StreamResponse:
        bolt_response = await bolt_app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    verify = [slack_signature_middleware(signing_secret, EVENTS_PATH)] if signing_secret else []
    http_app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=verify)
    http_app.router.add_post(EVENTS_PATH, slack_events)
    return http_app


class SlackFrontEnd:
    """Runs the bolt app over HTTP or Socket Mode; resumes pending work first."""

    platform = PLATFORM

    def __init__(
        self,
        parts: SlackParts,
        bolt_app: AsyncApp,
        *,
        close_session: Callable[[], Awaitable[None]],
        http_host: str = "0.0.0.0",
        http_port: int | None = None,
    ) -> None:
        self.parts = parts
        self.settings = parts.app.settings
        self.client = parts.client
        self.delivery = parts.delivery
        self.bolt_app = bolt_app
        self.poster = SlackDigestPoster(parts.client)
        self.http_host = http_host
        self.http_port = self.settings.slack_http_port if http_port is None else http_port
        secret = self.settings.slack_signing_secret
        self.http_app = build_http_app(
            bolt_app, secret.get_secret_value() if secret and self.mode == "http" else ""
        )
        # One port for Slack's events and the operators' /healthz and /metrics.
        add_ops_routes(self.http_app, parts.app.metrics, parts.app.health)
        self._close_session = close_session
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None

    @property
    def mode(self) -> str:
        return self.settings.slack_mode

    @property
    def port(self) -> int:
        """The HTTP port actually bound (useful when started with port 0)."""
        if self._runner is None:
            raise RuntimeError("the HTTP server is not running")
        for address in self._runner.addresses:
            return int(address[1])
        raise RuntimeError("the HTTP server has no address")

    async def run(self) -> None:
        """Run until cancelled, then shut down cleanly."""
        try:
            # A refused token or an unreachable Slack is one line at start (exit 3).
            await check_slack(self.client, self.settings.slack_api_base_url)
            await self.start()
            await asyncio.Event().wait()
        finally:
            # Shielded: a second cancellation must not leave sockets and tasks behind.
            await asyncio.shield(self.stop())

    async def start(self) -> None:
        # Work a previous process accepted but never did comes first, before new events.
        await self.delivery.resume_pending()
        if self.mode == "http":
            self._runner = web.AppRunner(self.http_app, access_log=None)
            await self._runner.setup()
            await web.TCPSite(self._runner, self.http_host, self.http_port).start()
            log.info("slack: HTTP mode on port %d, path %s", self.port, EVENTS_PATH)
        else:
            token = self.settings.slack_app_token
            if token is None:
                raise ValueError("SLACK_APP_TOKEN is required for Socket Mode")
            self._socket = AsyncSocketModeHandler(
                self.bolt_app, app_token=token.get_secret_value(), web_client=self.client
            )
            await self._socket.connect_async()
            log.info("slack: Socket Mode connected")

    async def stop(self) -> None:
        """Stop taking events, stop background work (it stays pending), close the session."""
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.delivery.aclose()
        await self._close_session()
