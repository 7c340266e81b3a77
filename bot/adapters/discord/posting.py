"""Discord's posting rules, enforced in one place so no caller can forget one.

* ``AllowedMentions.none()`` on every send and edit; content-only messages are sent
  with embeds suppressed and bare links in content are wrapped in ``<…>``;
* a 403 in a channel is remembered: logged once, no further requests there for a
  while, because repeated invalid requests get a bot banned by Discord's edge.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import discord

from bot.adapters.discord.controls_view import CONTROLS_KEY, controls_view

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
# How long a refused channel is left alone; after that one request may try again
# (a moderator may have fixed the permission).
FORBIDDEN_TTL_S = 3600.0
_BARE_URL = re.compile(r"(?<![<\w])(https?://[^\s<>]+)", re.IGNORECASE)

Rendered = dict[str, Any]


def send_kwargs(rendered: Rendered) -> dict[str, Any]:
    """A rendered dict as discord.py send/edit arguments, with the posting rules applied."""
    embeds = [discord.Embed.from_dict(e) for e in rendered.get("embeds") or []]
    content = _BARE_URL.sub(r"<\1>", rendered.get("content") or "")
    kwargs = {
        "content": content or None,
        "embeds": embeds,
        "allowed_mentions": NO_MENTIONS,
        # Suppressing embeds would hide our own embed too, so only when there is none.
        "suppress_embeds": not embeds,
    }
    if CONTROLS_KEY in rendered:  # issue 18: Regenerate / thumbs / Delete under a brief
        kwargs["view"] = controls_view(int(rendered[CONTROLS_KEY]))
    return kwargs


def edit_kwargs(rendered: Rendered) -> dict[str, Any]:
    kwargs = send_kwargs(rendered)
    kwargs["suppress"] = kwargs.pop("suppress_embeds")  # Message.edit's name for the flag
    return kwargs


class ForbiddenChannels:
    """Channels where Discord answered 403, each logged once and then left alone."""

    def __init__(self, ttl_s: float = FORBIDDEN_TTL_S, *, level: int = logging.WARNING) -> None:
        self._ttl_s = ttl_s
        self._level = level
        self._until: dict[int, float] = {}

    def __contains__(self, channel_id: int) -> bool:
        until = self._until.get(channel_id)
        if until is None:
            return False
        if until < time.monotonic():
            del self._until[channel_id]
            return False
        return True

    def add(self, channel_id: int, what: str) -> None:
        if channel_id in self:
            return
        self._until[channel_id] = time.monotonic() + self._ttl_s
        log.log(
            self._level,
            "Discord refused to let me %s in channel %s (403: missing permission); "
            "not trying that there for %d minutes. "
            "The README's Discord section lists the permissions needed.",
            what,
            channel_id,
            self._ttl_s // 60,
        )
