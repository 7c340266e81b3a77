"""The Slack front end: registration (``app``, ``listeners``) and translation
(``surface``, ``links``); ``bot.app.build_slack`` puts it together.

Socket Mode (``SLACK_APP_TOKEN``) is the default because it needs no public
URL; HTTP mode (``SLACK_SIGNING_SECRET``, ``SLACK_HTTP_PORT``) serves
``/slack/events``. Both feed the same bolt app and the same delivery core.
"""

from bot.adapters.slack.frontend import EVENTS_PATH, SlackFrontEnd, build_http_app

__all__ = ["EVENTS_PATH", "SlackFrontEnd", "build_http_app"]
