"""Auto-brief: a message with links in a channel whose mode is ``auto`` gets a brief per link.

The work runs as listener middleware, i.e. *before* bolt acknowledges the event:
it is in the store, and its background job started, before Slack hears "200".
A retry (``X-Slack-Retry-Num``) or a Socket Mode redelivery carries the same
``event_id``, which the store already holds, so it starts nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.adapters.slack.briefing import (
    PLATFORM,
    Briefer,
    LinkJob,
    event_key,
    message_key,
    note_key,
    skipped_note,
)
from bot.store.digests import record_shared_link
from bot.timeutil import utc_now

log = logging.getLogger(__name__)

# Subtypes that are a person posting; everything else (bot_message, message_changed,
# message_deleted, channel_join, channel_topic...) is noise or our own echo.
PERSON_SUBTYPES = frozenset({None, "thread_broadcast", "file_share", "me_message"})


def is_person_message(event: dict[str, Any], bot_user_id: str | None) -> bool:
    """A fresh message written by a person (not a bot, not an edit, a deletion or a join)."""
    if event.get("type") != "message" or event.get("subtype") not in PERSON_SUBTYPES:
        return False
    if event.get("bot_id") or event.get("bot_profile") or event.get("hidden"):
        return False
    user = event.get("user")
    return bool(user) and user != bot_user_id


def thread_of(event: dict[str, Any]) -> str:
    """Reply in the message's thread: its own ``thread_ts`` if it is a reply, else its ``ts``."""
    return str(event.get("thread_ts") or event["ts"])


def register(bolt_app: AsyncApp, briefer: Briefer) -> None:
    store = briefer.app.store

    async def accept_links(
        body: dict[str, Any], context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]
    ) -> None:
        # Always call next(): a message event no listener takes is answered 404 by bolt,
        # and Slack would retry it.
        await briefer.before_ack(_accept_and_start(body, context.bot_user_id))
        await next()

    async def _accept_and_start(body: dict[str, Any], bot_user_id: str | None) -> None:
        event = body.get("event") or {}
        if not is_person_message(event, bot_user_id):
            return
        links, skipped = briefer.links_and_skipped(str(event.get("text") or ""))
        channel, ts = str(event.get("channel") or ""), str(event.get("ts") or "")
        if not links or not channel or not ts:
            return
        if not (await store.get_channel(PLATFORM, channel)).auto:
            briefer.spawn(record_shares(channel, links), name="slack-shares")
            return
        team, user = str(body.get("team_id") or ""), str(event.get("user") or "")
        jobs = [
            LinkJob(key=message_key(channel, ts, url), channel=channel, url=url,
                    thread_ts=thread_of(event), team_id=team, user_id=user)
            for url in links
        ]  # fmt: skip
        if skipped:
            # Said once per message: the note is a job of its own, claimed like a link.
            jobs.append(LinkJob(key=note_key(channel, ts), channel=channel, url="",
                                thread_ts=thread_of(event), team_id=team, user_id=user,
                                note=skipped_note(len(links), skipped)))  # fmt: skip
        # One write per event: the event_id is the pending key, so a retry or a
        # redelivery of this event is refused here, even after a restart.
        key = event_key(str(body.get("event_id") or f"{channel}:{ts}"))
        if await briefer.accept(key, jobs):
            briefer.start(key, jobs)
            # After the ack-critical write: the day's shares feed the channel's digest.
            briefer.spawn(record_shares(channel, links), name="slack-shares")
        else:
            log.info("slack: event redelivered, already accepted")

    async def record_shares(channel: str, links: list[str]) -> None:
        for url in links:
            await record_shared_link(store, PLATFORM, channel, url, utc_now())

    async def handled() -> None:
        """Nothing left to do: the middleware accepted and started the work."""

    bolt_app.event("message", middleware=[accept_links])(handled)
