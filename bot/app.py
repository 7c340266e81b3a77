"""The composition root: every long-lived part is built here, from ``Settings``.

Front ends, the CLI and tests all call ``build_app``; tests hand in fakes (a
resolver for the fetcher, a scripted summarizer) instead of patching internals.
Heavy optional parts (the openai SDK) are imported only when configured.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.config import Settings
from bot.pipeline.contracts import Summarizer
from bot.pipeline.extractive import ExtractiveSummarizer
from bot.pipeline.fetch import SafeFetcher
from bot.pipeline.service import BriefService
from bot.store import Store


@dataclass
class App:
    settings: Settings
    store: Store
    fetcher: SafeFetcher
    service: BriefService
    closers: list = field(default_factory=list)

    async def aclose(self) -> None:
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


async def build_app(
    settings: Settings,
    *,
    fetcher: SafeFetcher | None = None,
    summarizer: Summarizer | None = None,
    store: Store | None = None,
) -> App:
    store = store or await Store.open(settings.database_url)
    fetcher = fetcher or SafeFetcher.from_settings(settings)
    summarizer = summarizer or build_summarizer(settings)
    fallback = ExtractiveSummarizer() if summarizer.mode != "extractive" else None
    service = BriefService(
        fetcher=fetcher,
        summarizer=summarizer,
        fallback=fallback,
        cache=store,
        cache_ttl_s=settings.brief_cache_ttl_s,
    )
    return App(settings=settings, store=store, fetcher=fetcher, service=service)


@asynccontextmanager
async def running_app(settings: Settings, **parts: object) -> AsyncIterator[App]:
    app = await build_app(settings, **parts)  # type: ignore[arg-type]
    try:
        yield app
    finally:
        await app.aclose()
