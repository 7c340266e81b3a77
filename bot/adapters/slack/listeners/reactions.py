"""Reaction trigger: adding the configured emoji (``:memo:`` by default) to a message briefs it.

The event carries only the message's address, so the accepting half (before the
acknowledgement) records "read this message" as pending work under the event's
id; the background half fetches the message (``conversations.history``, or
``conversations.replies`` for a reply inside a thread) and briefs its links
as the same per-link jobs the auto path uses, so a link already briefed is not
briefed again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.adapters.slack.links import is_person_message, links_of
from bot.adapters.slack.listeners.messages import link_request
from bot.adapters.slack.parts import SlackParts
from bot.adapters.slack.surface import event_key
from bot.delivery import Asker, Request

log = logging.getLogger(__name__)
REACTION_KIND = "reaction"


def trigger_name(setting: str) -> str:
    """``:memo:`` and ``memo`` both name the emoji Slack reports as ``memo``."""
    return setting.strip().strip(":").lower()


def register(bolt_app: AsyncApp, parts: SlackParts) -> None:
    trigger = trigger_name(parts.app.settings.slack_trigger_reaction)
    delivery = parts.delivery

    async def accept_reaction(body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> None:
        await delivery.acknowledge(_accept(body))
        await next()

    async def _accept(body: dict[str, Any]) -> None:
        event = body.get("event") or {}
        item = event.get("item") or {}
        if event.get("reaction") != trigger or item.get("type") != "message":
            return
        channel, ts = str(item.get("channel") or ""), str(item.get("ts") or "")
        if not channel or not ts:
            return
        key = event_key(str(body.get("event_id") or f"reaction:{channel}:{ts}"))
        payload = {
            "kind": REACTION_KIND, "channel": channel, "ts": ts,
            "team_id": str(body.get("team_id") or ""),
            "user_id": str(event.get("user") or ""),  # who asked, by reacting
        }  # fmt: skip
        if await delivery.add_pending(key, payload):
            delivery.spawn(brief_reacted(key, payload), name="slack-reaction")

    async def brief_reacted(key: str, payload: dict[str, Any]) -> None:
        channel, ts = str(payload["channel"]), str(payload["ts"])
        asker = Asker(str(payload.get("team_id") or ""), channel, str(payload.get("user_id") or ""))
        try:
            message = await find_message(parts, channel, ts)
        except SlackApiError as exc:
            log.warning("slack: could not read the reacted message (%s)", exc.response.get("error"))
            message = None
        request = Request(key=key, jobs=[], asker=asker)
        if message is not None and is_person_message(message, None):
            links, _ = links_of(message, parts.app.settings.max_links_per_message)
            message = message | {"ts": ts}
            request = link_request(key, message, channel, links, 0, asker)
            # Issue 18: the link's poster (not the reactor) may delete its brief.
            request.place["poster"] = str(message.get("user") or "")
        # The link leases are shared with the auto path: a link already briefed is skipped.
        await delivery.run(request)

    async def handled() -> None:
        """Nothing left to do: the middleware accepted and started the work."""

    bolt_app.event("reaction_added", middleware=[accept_reaction])(handled)
    delivery.on_resume(REACTION_KIND, brief_reacted)


async def find_message(parts: SlackParts, channel: str, ts: str) -> dict[str, Any] | None:
    """The message at ``ts``: top-level from the history, else a reply from its thread."""
    window = {"channel": channel, "latest": ts, "oldest": ts, "inclusive": True}
    history = await parts.client.conversations_history(**window, limit=1)
    for message in history.get("messages") or []:
        if message.get("ts") == ts:
            return message
    # Not top-level: a reply inside a thread. conversations.replies finds it by its own ts.
    replies = await parts.client.conversations_replies(ts=ts, **window, limit=10)
    for message in replies.get("messages") or []:
        if message.get("ts") == ts:
            return message
    return None
