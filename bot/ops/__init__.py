"""Operations: Prometheus metrics, the health report, and where ``/healthz`` + ``/metrics`` live.

Where they are served (``OPS_HTTP_PORT``, ``SLACK_HTTP_PORT``):

* Slack in HTTP mode: always on the Slack server (``SLACK_HTTP_PORT``); the
  Slack front end calls ``add_ops_routes(http_app, app.metrics, app.health)``.
* ``OPS_HTTP_PORT`` set: a standalone server on that port too (Socket Mode,
  Discord, console), unless it is the Slack HTTP port already serving them.
* otherwise: not served (nothing listens that nobody asked for).

The HTTP parts (aiohttp) are imported only when a server is started.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from bot.ops.metrics import Metrics

if TYPE_CHECKING:
    from bot.app import App
    from bot.config import Settings
    from bot.ops.http import OpsServer
    from bot.store import Store

__all__ = ["Metrics", "check_health", "needs_standalone_server", "start_ops_for"]

log = logging.getLogger(__name__)

_STARTED = time.monotonic()


async def check_health(store: Store) -> dict[str, Any]:
    """The health report: ``{"status": "ok"|"fail", "db": "ok"|"unreachable", "uptime_s"}``.

    The database is probed with a real read through the store (a channel's
    settings), so a missing schema fails the check as well as a dead server.
    """
    report: dict[str, Any] = {"uptime_s": round(time.monotonic() - _STARTED, 1)}
    try:
        await store.get_channel("ops", "healthz")
    except Exception as exc:
        # Only the type: the text of a driver error can hold the DATABASE_URL password.
        log.warning("health: database unreachable (%s)", type(exc).__name__)
        return {"status": "fail", "db": "unreachable", **report}
    return {"status": "ok", "db": "ok", **report}


def needs_standalone_server(settings: Settings) -> bool:
    """True when OPS_HTTP_PORT asks for a server the Slack HTTP server does not already cover."""
    if settings.ops_http_port is None:
        return False
    slack_http = settings.slack_enabled and settings.slack_mode == "http"
    return not (slack_http and settings.ops_http_port == settings.slack_http_port)


async def start_ops_for(app: App) -> OpsServer | None:
    """Start the standalone ops server if the settings ask for one (``linkbrief run`` calls it)."""
    if not needs_standalone_server(app.settings):
        return None
    from bot.ops.http import start_ops_server  # deferred: aiohttp only when serving

    assert app.settings.ops_http_port is not None
    return await start_ops_server(
        app.metrics, app.health, host=app.settings.ops_http_host, port=app.settings.ops_http_port
    )
