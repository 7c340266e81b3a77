"""The composition root: every long-lived part is built here, from ``Settings``.

Front ends, the CLI and tests all call ``build_app``; tests hand in fakes (a
resolver for the fetcher, a scripted summarizer) instead of patching internals.
Heavy optional parts (the openai SDK) are imported only when configured.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from bot.config import Settings
from bot.errors import LinkbriefError
from bot.followup.controls import Controls, metered
from bot.followup.service import Answerer, FollowupService
from bot.limits import Clock, Limits, utc_now
from bot.ops import check_health
from bot.ops.metrics import Metrics
from bot.pipeline.contracts import Summarizer
from bot.pipeline.extractive import ExtractiveSummarizer
from bot.pipeline.fetch import SafeFetcher
from bot.pipeline.models import Brief
from bot.pipeline.service import BriefService
from bot.store import Store
from bot.store.followups import FollowupStore


@dataclass
class App:
    settings: Settings
    store: Store
    fetcher: SafeFetcher
    service: BriefService
    limits: Limits
    metrics: Metrics
    followups: FollowupService
    controls: Controls
    closers: list = field(default_factory=list)

    async def brief_link(
        self, url: str, *, platform: str, team_id: str, channel_id: str, user_id: str
    ) -> Brief:
        """What a chat front end calls per link: rate limits, then the brief on the team's budget.

        Raises ``UserRateLimited``/``ChannelRateLimited`` (post ``str(error)``) or
        any other ``LinkbriefError``; counts rate-limit refusals in the metrics.
        """
        try:
            await self.limits.check_brief(
                platform=platform, team_id=team_id, channel_id=channel_id, user_id=user_id
            )
        except LinkbriefError as exc:
            self.metrics.failed(kind=exc.kind)
            raise
        budget = metered(self.limits.budget(platform=platform, team_id=team_id))
        try:
            brief = await self.service.brief_url(url, budget=budget, platform=platform)
        except LinkbriefError as exc:
            await self.followups.record_brief(
                platform=platform, team_id=team_id, url=url, error_kind=exc.kind
            )
            raise
        await self.followups.record_brief(
            platform=platform, team_id=team_id, url=url, brief=brief, tokens=budget.spent
        )
        return brief

    async def health(self) -> dict[str, Any]:
        """The ``/healthz`` report (see ``bot.ops.check_health``)."""
        return await check_health(self.store)

    async def aclose(self) -> None:
        await self.service.settle()  # cache writes still running need the store
        await self.followups.settle()
        for close in reversed(self.closers):
            await close()
        await self.fetcher.aclose()
        await self.store.close()


def build_summarizer(settings: Settings) -> Summarizer:
    """The LLM summarizer when one is configured, else the extractive one."""
    if settings.llm_enabled:
        from bot.llm import build_llm_summarizer  # deferred: openai is slow to import

        return build_llm_summarizer(settings)
    return ExtractiveSummarizer()


def build_answerer(settings: Settings, summarizer: Summarizer) -> Answerer | None:
    """The model answerer for follow-up questions when briefs use a model client; else None
    (questions are answered offline, from the article's best-matching sentences)."""
    client = getattr(summarizer, "client", None)
    if summarizer.mode != "llm" or client is None or not hasattr(client, "complete_json"):
        return None
    from bot.followup.model import ModelAnswerer, load_followup_prompts  # deferred: openai

    return ModelAnswerer(
        client, load_followup_prompts(), max_input_tokens=settings.max_input_tokens
    )


async def build_app(
    settings: Settings,
    *,
    fetcher: SafeFetcher | None = None,
    summarizer: Summarizer | None = None,
    store: Store | None = None,
    clock: Clock = utc_now,
) -> App:
    store = store or await Store.open(settings.database_url)
    metrics = Metrics()
    fetcher = fetcher or SafeFetcher.from_settings(settings)
    summarizer = summarizer or build_summarizer(settings)
    fallback = ExtractiveSummarizer() if summarizer.mode != "extractive" else None
    service = BriefService(
        fetcher=fetcher,
        summarizer=summarizer,
        fallback=fallback,
        cache=store,
        cache_ttl_s=settings.brief_cache_ttl_s,
        observer=metrics,
    )
    limits = Limits(store, settings, clock=clock)
    followup_store = FollowupStore(store)
    followups = FollowupService(
        followups=followup_store,
        articles=service,
        limits=limits,
        article_ttl_s=settings.brief_cache_ttl_s,
        model=build_answerer(settings, summarizer),
    )
    service.on_article = followups.keep_article
    controls = Controls(
        store=store,
        followups=followup_store,
        questions=followups,
        builder=service,
        cache=store,
        limits=limits,
    )
    app = App(
        settings=settings,
        store=store,
        fetcher=fetcher,
        service=service,
        limits=limits,
        metrics=metrics,
        followups=followups,
        controls=controls,
    )
    # A model client we built holds a connection pool: close it with the app.
    client = getattr(summarizer, "client", None)
    if client is not None and hasattr(client, "aclose"):
        app.closers.append(client.aclose)
    return app


@asynccontextmanager
async def running_app(settings: Settings, **parts: object) -> AsyncIterator[App]:
    app = await build_app(settings, **parts)  # type: ignore[arg-type]
    try:
        yield app
    finally:
        await app.aclose()
