"""The brief service over real parts: the safe fetcher against the local article
server, the extractive summarizer, a real SQLite store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.app import build_app
from bot.errors import BlockedAddress, LLMUnavailable
from bot.pipeline.models import Article, Draft
from bot.pipeline.service import MODEL_UNAVAILABLE_WARNING
from tests.app_support import CountingSummarizer, local_settings
from tests.servers.article_server import ArticleServer

PAGE = "/pages/example_article.html"


class FailingSummarizer:
    mode = "llm"

    async def summarize(self, article: Article) -> Draft:
        raise LLMUnavailable()


async def test_a_link_shared_many_times_at_once_costs_one_fetch_and_one_summary(
    tmp_path: Path,
) -> None:
    summarizer = CountingSummarizer(delay_s=0.05)  # requests pile up behind it
    async with ArticleServer(host="127.0.0.2") as srv:
        app = await build_app(local_settings(tmp_path), summarizer=summarizer)
        try:
            url = srv.url(PAGE)
            variants = [url, url + "?utm_source=x", url + "#comments", url + "?fbclid=abc"]
            briefs = await asyncio.gather(
                *(app.service.brief_url(variants[i % 4]) for i in range(40))
            )
        finally:
            await app.aclose()
        assert srv.hits[PAGE] == 1
    assert summarizer.calls == 1
    assert len({b.model_dump_json() for b in briefs}) == 1


async def test_the_cache_serves_a_second_request_without_a_fetch_even_after_restart(
    tmp_path: Path,
) -> None:
    async with ArticleServer(host="127.0.0.2") as srv:
        for _ in range(2):  # two "processes" on the same database file
            app = await build_app(local_settings(tmp_path))
            try:
                brief = await app.service.brief_url(srv.url(PAGE))
            finally:
                await app.aclose()
            assert brief.title.startswith("Is Russia pulling back")
        assert srv.hits[PAGE] == 1


async def test_no_cache_when_ttl_is_zero(tmp_path: Path) -> None:
    async with ArticleServer(host="127.0.0.2") as srv:
        app = await build_app(local_settings(tmp_path, brief_cache_ttl_s=0))
        try:
            await app.service.brief_url(srv.url(PAGE))
            await app.service.brief_url(srv.url(PAGE))
        finally:
            await app.aclose()
        assert srv.hits[PAGE] == 2


async def test_a_failing_model_degrades_to_the_extractive_brief(tmp_path: Path) -> None:
    async with ArticleServer(host="127.0.0.2") as srv:
        app = await build_app(local_settings(tmp_path), summarizer=FailingSummarizer())
        try:
            brief = await app.service.brief_url(srv.url(PAGE))
        finally:
            await app.aclose()
    assert brief.mode == "extractive"
    assert brief.warnings[0] == MODEL_UNAVAILABLE_WARNING
    assert brief.verified_claims


async def test_errors_reach_every_waiter_and_are_not_cached(tmp_path: Path) -> None:
    app = await build_app(local_settings(tmp_path))
    try:
        results = await asyncio.gather(
            *(app.service.brief_url("http://127.0.0.1:9/x") for _ in range(3)),
            return_exceptions=True,
        )
        assert all(isinstance(r, BlockedAddress) for r in results)
        with pytest.raises(BlockedAddress):
            await app.service.brief_url("http://127.0.0.1:9/x")
    finally:
        await app.aclose()


async def test_the_brief_is_cached_before_it_is_handed_back(tmp_path: Path) -> None:
    async with ArticleServer(host="127.0.0.2") as srv:
        app = await build_app(local_settings(tmp_path))
        try:
            url = srv.url(PAGE)
            first = await app.service.brief_url(url)
            assert await app.store.get_brief(url, 3600) == first
            assert await app.service.cached_brief(url) == first
            again = await app.service.brief_url(url + "?utm_source=x")
            assert srv.hits[PAGE] == 1 and again.summary == first.summary
        finally:
            await app.aclose()


async def test_a_failed_cache_write_loses_nothing_but_the_cache_entry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with ArticleServer(host="127.0.0.2") as srv:
        app = await build_app(local_settings(tmp_path))
        try:

            async def broken_put(brief, key=None):
                raise OSError("disk full")

            app.store.put_brief = broken_put  # type: ignore[method-assign]
            first = await app.service.brief_url(srv.url(PAGE))
            assert "could not cache a brief (OSError)" in caplog.text
            second = await app.service.brief_url(srv.url(PAGE))  # built again, not stuck
            assert second.summary == first.summary and srv.hits[PAGE] == 2
        finally:
            await app.aclose()
