"""Renderers: a ``Brief`` (or an error) as a platform message.

Each renderer defangs, trims and escapes untrusted text itself, so a front end
can post what it gets back as it is.
"""

from bot.render.discord import render_discord, render_discord_error, render_discord_placeholder
from bot.render.markdown import render_error_markdown, render_markdown
from bot.render.slack import render_slack, render_slack_error, render_slack_placeholder

__all__ = [
    "render_discord",
    "render_discord_error",
    "render_discord_placeholder",
    "render_error_markdown",
    "render_markdown",
    "render_slack",
    "render_slack_error",
    "render_slack_placeholder",
]
