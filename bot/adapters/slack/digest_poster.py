"""Posting a daily digest to a Slack channel, for the digest scheduler.

Each digest carries its idempotency key in Slack message metadata, so after a
crash between Slack accepting the post and the store recording it, the
scheduler can find the post (``find_posted``) instead of posting twice.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.surface import NO_UNFURL
from bot.digest.models import Digest
from bot.digest.render import render_digest

log = logging.getLogger(__name__)

METADATA_EVENT = "linkbrief_digest"


class SlackDigestPoster:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post_digest(self, channel_id: str, digest: Digest) -> str:
        rendered = render_digest(digest).slack
        response = await self.client.chat_postMessage(
            channel=channel_id,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"key": digest.key}},
            **rendered,
            **NO_UNFURL,
        )
        return str(response["ts"])

    async def find_posted(self, channel_id: str, digest: Digest) -> str | None:
        """The ``ts`` of this digest if it is already in the channel (a retake after a crash)."""
        try:
            history = await self.client.conversations_history(
                channel=channel_id,
                oldest=f"{digest.until.timestamp() - 86400:.6f}",
                include_all_metadata=True,
                limit=100,
            )
        except SlackApiError as exc:
            log.warning(
                "slack: could not check for an earlier digest (%s)", exc.response.get("error")
            )
            return None
        for message in history.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_EVENT and payload.get("key") == digest.key:
                return str(message.get("ts"))
        return None
