"""Messages and edits: each new link in a channel whose mode is ``auto`` gets a brief.

The work runs as listener middleware, i.e. *before* bolt acknowledges the event:
it is in the store, and started, before Slack hears "200". A retry
(``X-Slack-Retry-Num``) or a Socket Mode redelivery carries the same
``event_id``, which the store already holds, so it starts nothing.

An edit (``message_changed``) is briefed for the links it adds: the links of
the new text not in the previous one. Each link's lease key names the message
and the link, so a link is briefed once per message whatever triggers it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.adapters.slack.links import is_person_message, links_of
from bot.adapters.slack.parts import SlackParts
from bot.adapters.slack.surface import event_key, message_key, place
from bot.delivery import Asker, Request

log = logging.getLogger(__name__)


def thread_of(message: dict[str, Any]) -> str:
    """Reply in the message's thread: its own ``thread_ts`` if it is a reply, else its ``ts``."""
    return str(message.get("thread_ts") or message["ts"])


def said(event: dict[str, Any], bot_user_id: str | None) -> tuple[dict[str, Any] | None, set[str]]:
    """The person's message in ``event`` (new or edited), and the links it had before."""
    if event.get("type") != "message":
        return None, set()
    if event.get("subtype") == "message_changed":
        message, before = event.get("message") or {}, event.get("previous_message") or {}
        if not is_person_message(message, bot_user_id):
            return None, set()
        return message, set(links_of(before, cap=1000)[0])
    return (event if is_person_message(event, bot_user_id) else None), set()


def link_request(key: str, message: dict[str, Any], channel: str, links: list[str],
                 skipped: int, asker: Asker) -> Request:  # fmt: skip
    ts = str(message["ts"])
    return Request.for_links(
        key, links, skipped, job_key=lambda url: message_key(channel, ts, url), asker=asker,
        place=place(channel, thread_of(message)),
    )  # fmt: skip


def register(bolt_app: AsyncApp, parts: SlackParts) -> None:
    delivery = parts.delivery
    cap = parts.app.settings.max_links_per_message

    async def accept_links(
        body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]
    ) -> None:
        # Always call next(): a message event no listener takes is answered 404 by bolt,
        # and Slack would retry it.
        await delivery.acknowledge(_accept(body, context.bot_user_id))
        await next()

    async def _accept(body: dict[str, Any], bot_user_id: str | None) -> None:
        event = body.get("event") or {}
        message, before = said(event, bot_user_id)
        channel = str(event.get("channel") or "")
        if message is None or not channel or not message.get("ts"):
            return
        links, skipped = links_of(message, cap)
        links = [url for url in links if url not in before]
        if not links:
            return
        asker = Asker(str(body.get("team_id") or ""), channel, str(message.get("user") or ""))
        # The event_id is the pending key: a retry or a redelivery is refused at accept.
        key = event_key(str(body.get("event_id") or f"{channel}:{message['ts']}"))
        request = link_request(key, message, channel, links, skipped, asker)
        if await delivery.accept_message(request, channel_id=channel, links=links) == "known":
            log.info("slack: event redelivered, already accepted")

    async def handled() -> None:
        """Nothing left to do: the middleware accepted and started the work."""

    bolt_app.event("message", middleware=[accept_links])(handled)
