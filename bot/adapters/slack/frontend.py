"""The running Slack front end: HTTP mode (an aiohttp server we own) or Socket Mode.

HTTP mode serves ``POST /slack/events`` from an ``aiohttp.web.Application`` that
callers may extend (``/healthz``, ``/metrics``) before ``start()``. Socket Mode
uses bolt's aiohttp ``AsyncSocketModeHandler`` with our Web API client, so even
``apps.connections.open`` goes to ``SLACK_API_BASE_URL``.
"""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.adapters.slack.app import build_bolt_app, build_web_client
from bot.adapters.slack.briefing import Briefer
from bot.app import App
from bot.ops.http import add_ops_routes
from bot.ops.signed_requests import slack_signature_middleware

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
    """Owns the bolt app, the Web API session, the server or socket, and background jobs."""

    def __init__(self, app: App, *, http_host: str = "0.0.0.0", http_port: int | None = None):
        self.app = app
        self.settings = app.settings
        self.http_host = http_host
        self.http_port = self.settings.slack_http_port if http_port is None else http_port
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        self.client = build_web_client(self.settings, self._session)
        self.briefer = Briefer(app, self.client)
        self.bolt_app = build_bolt_app(self.settings, self.client, self.briefer)
        secret = self.settings.slack_signing_secret
        self.http_app = build_http_app(
            self.bolt_app, secret.get_secret_value() if secret and self.mode == "http" else ""
        )
        # One port for Slack's events and the operators' /healthz and /metrics.
        add_ops_routes(self.http_app, app.metrics, app.health)
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

    async def start(self) -> None:
        self.briefer.pacer.start()
        # Work a previous process accepted but never did comes first, before new events.
        resumed = await self.briefer.resume_pending()
        if resumed:
            log.info("slack: resuming %d pending item(s)", resumed)
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
        """Stop taking events, cancel background work (it stays pending), close sessions."""
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.briefer.aclose()
        await self._session.close()
