"""The Slack front end: ``run_slack(app)`` for ``linkbrief run``, ``SlackFrontEnd`` for tests.

Socket Mode (``SLACK_APP_TOKEN``) is the default because it needs no public
URL; HTTP mode (``SLACK_SIGNING_SECRET``, ``SLACK_HTTP_PORT``) serves
``/slack/events``. Both feed the same bolt app and the same briefing flow.
"""

from __future__ import annotations

import asyncio

from bot.adapters.slack.briefing import PLATFORM
from bot.adapters.slack.digest_poster import SlackDigestPoster
from bot.adapters.slack.frontend import EVENTS_PATH, SlackFrontEnd, build_http_app
from bot.app import App
from bot.digest.scheduler import DigestPoster
from bot.preflight import check_slack

__all__ = ["EVENTS_PATH", "SlackFrontEnd", "build_http_app", "build_slack", "run_slack"]


def build_slack(app: App, **options: object) -> SlackFrontEnd:
    """The front end, not yet started (must be called inside a running event loop)."""
    return SlackFrontEnd(app, **options)  # type: ignore[arg-type]


async def run_slack(app: App, posters: dict[str, DigestPoster] | None = None) -> None:
    """Run the Slack front end until cancelled, then shut it down cleanly.

    ``posters`` (the digest scheduler's) gets this front end's digest poster.
    """
    front_end = SlackFrontEnd(app)
    if posters is not None:
        posters[PLATFORM] = SlackDigestPoster(front_end.client)
    try:
        # A refused token or an unreachable Slack is one line at start (exit 3).
        await check_slack(front_end.client, app.settings.slack_api_base_url)
        await front_end.start()
        await asyncio.Event().wait()
    finally:
        # Shielded: a second cancellation must not leave sockets and tasks behind.
        await asyncio.shield(front_end.stop())
