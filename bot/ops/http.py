"""``/healthz`` and ``/metrics`` on an aiohttp app: the Slack HTTP server's, or one of their own.

``add_ops_routes`` adds both routes to any ``aiohttp.web.Application`` (the
Slack front end's in HTTP mode); ``start_ops_server`` runs them alone on a
port for the other modes. ``/healthz`` answers 200 with the health report as
JSON when its ``status`` is "ok", else 503; a check that raises or hangs is a
503 that names only the exception type, never its text (a database error can
carry the connection URL, password included).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.ops.metrics import Metrics

log = logging.getLogger(__name__)

Health = Callable[[], Awaitable[dict[str, Any]]]

HEALTHZ_PATH = "/healthz"
METRICS_PATH = "/metrics"
HEALTH_TIMEOUT_S = 5.0  # a load balancer's probe must get an answer, even when the DB hangs
NO_CACHE = {"Cache-Control": "no-store"}


def add_ops_routes(web_app: web.Application, metrics: Metrics, health: Health) -> None:
    """Serve ``GET /healthz`` and ``GET /metrics`` from ``web_app`` (before it starts)."""

    async def healthz(_request: web.Request) -> web.Response:
        try:
            report = await asyncio.wait_for(health(), HEALTH_TIMEOUT_S)
        except Exception as exc:
            log.warning("health check failed (%s)", type(exc).__name__)
            report = {"status": "fail", "error": type(exc).__name__}
        status = 200 if report.get("status") == "ok" else 503
        return web.json_response(report, status=status, headers=NO_CACHE)

    async def metrics_page(request: web.Request) -> web.Response:
        body, content_type = metrics.exposition(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type, **NO_CACHE})

    web_app.router.add_get(HEALTHZ_PATH, healthz)
    web_app.router.add_get(METRICS_PATH, metrics_page)


class OpsServer:
    """A running standalone ops server; ``await close()`` stops it."""

    def __init__(self, runner: web.AppRunner) -> None:
        self._runner = runner

    @property
    def port(self) -> int:
        """The port actually bound (useful when started with port 0)."""
        for address in self._runner.addresses:
            return int(address[1])
        raise RuntimeError("the ops server is not listening")

    async def close(self) -> None:
        await self._runner.cleanup()


async def start_ops_server(
    metrics: Metrics, health: Health, *, host: str = "0.0.0.0", port: int = 0
) -> OpsServer:
    """Serve ``/healthz`` and ``/metrics`` alone on ``host:port`` (0 = any free port)."""
    web_app = web.Application()
    add_ops_routes(web_app, metrics, health)
    runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    server = OpsServer(runner)
    log.info("ops: /healthz and /metrics on %s:%d", host, server.port)
    return server
