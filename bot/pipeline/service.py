"""The brief service: the pipeline (``pipeline.py``) behind a cache with single flight.

1. canonicalise the link (``urls.canonical_url``): the cache and flight key;
2. join the build already in flight for that key, if any (single flight: a
   link posted in ten channels at once costs one fetch and one model call);
3. otherwise start one: the cached brief if one is younger than the TTL,
   else the pipeline's brief, cached before it is handed back.

Token budgets: ``brief_url(url, budget=...)`` takes the requester's
``TokenBudget``. A cache hit or joining someone else's build is free; whoever
starts a build is charged what its model call used, once. A requester whose
budget is spent gets the extractive brief with a warning, built in a flight of
its own and never cached, so requesters who still have budget neither join
nor inherit it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from bot.errors import LinkbriefError
from bot.pipeline.contracts import BriefCache, Fetcher, PipelineObserver, Summarizer, TokenBudget
from bot.pipeline.models import Article, Brief
from bot.pipeline.observer import NoObserver
from bot.pipeline.pipeline import BUDGET_SPENT_WARNING as BUDGET_SPENT_WARNING
from bot.pipeline.pipeline import MODEL_UNAVAILABLE_WARNING as MODEL_UNAVAILABLE_WARNING
from bot.pipeline.pipeline import MODEL_UNUSABLE_WARNING as MODEL_UNUSABLE_WARNING
from bot.pipeline.pipeline import Pipeline
from bot.pipeline.urls import canonical_url
from bot.pipeline.workers import extract_file_off_loop

log = logging.getLogger(__name__)

# A flight: the canonical link, and whether it is the budget-spent (extractive) build.
FlightKey = tuple[str, bool]
# What a flight yields: the brief, and whether it came from the cache.
Flown = tuple[Brief, bool]
LANGUAGE_KEY = " lang="  # cache key of a brief written in a channel's language (issue 19)


class BriefService:
    """Builds briefs; shared by every front end, the CLI and the digest builder."""

    def __init__(
        self,
        *,
        fetcher: Fetcher,
        summarizer: Summarizer,
        fallback: Summarizer | None = None,
        cache: BriefCache | None = None,
        cache_ttl_s: float = 6 * 3600,
        observer: PipelineObserver | None = None,
    ) -> None:
        self.observer: PipelineObserver = observer or NoObserver()
        self.pipeline = Pipeline(fetcher, summarizer, fallback, self.observer)
        self._cache = cache if cache_ttl_s > 0 else None
        self._cache_ttl_s = cache_ttl_s
        self._flights: dict[FlightKey, asyncio.Future[Flown]] = {}
        # Issue 18: the article a build fetched (canonical key, article), kept for questions.
        self.on_article: Callable[[str, Article], None] | None = None

    @property
    def mode(self) -> str:
        return self.pipeline.summarizer.mode

    @property
    def uses_model(self) -> bool:
        return self.pipeline.uses_model

    async def brief_url(
        self,
        url: str,
        *,
        budget: TokenBudget | None = None,
        platform: str = "other",
        language: str = "",
    ) -> Brief:
        """The brief for a link: joined in flight, cached, or built now.

        ``budget`` is the requester's model-token allowance (None: unlimited);
        ``platform`` only labels metrics ("slack", "discord", "console", "cli");
        ``language`` (a channel's choice, e.g. "German"): the model writes the
        brief in it, cached and flown apart from the article-language one.
        """
        started = time.perf_counter()
        try:
            brief, cached = await self._brief_url(url, budget, language)
        except LinkbriefError as exc:
            # The kind only: the message is for the channel, the link may carry a user's token.
            log.info("brief failed (%s)", exc.kind)
            self.observer.failed(kind=exc.kind)
            raise
        except Exception:
            self.observer.failed(kind="internal")
            raise
        seconds = time.perf_counter() - started
        self.observer.brief_served(
            mode=brief.mode, platform=platform, seconds=seconds, cached=cached
        )
        return brief

    def cache_key(self, url: str, language: str = "") -> str:
        """Where a brief of ``url`` is cached: the canonical URL, plus the language the
        model was asked to write in (the extractive brief is the same in any language)."""
        key = canonical_url(url)
        if language and self.uses_model:
            key = f"{key}{LANGUAGE_KEY}{language.lower()}"  # a space: in no canonical URL
        return key

    async def _brief_url(self, url: str, budget: TokenBudget | None, language: str = "") -> Flown:
        key = self.cache_key(url, language)
        spent = await self._budget_spent(budget)
        # Riding along on a full build is free, even for a requester whose budget is spent.
        for flight in ((key, False), (key, True)) if spent else ((key, False),):
            if (pending := self._flights.get(flight)) is not None:
                brief, _ = await asyncio.shield(pending)
                return brief, True
        flight = (key, spent)
        future: asyncio.Future[Flown] = asyncio.get_running_loop().create_future()
        self._flights[flight] = future
        try:
            flown = await self._fly(
                url, key, None if spent else budget, degraded=spent, language=language
            )
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # nobody else may be waiting: mark it retrieved
            raise
        else:
            future.set_result(flown)
        finally:
            del self._flights[flight]
        return flown

    async def _fly(
        self, url: str, key: str, budget: TokenBudget | None, *, degraded: bool, language: str = ""
    ) -> Flown:
        """One build: the cached brief (free, even on a spent budget), or the pipeline's
        (cached unless ``degraded``)."""
        if self._cache is not None:
            cached = await self._cache.get_brief(key, self._cache_ttl_s)
            if cached is not None:
                return cached.model_copy(update={"url": url}), True
        article = await self.pipeline.article(url)
        if self.on_article is not None:  # issue 18: kept for follow-up questions
            self.on_article(key.split(LANGUAGE_KEY)[0], article)  # issue 19: the plain link
        brief = await self.pipeline.brief_article(
            article, budget=budget, degraded=degraded, language=language
        )
        if self._cache is not None and not degraded:
            try:
                # Under the link as shared (key), so the next share is a hit whatever
                # canonical URL the page itself declares.
                await self._cache.put_brief(brief, key=key)
            except Exception as exc:  # the brief is good; the next share just builds again
                log.warning("could not cache a brief (%s)", type(exc).__name__)
        return brief, False

    async def cached_brief(self, key: str) -> Brief | None:
        """The cached brief under canonical URL ``key``; None when there is none (or caching
        is off). Never builds."""
        if self._cache is None:
            return None
        return await self._cache.get_brief(key, self._cache_ttl_s)

    async def brief_file(self, path: Path) -> Brief:
        """A brief of a local .html/.htm/.pdf/.txt file (CLI); never cached."""
        article = await extract_file_off_loop(path)
        return await self.pipeline.brief_article(article)

    async def article_from_url(self, url: str) -> Article:
        """Fetch and extract only: exactly what the summarizer would see."""
        return await self.pipeline.article(url)

    async def brief_article(self, article: Article, *, budget: TokenBudget | None = None) -> Brief:
        """Summarize and verify an article already in hand; never cached."""
        degraded = await self._budget_spent(budget)
        return await self.pipeline.brief_article(article, budget=budget, degraded=degraded)

    async def _budget_spent(self, budget: TokenBudget | None) -> bool:
        if budget is None or not self.uses_model:
            return False  # the extractive summarizer costs no tokens
        remaining = await budget.remaining()
        return remaining is not None and remaining <= 0
