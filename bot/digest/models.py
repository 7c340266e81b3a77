"""A digest as data: what the builder produces, the run row stores and renderers show.

Pydantic models, so a built digest round-trips through JSON unchanged: a
process that takes over a half-finished run posts exactly what was built.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

LineMode = Literal["cached", "summarized", "extractive"]


class SourceRef(BaseModel):
    name: str  # the outlet (feed title), or "shared in this channel"
    url: str  # that outlet's link to the story


class DigestEntry(BaseModel):
    """One story: the same story from several sources is one entry."""

    title: str
    url: str
    line: str  # one-line summary
    line_mode: LineMode = "extractive"
    sources: list[SourceRef] = Field(default_factory=list)
    shares: int = 0  # times the channel shared it
    published: datetime | None = None
    score: float = 0.0

    @property
    def also_covered_by(self) -> list[SourceRef]:
        return self.sources[1:]


class Digest(BaseModel):
    platform: str
    channel_id: str
    day: str  # ISO date of the delivery day, in the channel's zone
    title: str
    since: datetime
    until: datetime
    entries: list[DigestEntry] = Field(default_factory=list)
    candidates: int = 0  # items and shares considered
    summaries_made: int = 0  # brief_url calls spent on this digest (the capped ones)

    @property
    def key(self) -> str:
        """The idempotency key: one digest per channel and delivery day."""
        return f"{self.platform}:{self.channel_id}:{self.day}"

    @property
    def nonce(self) -> str:
        """A 25-character token of ``key``: Discord's ``nonce`` (with ``enforce_nonce``)
        and Slack's message ``metadata`` let a poster recognise a digest already sent."""
        return hashlib.sha256(self.key.encode()).hexdigest()[:25]

    @property
    def empty(self) -> bool:
        return not self.entries
