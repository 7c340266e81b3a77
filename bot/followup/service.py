"""Follow-up questions: a question in a brief's thread, answered from that brief's article.

Top to bottom:

1. the thread's brief (``brief_posts``; none: the question is not ours);
2. rate limits, as for a link (``Limits.check_brief``): a question is a request;
3. the article: the copy kept when the brief was built while it lives (no
   fetch), else fetched again once (single flight per link) and kept again;
4. the answer: the model's, every quote verified (``bot.followup.model``), or,
   with no model, a spent budget or a model outage, the article's best-matching
   sentences (``bot.followup.answer``); the model's tokens go on the budget;
5. the turn is kept as context for the thread's next question, and counted.

It also records what every brief cost, for ``/linkbrief stats``
(``record_brief``), and keeps articles as the brief service builds them
(``keep_article``, wired to ``BriefService.on_article``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol
from urllib.parse import urlsplit

from bot.errors import LLMError
from bot.followup.answer import Answer, offline_answer
from bot.limits import Limits
from bot.pipeline.models import Article, Brief
from bot.pipeline.urls import canonical_url
from bot.store.followups import BriefPost, FollowupStore

log = logging.getLogger(__name__)

HISTORY_TURNS = 3
BUDGET_NOTE = "Today's model budget is spent, so these are the article's best-matching sentences."
MODEL_DOWN_NOTE = (
    "The language model was unavailable, so these are the article's best-matching sentences."
)


class Answerer(Protocol):
    mode: str

    async def answer(self, article: Article, question: str, history: str) -> Answer: ...


class ArticleSource(Protocol):
    """What fetches an article (``BriefService.article_from_url``)."""

    async def article_from_url(self, url: str) -> Article: ...


def domain_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


class FollowupService:
    def __init__(
        self,
        *,
        followups: FollowupStore,
        articles: ArticleSource,
        limits: Limits,
        article_ttl_s: float,
        model: Answerer | None = None,
    ) -> None:
        self.followups = followups
        self._articles = articles
        self.limits = limits
        self.article_ttl_s = article_ttl_s
        self.model = model
        self._fetching: dict[str, asyncio.Future[Article]] = {}
        self._writes: set[asyncio.Task[None]] = set()
        self.fetches = 0  # articles fetched for questions (tests: "no second fetch")

    # --- articles ---------------------------------------------------------------------

    def keep_article(self, key: str, article: Article) -> None:
        """Keep the article a brief was built from (``BriefService.on_article``); off the
        brief's critical path, like the brief's own cache write."""
        task = asyncio.create_task(self._keep(key, article))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _keep(self, key: str, article: Article) -> None:
        try:
            await self.followups.put_article(key, article)
        except Exception as exc:  # a question will fetch the page again; nothing lost
            log.warning("could not keep an article (%s)", type(exc).__name__)

    async def settle(self) -> None:
        while self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    async def article_for(self, url: str, *, fresh: bool = False) -> Article:
        """The article behind ``url``: kept copy while it lives, else fetched once and kept."""
        key = canonical_url(url)
        if not fresh and self.article_ttl_s > 0:
            kept = await self.followups.get_article(key, self.article_ttl_s)
            if kept is not None:
                return kept
        pending = self._fetching.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Article] = asyncio.get_running_loop().create_future()
        self._fetching[key] = future
        try:
            self.fetches += 1
            article = await self._articles.article_from_url(url)
            await self.followups.put_article(key, article)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        else:
            future.set_result(article)
            return article
        finally:
            self._fetching.pop(key, None)

    # --- questions --------------------------------------------------------------------

    async def ask(
        self,
        *,
        platform: str,
        team_id: str,
        channel_id: str,
        thread_id: str,
        user_id: str,
        question: str,
    ) -> Answer | None:
        """The answer to a question in a thread; None when the thread holds no brief of ours.

        Raises ``UserRateLimited``/``ChannelRateLimited`` or the article's fetch error
        (each a ``LinkbriefError`` whose message is for the channel).
        """
        post = await self.followups.post_for_thread(platform, channel_id, thread_id)
        if post is None:
            return None
        return await self.ask_about(post.url, question, platform=platform, team_id=team_id,
                                    channel_id=channel_id, thread_id=thread_id,
                                    user_id=user_id)  # fmt: skip

    async def ask_about(
        self,
        url: str,
        question: str,
        *,
        platform: str,
        team_id: str,
        channel_id: str,
        thread_id: str,
        user_id: str,
        limited: bool = True,
    ) -> Answer:
        """Answer ``question`` about the article at ``url`` (also the console's ``?`` lines;
        ``limited``: rate limits and the budget apply, not for the operator's own console)."""
        if limited:
            await self.limits.check_brief(
                platform=platform, team_id=team_id, channel_id=channel_id, user_id=user_id
            )
        article, turns = await asyncio.gather(
            self.article_for(url),
            self.followups.recent_turns(platform, channel_id, thread_id, HISTORY_TURNS),
        )
        history = "\n".join(f"Q: {t.question}\nA: {t.answer}" for t in turns)
        context = " ".join(t.question for t in turns[-1:])
        answer = await self._answer(article, question, history, context, platform, team_id,
                                    limited=limited)  # fmt: skip
        answer.url = url
        await self.followups.record_question(
            platform=platform, team_id=team_id, channel_id=channel_id, thread_id=thread_id,
            question=question, answer=answer.plain(), domain=domain_of(url), tokens=answer.tokens,
        )  # fmt: skip
        return answer

    async def _answer(
        self,
        article: Article,
        question: str,
        history: str,
        context: str,
        platform: str,
        team_id: str,
        *,
        limited: bool,
    ) -> Answer:
        if self.model is None:
            return offline_answer(article, question, context)
        budget = self.limits.budget(platform=platform, team_id=team_id) if limited else None
        remaining = await budget.remaining() if budget is not None else None
        if remaining is not None and remaining <= 0:
            answer = offline_answer(article, question, context)
            answer.notes.append(BUDGET_NOTE)
            return answer
        try:
            answer = await self.model.answer(article, question, history)
        except LLMError as exc:
            log.warning("model failed on a question (%s); answering offline", exc.kind)
            answer = offline_answer(article, question, context)
            answer.notes.append(MODEL_DOWN_NOTE)
            return answer
        if answer.tokens and budget is not None:
            try:
                await budget.spend(answer.tokens)
            except Exception as exc:  # the answer is good; bookkeeping must not lose it
                log.warning("could not record question tokens (%s)", type(exc).__name__)
        return answer

    # --- what briefs cost ---------------------------------------------------------------

    async def record_brief(
        self,
        *,
        platform: str,
        team_id: str,
        url: str,
        brief: Brief | None = None,
        error_kind: str = "",
        tokens: int = 0,
    ) -> None:
        """Count a delivered brief (its claims, withheld ones, tokens this request spent) or
        a link that failed (its domain); never raises."""
        try:
            if brief is None:
                await self.followups.record_activity(
                    platform=platform, team_id=team_id, kind="failure", domain=domain_of(url),
                    error_kind=error_kind,
                )  # fmt: skip
                return
            await self.followups.record_activity(
                platform=platform, team_id=team_id, kind="brief", domain=domain_of(url),
                tokens=tokens, claims_total=len(brief.claims),
                claims_withheld=brief.unverified_count,
            )  # fmt: skip
        except Exception as exc:
            log.warning("could not record brief activity (%s)", type(exc).__name__)

    async def post_for_thread(
        self, platform: str, channel_id: str, thread_id: str
    ) -> BriefPost | None:
        return await self.followups.post_for_thread(platform, channel_id, thread_id)
