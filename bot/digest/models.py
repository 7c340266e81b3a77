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
LEGACY_SHARED_SOURCE = "shared in this channel"


class SourceRef(BaseModel):
    name: str  # the outlet (feed title); the channel's own shares are counted in ``shares``
    url: str  # that outlet's link to the story


DisagreementKind = Literal["vote", "amount", "percent", "date", "count", "speaker"]


class DisagreementValue(BaseModel):
    value: str  # as the outlets wrote it ("$48m", "5–2"), or the speaker named
    sources: list[str]  # the outlets that give this value


class Disagreement(BaseModel):
    """One figure (or a quotation's speaker) on which the outlets of a story differ."""

    kind: DisagreementKind
    subject: str = ""  # what is counted ("flights"), or the quotation whose speaker differs
    values: list[DisagreementValue]


class DigestEntry(BaseModel):
    """One story: the same story from several sources is one entry."""

    title: str
    url: str
    line: str  # one-line summary
    line_mode: LineMode = "extractive"
    sources: list[SourceRef] = Field(default_factory=list)  # outlets, earliest first
    shares: int = 0  # times the channel shared it
    disagreements: list[Disagreement] = Field(default_factory=list)
    published: datetime | None = None
    score: float = 0.0

    @property
    def also_covered_by(self) -> list[SourceRef]:
        return self.outlets[1:]

    @property
    def outlets(self) -> list[SourceRef]:
        """The outlets (a digest written before shares were kept apart listed them as a source)."""
        return [s for s in self.sources if s.name != LEGACY_SHARED_SOURCE]


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
    language: str = "en"  # of the bot's own words in it (the channel's setting)

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
