"""The small interfaces the pipeline depends on; the composition root fills them.

Real parts and test fakes are interchangeable behind these protocols.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from bot.pipeline.models import Article, Brief, Draft, FetchedPage


class Fetcher(Protocol):
    # ``accept``: media types taken beyond the article ones (a caption track's XML)
    async def fetch(self, url: str, *, accept: Collection[str] = ...) -> FetchedPage: ...


class Summarizer(Protocol):
    """Turns an article into a draft brief (``mode`` is "llm" or "extractive")."""

    mode: str

    async def summarize(self, article: Article, language: str = "") -> Draft:
        """``language``: write the brief in it (quotes stay verbatim); "" = the article's."""
        ...


class BriefCache(Protocol):
    """Where finished briefs are kept by canonical URL (the store implements it)."""

    async def get_brief(self, canonical_url: str, max_age_s: float) -> Brief | None: ...

    async def put_brief(self, brief: Brief, key: str | None = None) -> None: ...


class TokenBudget(Protocol):
    """One requester's model-token allowance (a workspace's day); ``bot.limits`` implements it.

    The service asks ``remaining()`` before a model call and ``spend()``s what
    the call used after it; ``None`` from ``remaining()`` means no budget.
    """

    async def remaining(self) -> int | None: ...

    async def spend(self, tokens: int) -> None: ...


class PipelineObserver(Protocol):
    """Where the pipeline and the service report what they did: metrics
    (``bot.ops.metrics`` implements it) and progress (``stage``)."""

    def stage(self, url: str, stage: str) -> None:
        """A stage of ``url``'s brief begins: fetching, reading, summarizing, checking."""
        ...

    def fetched(self, *, body_bytes: int, seconds: float) -> None: ...

    def model_called(
        self, *, prompt_tokens: int, completion_tokens: int, seconds: float, failed: str = ""
    ) -> None: ...

    def brief_served(self, *, mode: str, platform: str, seconds: float, cached: bool) -> None: ...

    def failed(self, *, kind: str) -> None: ...
