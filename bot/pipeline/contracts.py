"""The small interfaces the pipeline depends on; the composition root fills them.

Real parts and test fakes are interchangeable behind these protocols.
"""

from __future__ import annotations

from typing import Protocol

from bot.pipeline.models import Article, Brief, Draft, FetchedPage


class Fetcher(Protocol):
    async def fetch(self, url: str) -> FetchedPage: ...


class Summarizer(Protocol):
    """Turns an article into a draft brief (``mode`` is "llm" or "extractive")."""

    mode: str

    async def summarize(self, article: Article) -> Draft: ...


class BriefCache(Protocol):
    """Where finished briefs are kept by canonical URL (the store implements it)."""

    async def get_brief(self, canonical_url: str, max_age_s: float) -> Brief | None: ...

    async def put_brief(self, brief: Brief) -> None: ...
