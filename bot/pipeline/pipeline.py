"""The pipeline: one link in, one verified ``Brief`` out, read top to bottom.

1. **fetch** the page through the SSRF-guarded fetcher;
2. **extract** the article (``extract.extract_article``: main text, metadata,
   the gates that refuse a page that is not an article), then fetch what a thread
   or a video page points to (``follow``: the linked article, the caption track);
3. **summarize** with the configured summarizer; if the model fails, or the
   requester's token budget is spent, the extractive summarizer writes the
   draft instead and a warning says so;
4. **verify** every claim's quote and speaker against the article, strip links
   the article did not have from the summary, and assemble the ``Brief`` (with a
   discussion page's verified thread points, ``discussion.thread_points``).

Nothing here caches or shares work: ``BriefService`` (``service.py``) wraps
this with the cache and single flight. The observer hears each stage as it
starts (``stage``: fetching, reading, summarizing, checking) and what it cost
(``fetched``, ``model_called``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from bot.errors import BudgetExhausted, LLMBadOutput, LLMError
from bot.pipeline import progress
from bot.pipeline.contracts import Fetcher, PipelineObserver, Summarizer, TokenBudget
from bot.pipeline.discussion import thread_points
from bot.pipeline.follow import follow
from bot.pipeline.models import Article, Brief, BriefStats, Draft
from bot.pipeline.observer import NoObserver
from bot.pipeline.urls import canonical_url
from bot.pipeline.verify import clean_summary, verify_draft
from bot.pipeline.workers import extract_off_loop

log = logging.getLogger(__name__)

MODEL_UNAVAILABLE_WARNING = (
    "The language model was unavailable, so this is the extractive brief (no AI)."
)
MODEL_UNUSABLE_WARNING = (
    "The language model answered something unusable, so this is the extractive brief (no AI)."
)
BUDGET_SPENT_WARNING = BudgetExhausted.default_message
# Extraction always runs in a worker process (bot/pipeline/workers.py): its cost is set
# by a stranger's bytes (a 10 KB PDF can take seconds), so no size is safe on the loop.
# Verification runs on the loop up to this size, in a thread beyond (a thread buys no
# parallelism under the GIL, and its hand-offs cost ~3 ms a link: bench/own_work.py).
INLINE_VERIFY_CHARS = 100_000


@dataclass
class Pipeline:
    fetcher: Fetcher
    summarizer: Summarizer
    fallback: Summarizer | None = None  # the extractive summarizer, when the main one is not
    observer: PipelineObserver = field(default_factory=NoObserver)

    @property
    def uses_model(self) -> bool:
        """True when briefs cost model tokens (an LLM summarizer is configured)."""
        return self.summarizer.mode != "extractive"

    async def brief(
        self,
        url: str,
        *,
        budget: TokenBudget | None = None,
        degraded: bool = False,
        language: str = "",
    ) -> Brief:
        """Fetch → extract → summarize → verify. ``degraded``: the budget is spent;
        ``language``: what the model writes in ("" = the article's own)."""
        article = await self.article(url)
        return await self.brief_article(
            article, budget=budget, degraded=degraded, language=language
        )

    def _stage(self, url: str, stage: progress.Step) -> None:
        """The observer's stage, and the same step for whoever watches this request
        (the console's status line, through ``bot.pipeline.progress``)."""
        self.observer.stage(url, stage)
        progress.report(stage, url)

    async def article(self, url: str) -> Article:
        """Fetch and extract only: exactly what the summarizer would see."""
        canonical_url(url)  # refuse a malformed link before any I/O
        self._stage(url, "fetching")
        started = time.perf_counter()
        page = await self.fetcher.fetch(url)
        self.observer.fetched(body_bytes=len(page.body), seconds=time.perf_counter() - started)
        self._stage(url, "reading")
        article = await extract_off_loop(page)  # a worker process, killed past its deadline
        # a thread's linked article, a video's captions: same fetcher, same guard, same worker
        return await follow(article, self.fetcher, extract_off_loop)

    async def brief_article(
        self,
        article: Article,
        *,
        budget: TokenBudget | None = None,
        degraded: bool = False,
        language: str = "",
    ) -> Brief:
        """Summarize (falling back if need be), verify, and assemble the brief."""
        self._stage(article.url, "summarizing")
        draft, mode = await self.summarize(article, budget, degraded=degraded, language=language)
        self._stage(article.url, "checking")
        if len(article.text) <= INLINE_VERIFY_CHARS:
            claims = verify_draft(article, draft)
        else:
            claims = await asyncio.to_thread(verify_draft, article, draft)
        return Brief(
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
            warnings=[*article.notes, *draft.warnings],  # how the text was read first
            image=article.image,
            kind=article.kind,
            thread=thread_points(article.comments),
        )

    async def summarize(
        self, article: Article, budget: TokenBudget | None, *, degraded: bool, language: str = ""
    ) -> tuple[Draft, str]:
        """The draft and the mode that wrote it; the model's tokens charged to ``budget``."""
        if degraded:
            return await self._fall_back(article, BudgetExhausted(), BUDGET_SPENT_WARNING)
        started = time.perf_counter()
        try:
            if language:  # issue 19: a channel's language (quotes stay verbatim)
                draft = await self.summarizer.summarize(article, language=language)
            else:
                draft = await self.summarizer.summarize(article)
        except LLMError as exc:
            if self.uses_model:
                seconds = time.perf_counter() - started
                self.observer.model_called(
                    prompt_tokens=0, completion_tokens=0, seconds=seconds, failed=exc.kind
                )
            log.warning("model failed (%s: %s); using the extractive brief", exc.kind, exc)
            # It answered, but nothing we could use, or it could not answer at all.
            unusable = isinstance(exc, LLMBadOutput)
            warning = MODEL_UNUSABLE_WARNING if unusable else MODEL_UNAVAILABLE_WARNING
            return await self._fall_back(article, exc, warning)
        if self.uses_model:
            self.observer.model_called(
                prompt_tokens=draft.prompt_tokens,
                completion_tokens=draft.completion_tokens,
                seconds=time.perf_counter() - started,
            )
            if budget is not None:
                await _charge(budget, draft.prompt_tokens + draft.completion_tokens)
        return draft, self.summarizer.mode

    async def _fall_back(
        self, article: Article, error: Exception, warning: str
    ) -> tuple[Draft, str]:
        if self.fallback is None:
            raise error
        draft = await self.fallback.summarize(article)
        draft.warnings.insert(0, warning)
        return draft, self.fallback.mode


async def _charge(budget: TokenBudget, tokens: int) -> None:
    # The tokens are spent and the brief is good: losing it over bookkeeping helps nobody.
    try:
        await budget.spend(tokens)
    except Exception as exc:
        log.warning("could not record %d model tokens spent (%s)", tokens, type(exc).__name__)
