"""Reaction trigger: adding the configured emoji (``:memo:`` by default) to a message briefs it.

The event carries only the message's address, so the accepting half (before the
acknowledgement) records "read this message" as pending work under the event's
id; the background half fetches the message (``conversations.history``, or ``conversations.replies``
for a reply inside a thread) and turns its links into the same per-link jobs the
auto path uses, so a link already briefed is not briefed again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.adapters.slack.briefing import Briefer, LinkJob, event_key, message_key
from bot.adapters.slack.listeners.messages import is_person_message, thread_of

log = logging.getLogger(__name__)


def trigger_name(setting: str) -> str:
    """``:memo:`` and ``memo`` both name the emoji Slack reports as ``memo``."""
    return setting.strip().strip(":").lower()


def register(bolt_app: AsyncApp, briefer: Briefer) -> None:
    trigger = trigger_name(briefer.app.settings.slack_trigger_reaction)

    async def accept_reaction(body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> None:
        await briefer.before_ack(_accept_and_start(body))
        await next()

    async def _accept_and_start(body: dict[str, Any]) -> None:
        event = body.get("event") or {}
        item = event.get("item") or {}
        if event.get("reaction") != trigger or item.get("type") != "message":
            return
        channel, ts = str(item.get("channel") or ""), str(item.get("ts") or "")
        if not channel or not ts:
            return
        key = event_key(str(body.get("event_id") or f"reaction:{channel}:{ts}"))
        payload = {
            "kind": "reaction",
            "channel": channel,
            "ts": ts,
            "team_id": str(body.get("team_id") or ""),
            "user_id": str(event.get("user") or ""),  # who asked, by reacting
        }
        if await briefer.add_pending(key, payload):
            briefer.spawn(brief_reacted(key, payload), name="slack-reaction")

    async def handled() -> None:
        """Nothing left to do: the middleware accepted and started the work."""

    async def brief_reacted(key: str, payload: dict[str, Any]) -> None:
        channel, ts = str(payload["channel"]), str(payload["ts"])
        try:
            message = await find_message(briefer, channel, ts)
        except SlackApiError as exc:
            log.warning("slack: could not read the reacted message (%s)", exc.response.get("error"))
            message = None
        jobs: list[LinkJob] = []
        if message is not None and is_person_message(message | {"type": "message"}, None):
            jobs = [
                LinkJob(key=message_key(channel, ts, url), channel=channel, url=url,
                        thread_ts=thread_of(message | {"ts": ts}),
                        team_id=str(payload.get("team_id") or ""),
                        user_id=str(payload.get("user_id") or ""),
                        poster_id=str(message.get("user") or ""))
                for url in briefer.links(str(message.get("text") or ""))
            ]  # fmt: skip
        # The link claims are shared with the auto path: a link already briefed is skipped.
        await briefer.run_all(key, jobs)

    bolt_app.event("reaction_added", middleware=[accept_reaction])(handled)
    briefer.on_resume("reaction", brief_reacted)


async def find_message(briefer: Briefer, channel: str, ts: str) -> dict[str, Any] | None:
    """The message at ``ts``: top-level from the history, else a reply from its thread."""
    window = {"channel": channel, "latest": ts, "oldest": ts, "inclusive": True}
    history = await briefer.client.conversations_history(**window, limit=1)
    for message in history.get("messages") or []:
        if message.get("ts") == ts:
            return message
    # Not top-level: a reply inside a thread. conversations.replies finds it by its own ts.
    replies = await briefer.client.conversations_replies(ts=ts, **window, limit=10)
    for message in replies.get("messages") or []:
        if message.get("ts") == ts:
            return message
    return None
