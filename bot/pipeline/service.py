"""The brief service: one link in, one verified ``Brief`` out.

Reads top to bottom as the pipeline does:

1. canonicalise the link (``urls.canonical_url``);
2. return the cached brief if one is younger than the TTL (no fetch at all);
3. otherwise join the in-flight build for the same canonical URL, or start it
   (single flight: a link posted in ten channels at once costs one fetch and
   one model call);
4. fetch through the SSRF-guarded fetcher, extract the article, gate it;
5. summarize with the configured summarizer; if the model fails, fall back to
   the extractive summarizer and say so in ``warnings``;
6. verify every claim's quote and speaker against the article text, strip
   links the article did not have from the summary, and cache the result.

The cache write happens after the brief is handed back (the chat update goes
out first; the process is CPU-bound per link, so bookkeeping waits its turn).
Until it lands the build stays registered in flight with its result, so
another request for the link in this process joins it rather than missing the
cache; ``settle()`` waits for writes still running (``App.aclose`` calls it).

Token budgets: ``brief_url(url, budget=...)`` takes the requester's
``TokenBudget``. A cache hit or joining someone else's build is free; whoever
starts a build is charged what its model call used, once. When the budget is
spent the brief degrades to the extractive one with a warning; such a brief is
built under its own single-flight key and never cached, so requesters who still
have budget neither join nor inherit it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.errors import BudgetExhausted, LinkbriefError, LLMBadOutput, LLMError
from bot.pipeline import progress
from bot.pipeline.contracts import BriefCache, Fetcher, PipelineObserver, Summarizer, TokenBudget
from bot.pipeline.extract import extract_article, extract_file
from bot.pipeline.models import Article, Brief, BriefStats, Draft
from bot.pipeline.urls import canonical_url
from bot.pipeline.verify import clean_summary, verify_draft

log = logging.getLogger(__name__)

MODEL_UNAVAILABLE_WARNING = (
    "The language model was unavailable, so this is the extractive brief (no AI)."
)
MODEL_UNUSABLE_WARNING = (
    "The language model answered something unusable, so this is the extractive brief (no AI)."
)
BUDGET_SPENT_WARNING = BudgetExhausted.default_message
# Single-flight key suffix of budget-degraded builds (a character no canonical URL has).
_DEGRADED = "\x00degraded"
# CPU-bound steps run on the event loop up to these sizes, in a worker thread beyond.
# A thread buys no parallelism under the GIL, and its hand-offs cost: with extraction
# and verification in threads a link took ~3 ms more CPU (bench/own_work.py). Up to
# 512 KB extraction holds the loop for 10-70 ms (eval pages: median 16 ms), well
# inside an acknowledgement's budget; a bigger page must not stall the loop at all.
INLINE_EXTRACT_BYTES = 512 * 1024
INLINE_VERIFY_CHARS = 100_000
CACHE_WRITE_DELAY_S = 0.005
# A build's brief, and the cache write still to run after it is handed back (or None).
Built = tuple[Brief, Awaitable[None] | None]


class _NoObserver:
    """The observer when none is configured (the CLI, most tests)."""

    def fetched(self, *, body_bytes: int, seconds: float) -> None:
        pass

    def model_called(
        self, *, prompt_tokens: int, completion_tokens: int, seconds: float, failed: str = ""
    ) -> None:
        pass

    def brief_served(self, *, mode: str, platform: str, seconds: float, cached: bool) -> None:
        pass

    def failed(self, *, kind: str) -> None:
        pass


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
        self._fetcher = fetcher
        self._summarizer = summarizer
        self._fallback = fallback
        self._cache = cache
        self._cache_ttl_s = cache_ttl_s
        self._observer: PipelineObserver = observer or _NoObserver()
        self._in_flight: dict[str, asyncio.Future[Brief]] = {}
        self._caching: set[asyncio.Task[None]] = set()  # cache writes still running
        # Builds finished so far in this process: a cache miss read before the latest
        # finished build may be stale, one read after it cannot be (see _build_from_url).
        self._builds_done = 0
        # Counters the benchmarks and tests read ("one fetch, one model call").
        self.fetches = 0
        self.summaries = 0
        self.on_brief: Callable[[Brief, float], Awaitable[None] | None] | None = None

    @property
    def mode(self) -> str:
        return self._summarizer.mode

    @property
    def uses_model(self) -> bool:
        """True when briefs cost model tokens (an LLM summarizer is configured)."""
        return self._summarizer.mode != "extractive"

    async def brief_url(
        self, url: str, *, budget: TokenBudget | None = None, platform: str = "other"
    ) -> Brief:
        """The brief for a link: cached, joined in flight, or built now.

        ``budget`` is the requester's model-token allowance (None: unlimited);
        ``platform`` only labels metrics ("slack", "discord", "console", "cli").
        """
        started = time.perf_counter()
        try:
            brief, cached = await self._brief_url(url, budget)
        except LinkbriefError as exc:
            # The kind only: the message is for the channel, the link may carry a user's token.
            log.info("brief failed (%s)", exc.kind)
            self._observer.failed(kind=exc.kind)
            raise
        except Exception:
            self._observer.failed(kind="internal")
            raise
        self._observer.brief_served(
            mode=brief.mode, platform=platform, seconds=time.perf_counter() - started, cached=cached
        )
        return brief

    async def _brief_url(self, url: str, budget: TokenBudget | None) -> tuple[Brief, bool]:
        key = canonical_url(url)
        looked_at = self._builds_done
        spent = False
        if self._cache is not None and self._cache_ttl_s > 0:
            # The budget is read beside the cache look, not after it: two reads at once
            # instead of one after the other (a wasted read on a hit is cheap).
            cached, spent = await asyncio.gather(
                self._cache.get_brief(key, self._cache_ttl_s), self._budget_spent(budget)
            )
            if cached is not None:
                return cached.model_copy(update={"url": url}), True
        else:
            spent = await self._budget_spent(budget)
        look_again = self._builds_done != looked_at
        pending = self._in_flight.get(key)
        if pending is not None:
            # A finished build whose cache write is still on its way counts as a hit.
            return await asyncio.shield(pending), pending.done()
        if spent:
            # Someone with budget may have started this link meanwhile: riding along is free.
            pending = self._in_flight.get(key)
            if pending is not None:
                return await asyncio.shield(pending), pending.done()
            brief = await self._single_flight(
                key + _DEGRADED,
                lambda: self._build_from_url(url, key, None, degraded=True, look_again=True),
            )
            return brief, False
        brief = await self._single_flight(
            key,
            lambda: self._build_from_url(url, key, budget, degraded=False, look_again=look_again),
        )
        return brief, False

    async def cached_brief(self, key: str) -> Brief | None:
        """The cached brief under canonical URL ``key``, counting one built here whose cache
        write is still on its way; None when there is none (or caching is off). No build."""
        pending = self._in_flight.get(key)
        if (
            pending is not None
            and pending.done()
            and not pending.cancelled()
            and (pending.exception() is None)
        ):
            return pending.result()
        if self._cache is None or self._cache_ttl_s <= 0:
            return None
        return await self._cache.get_brief(key, self._cache_ttl_s)

    async def _single_flight(self, key: str, build: Callable[[], Awaitable[Built]]) -> Brief:
        pending = self._in_flight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Brief] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            brief, caching = await build()
        except BaseException as exc:
            future.set_exception(exc)
            # Nobody else may be waiting; mark the exception as retrieved.
            future.exception()
            self._done(key, future)
            raise
        future.set_result(brief)
        if caching is None:
            self._done(key, future)
        else:
            task = asyncio.create_task(self._cache_then_done(key, future, caching))
            self._caching.add(task)
            task.add_done_callback(self._caching.discard)
        return brief

    async def _cache_then_done(
        self, key: str, future: asyncio.Future[Brief], caching: Awaitable[None]
    ) -> None:
        try:
            # The reply goes out first: a chat update leaves within a millisecond or two,
            # and this write would otherwise take its turn on the loop just before it.
            await asyncio.sleep(CACHE_WRITE_DELAY_S)
            await caching
        except Exception as exc:  # the brief is out; the next share just builds again
            log.warning("could not cache a brief (%s)", type(exc).__name__)
        finally:
            self._done(key, future)

    def _done(self, key: str, future: asyncio.Future[Brief]) -> None:
        """The build for ``key`` is over (and cached, if it is cached at all)."""
        if self._in_flight.get(key) is future:
            del self._in_flight[key]
        self._builds_done += 1

    async def settle(self) -> None:
        """Wait for cache writes still running (before closing the store)."""
        while self._caching:
            await asyncio.gather(*list(self._caching), return_exceptions=True)

    async def brief_file(self, path: Path) -> Brief:
        """A brief of a local .html/.htm/.pdf/.txt file (CLI); never cached."""
        article = await asyncio.to_thread(extract_file, path)
        return await self.brief_article(article)

    async def article_from_url(self, url: str) -> Article:
        """Fetch and extract only: exactly what the summarizer would see."""
        canonical_url(url)  # refuse a malformed link before any I/O
        self.fetches += 1
        started = time.perf_counter()
        progress.report("fetching", url)
        page = await self._fetcher.fetch(url)
        self._observer.fetched(body_bytes=len(page.body), seconds=time.perf_counter() - started)
        progress.report("reading", url)
        if len(page.body) <= INLINE_EXTRACT_BYTES:
            return extract_article(page)
        return await asyncio.to_thread(extract_article, page)

    async def brief_article(self, article: Article, *, budget: TokenBudget | None = None) -> Brief:
        """Summarize, fall back if the model fails, verify, and assemble the brief.

        Never cached, so a spent ``budget`` simply gives the extractive brief.
        """
        degraded = budget is not None and await self._budget_spent(budget)
        return await self._brief_article(article, budget, degraded=degraded)

    async def _brief_article(
        self, article: Article, budget: TokenBudget | None, *, degraded: bool
    ) -> Brief:
        started = time.perf_counter()
        charging: list[asyncio.Task[None]] = []
        progress.report("summarizing", article.url)
        draft, mode = await self._summarize(article, budget, degraded=degraded, charging=charging)
        progress.report("checking quotes", article.url)
        try:
            # The charge is written while the quotes are verified (it only needs the draft).
            if len(article.text) <= INLINE_VERIFY_CHARS:
                claims = verify_draft(article, draft)
            else:
                claims = await asyncio.to_thread(verify_draft, article, draft)
        finally:
            if charging:
                await charging[0]
        brief = Brief(
            url=article.url,
            canonical_url=article.canonical_url,
            title=(article.title or draft.title).strip(),
            site=article.site,
            author=article.author,
            published=article.published,
            language=article.language,
            mode=mode,  # type: ignore[arg-type]
            summary=clean_summary(draft.summary, article),
            claims=claims,
            stats=BriefStats(
                article_words=article.article_words,
                reduced_by_pct=article.reduced_by_pct,
                prompt_tokens=draft.prompt_tokens,
                completion_tokens=draft.completion_tokens,
            ),
            warnings=list(draft.warnings),
        )
        if self.on_brief is not None:
            result = self.on_brief(brief, time.perf_counter() - started)
            if result is not None:
                await result
        return brief

    async def _build_from_url(
        self, url: str, key: str, budget: TokenBudget | None, *, degraded: bool, look_again: bool
    ) -> Built:
        """The brief, and its cache write still to run (None: not cached)."""
        if look_again and self._cache is not None and self._cache_ttl_s > 0:
            # Checked again now this build is registered in flight: a build that
            # finished while the caller's first look was on its way has cached it.
            # Skipped when no build finished here since that look (a store read saved
            # per link); a build in another process may still race, as it always could.
            cached = await self._cache.get_brief(key, self._cache_ttl_s)
            if cached is not None:
                return cached.model_copy(update={"url": url}), None
        article = await self.article_from_url(url)
        brief = await self._brief_article(article, budget, degraded=degraded)
        if self._cache is None or self._cache_ttl_s <= 0 or degraded:
            return brief, None  # never read back: not written
        # Cache under the link as shared (key), so the next share is a hit
        # whatever canonical URL the page itself declares.
        return brief, self._cache.put_brief(brief, key=key)

    async def _budget_spent(self, budget: TokenBudget | None) -> bool:
        if budget is None or not self.uses_model:
            return False  # the extractive summarizer costs no tokens
        remaining = await budget.remaining()
        return remaining is not None and remaining <= 0

    async def _summarize(
        self,
        article: Article,
        budget: TokenBudget | None,
        *,
        degraded: bool,
        charging: list[asyncio.Task[None]],
    ) -> tuple[Draft, str]:
        """The draft and its mode; the budget charge, if any, is left running in ``charging``."""
        self.summaries += 1
        if degraded:
            if self._fallback is None:
                raise BudgetExhausted()
            draft = await self._fallback.summarize(article)
            draft.warnings.insert(0, BUDGET_SPENT_WARNING)
            return draft, self._fallback.mode
        started = time.perf_counter()
        try:
            draft = await self._summarizer.summarize(article)
        except LLMError as exc:
            if self.uses_model:
                self._observer.model_called(
                    prompt_tokens=0,
                    completion_tokens=0,
                    seconds=time.perf_counter() - started,
                    failed=exc.kind,
                )
            if self._fallback is None:
                raise
            log.warning("model failed (%s: %s); using the extractive brief", exc.kind, exc)
            draft = await self._fallback.summarize(article)
            unusable = isinstance(exc, LLMBadOutput)  # it answered, but nothing we could use
            warning = MODEL_UNUSABLE_WARNING if unusable else MODEL_UNAVAILABLE_WARNING
            draft.warnings.insert(0, warning)
            return draft, self._fallback.mode
        if self.uses_model:
            self._observer.model_called(
                prompt_tokens=draft.prompt_tokens,
                completion_tokens=draft.completion_tokens,
                seconds=time.perf_counter() - started,
            )
            if budget is not None:
                tokens = draft.prompt_tokens + draft.completion_tokens
                charging.append(asyncio.create_task(self._charge(budget, tokens)))
        return draft, self._summarizer.mode

    async def _charge(self, budget: TokenBudget, tokens: int) -> None:
        # The tokens are spent and the brief is good: losing it over bookkeeping helps nobody.
        try:
            await budget.spend(tokens)
        except Exception as exc:
            log.warning("could not record %d model tokens spent (%s)", tokens, type(exc).__name__)
