"""What counts as a Slack message's links: its text, and what it carries in attachments.

A message shared from another channel (``is_share`` / ``is_msg_unfurl``)
carries the original's text in an attachment; a link unfurl carries the link
it previews (``original_url``). Links into Slack itself (message permalinks,
often to our own briefs) are never briefed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bot.pipeline.urls import links_in_message

# Subtypes that are a person posting; everything else (bot_message, message_deleted,
# channel_join, channel_topic...) is noise or our own echo.
PERSON_SUBTYPES = frozenset({None, "thread_broadcast", "file_share", "me_message"})


def is_person_message(message: dict[str, Any], bot_user_id: str | None) -> bool:
    """A message written by a person (not a bot, a deletion or a join)."""
    if message.get("subtype") not in PERSON_SUBTYPES:
        return False
    if message.get("bot_id") or message.get("bot_profile") or message.get("hidden"):
        return False
    user = message.get("user")
    return bool(user) and user != bot_user_id


def is_slack_link(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "slack.com" or host.endswith(".slack.com")


def message_text(message: dict[str, Any]) -> str:
    """The text a message's links are found in: its own, then its attachments'."""
    pieces = [str(message.get("text") or "")]
    for attachment in message.get("attachments") or []:
        if not isinstance(attachment, dict):
            continue
        if attachment.get("is_share") or attachment.get("is_msg_unfurl"):
            pieces += [str(attachment.get(k) or "") for k in ("pretext", "text", "title_link")]
            pieces += _block_links(attachment.get("message_blocks") or [])
        else:  # a link preview: the link it previews
            pieces.append(str(attachment.get("original_url") or attachment.get("from_url") or ""))
    return "\n".join(p for p in pieces if p)


def _block_links(blocks: list[Any]) -> list[str]:
    """``link`` elements anywhere in a shared message's rich-text blocks."""
    found: list[str] = []
    stack: list[Any] = list(blocks)
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "link" and item.get("url"):
                found.append(f"<{item['url']}>")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found[::-1]


def links_of(message: dict[str, Any], cap: int) -> tuple[list[str], int]:
    """The canonical links worth briefing (at most ``cap``), and how many the cap left out."""
    found, _ = links_in_message(message_text(message), limit=1000)
    wanted = [url for url in found if not is_slack_link(url)]
    return wanted[:cap], max(0, len(wanted) - cap)
