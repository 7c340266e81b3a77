"""The values that flow down the pipeline: a fetched page, an article, a brief.

``Brief`` and ``Claim`` are the JSON contract of ``linkbrief summarize --json``
(see docs/architecture.md, Contracts); keep their field names stable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from bot.pipeline.wordcount import word_count

ClaimKind = Literal["fact", "claim", "assessment", "opinion"]
Mode = Literal["llm", "extractive"]


@dataclass(slots=True)
class FetchedPage:
    """What the safe fetcher returns: decoded body bytes plus where they came from."""

    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int
    content_type: str  # media type only, lower-case, e.g. "text/html"
    charset: str | None
    body: bytes
    redirects: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


PageKind = Literal["article", "discussion", "video"]


@dataclass(slots=True)
class Comment:
    """One comment of a discussion page, as the page shows it."""

    author: str
    text: str
    depth: int = 0  # 0: a reply to the post itself


@dataclass(slots=True)
class Article:
    """The cleaned article: exactly what a summarizer sees.

    ``text`` is paragraphs separated by blank lines; headings start with ``#``;
    quoted passages are ``> `` lines, preceded by the line that introduces
    them (e.g. ``ISW:``); footnote markers such as ``[1]`` are kept.
    """

    url: str
    canonical_url: str
    text: str
    title: str = ""
    site: str = ""
    author: str = ""
    published: str = ""  # ISO date, or "" when unknown
    language: str = ""  # ISO 639-1, or "" when unknown
    source_format: Literal["html", "pdf", "text"] = "html"
    page_words: int = 0  # words on the whole page before cleaning
    links: list[str] = field(default_factory=list)  # hrefs inside the article body
    image: str = ""  # og:image, https only; shown by the chat platform, never fetched by us
    kind: PageKind = "article"
    # How the text was obtained when not from the page's HTML body ("from the page's
    # data", "from the captions"): told to the reader as brief warnings.
    notes: list[str] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)  # a discussion page's comments
    linked_url: str = ""  # a discussion's linked article, fetched through the same guard
    caption_url: str = ""  # a video page's caption track, fetched through the same guard

    @property
    def article_words(self) -> int:
        return word_count(self.text)

    @property
    def reduced_by_pct(self) -> int:
        if self.page_words <= 0:
            return 0
        kept = min(self.article_words, self.page_words)
        return round(100 * (1 - kept / self.page_words))


class DraftClaim(BaseModel):
    """A claim as a summarizer proposes it, before verification."""

    claim: str
    speaker: str = ""
    source: str = ""
    quote: str = ""
    kind: ClaimKind = "claim"


class Draft(BaseModel):
    """A summarizer's answer: what the model (or the extractive code) proposes."""

    title: str = ""
    summary: str = ""
    claims: list[DraftClaim] = Field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    warnings: list[str] = Field(default_factory=list)


class Claim(DraftClaim):
    """A claim after verification. Only ``verified`` claims reach chat."""

    verified: bool = False
    reason: str = ""  # why it was not verified ("" when verified)


class ThreadPoint(BaseModel):
    """One point of "What the thread says": a commenter and their verbatim words."""

    commenter: str
    quote: str
    verified: bool = False
    reason: str = ""


class BriefStats(BaseModel):
    article_words: int = 0
    reduced_by_pct: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Brief(BaseModel):
    """The finished brief; ``model_dump()`` is the ``--json`` output."""

    url: str
    canonical_url: str
    title: str = ""
    site: str = ""
    author: str = ""
    published: str = ""
    language: str = ""
    mode: Mode = "extractive"
    summary: str = ""
    claims: list[Claim] = Field(default_factory=list)
    stats: BriefStats = Field(default_factory=BriefStats)
    warnings: list[str] = Field(default_factory=list)
    image: str = ""  # the article's og:image (https), shown as the chat thumbnail
    kind: str = "article"  # "article", "discussion" or "video"
    thread: list[ThreadPoint] = Field(default_factory=list)  # discussion pages only

    @property
    def verified_claims(self) -> list[Claim]:
        return [c for c in self.claims if c.verified]

    @property
    def unverified_count(self) -> int:
        return sum(1 for c in self.claims if not c.verified)
