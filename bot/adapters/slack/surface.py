"""Slack's surface for the delivery core: post a placeholder, find it, update it.

Every placeholder carries message metadata naming its job, so a process that
takes over after a crash finds it in the thread (``conversations.replies``)
instead of posting a second one. The window that remains: Slack accepted a
``chat.postMessage`` but the process died before reading the answer *and* the
message is not yet visible to ``conversations.replies`` (or lies beyond its
first page of 200 replies): then the link gets a second placeholder.

A request's ``place`` here is ``{"channel", "thread_ts", "response_url"}``
(``thread_ts`` None: the channel's top level; ``response_url``: a slash
command's, to answer the caller when the bot cannot post in the channel).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.delivery import LinkJob, Outcome, Ref, Request
from bot.errors import LinkbriefError
from bot.followup.render import with_slack_controls
from bot.render.slack import render_slack, render_slack_error, render_slack_placeholder
from bot.store.followups import FollowupStore

log = logging.getLogger(__name__)

PLATFORM = "slack"
LINK_METADATA_EVENT = "linkbrief_link"
THREAD_SEARCH_LIMIT = 200
# Every bot post: the brief is the preview, Slack's own unfurl would only repeat it.
NO_UNFURL: dict[str, bool] = {"unfurl_links": False, "unfurl_media": False}
NOT_IN_CHANNEL_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
NOT_IN_CHANNEL_TEXT = (
    "I can't post in this channel yet. Invite me with `/invite @linkbrief` and try again."
)


def message_key(channel: str, ts: str, url: str) -> str:
    """The lease key of one link in one message, shared by every trigger on it."""
    return f"slack:msg:{channel}:{ts}:{url}"


def event_key(event_id: str) -> str:
    return f"slack:event:{event_id}"


def place(
    channel: str, thread_ts: str | None = None, response_url: str | None = None
) -> dict[str, Any]:
    return {"channel": channel, "thread_ts": thread_ts, "response_url": response_url}


class SlackSurface:
    platform = PLATFORM

    def __init__(self, client: AsyncWebClient, posts: FollowupStore | None = None) -> None:
        self.client = client
        self.posts = posts  # issue 18: where briefs are recorded for their controls

    async def prepare(self, request: Request, *, look: bool) -> None:
        pass  # a thread is just a ``thread_ts``: nothing to create

    async def post(self, request: Request, job: LinkJob) -> Ref | None:
        where = request.place
        message = render_slack_placeholder(job.url) if job.note is None else {"text": job.note}
        metadata = {"event_type": LINK_METADATA_EVENT, "event_payload": {"job": job.tag}}
        try:
            response = await self.client.chat_postMessage(
                channel=where["channel"], thread_ts=where.get("thread_ts"), metadata=metadata,
                **message, **NO_UNFURL,
            )  # fmt: skip
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown"))
            log.warning("slack: could not post in %s (%s)", where["channel"], error)
            if error in NOT_IN_CHANNEL_ERRORS and where.get("response_url"):
                await self._respond_ephemeral(str(where["response_url"]), NOT_IN_CHANNEL_TEXT)
            return None
        return {"ts": str(response["ts"])}

    async def find(self, request: Request, job: LinkJob, taken: list[Ref]) -> Ref | None:
        where = request.place
        window: dict[str, Any] = {"include_all_metadata": True, "limit": THREAD_SEARCH_LIMIT}
        try:
            if where.get("thread_ts"):
                found = await self.client.conversations_replies(
                    channel=where["channel"], ts=where["thread_ts"], **window
                )
            else:
                found = await self.client.conversations_history(channel=where["channel"], **window)
        except SlackApiError as exc:
            log.warning("slack: could not read the thread (%s)", exc.response.get("error"))
            return None
        for message in found.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == LINK_METADATA_EVENT and payload.get("job") == job.tag:
                return {"ts": str(message["ts"])}
        return None

    async def update(self, request: Request, job: LinkJob, ref: Ref, outcome: Outcome) -> None:
        channel = request.place["channel"]
        if isinstance(outcome, LinkbriefError):
            message = render_slack_error(outcome.message)
        elif self.posts is None:
            message = render_slack(outcome, request.language)
        else:  # issue 18: recorded first, so a quick question or click always finds it
            await self._record(request, job, ref)
            message = with_slack_controls(render_slack(outcome, request.language), version=0)
        # chat.update does not document the unfurl flags; they are sent anyway so the
        # update can never turn previews on, and Slack ignores arguments it does not use.
        try:
            await self.client.chat_update(channel=channel, ts=ref["ts"], **message, **NO_UNFURL)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown"))
            log.warning("slack: chat.update with blocks failed (%s); sending text only", error)
            text = str(message.get("text") or LinkbriefError().message)
            await self.client.chat_update(channel=channel, ts=ref["ts"], text=text, blocks=[])

    async def _record(self, request: Request, job: LinkJob, ref: Ref) -> None:
        """The brief's message, thread and poster, for its controls and questions (issue 18).
        A failure costs only the controls ("gone"), never the brief."""
        assert self.posts is not None
        where, ts = request.place, str(ref["ts"])
        try:
            await self.posts.record_post(
                platform=PLATFORM, channel_id=str(where["channel"]), message_id=ts,
                thread_id=str(where.get("thread_ts") or ts), team_id=request.asker.team_id,
                poster_id=str(where.get("poster") or request.asker.user_id), url=job.url,
            )  # fmt: skip
        except Exception:
            log.warning("slack: could not record a posted brief", exc_info=True)

    async def _respond_ephemeral(self, response_url: str, text: str) -> None:
        try:
            await AsyncWebhookClient(response_url).send(text=text, response_type="ephemeral")
        except Exception:  # the response_url expired or is unreachable: nothing else to do
            log.warning("slack: could not answer through the response_url")
