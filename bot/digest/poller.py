"""Feed polling: through the safe fetcher, conditional, with backoff per failing feed.

A feed URL is fetched like any link (the SSRF guard vets it and every
redirect). Each poll sends the ``ETag``/``Last-Modified`` the feed gave last
time, so an unchanged feed answers 304 with no body. A feed that fails waits
``interval × 2^(failures-1)`` (at most a day) before its next try, and its
error is kept for ``/linkbrief digest list``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.digest.feeds import (
    FEED_TYPES,
    HTML_TYPES,
    FeedError,
    ParsedFeed,
    discover_feed_links,
    looks_like_html,
    parse_feed,
)
from bot.errors import LinkbriefError
from bot.pipeline.fetch import SafeFetcher
from bot.pipeline.models import FetchedPage
from bot.store.digests import DigestStore, FeedState
from bot.timeutil import utc_now

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 86400.0
POLL_CONCURRENCY = 16
FEED_AND_PAGE_TYPES = FEED_TYPES | HTML_TYPES


@dataclass(frozen=True, slots=True)
class PollResult:
    feed_url: str
    status: str  # "ok" | "not modified" | "error"
    new_items: int = 0
    error: str = ""


@dataclass(frozen=True, slots=True)
class ResolvedFeed:
    """What ``resolve_feed`` found behind the URL a person gave."""

    feed_url: str
    parsed: ParsedFeed
    etag: str | None
    last_modified: str | None


def backoff_s(interval_s: float, failures: int) -> float:
    return min(MAX_BACKOFF_S, interval_s * (2 ** max(0, failures - 1)))


async def resolve_feed(fetcher: SafeFetcher, url: str) -> ResolvedFeed:
    """Fetch ``url``; if it is a page, follow its ``<link rel="alternate">`` to the feed."""
    page = await fetcher.fetch(url, accept=FEED_AND_PAGE_TYPES)
    if looks_like_html(page.content_type, page.body):
        candidates = discover_feed_links(page.body, page.final_url, page.charset)
        if not candidates:
            raise FeedError(
                'I found no feed on that page (no <link rel="alternate"> to RSS, Atom or '
                "JSON Feed). Give me the feed's own URL."
            )
        url = candidates[0]
        page = await fetcher.fetch(url, accept=FEED_TYPES)
    parsed = await asyncio.to_thread(parse_feed, page.body, page.content_type, page.final_url)
    return ResolvedFeed(url, parsed, _etag(page), page.headers.get("last-modified"))


def _etag(page: FetchedPage) -> str | None:
    return page.headers.get("etag")


class FeedPoller:
    """Polls due feeds and stores their new items."""

    def __init__(
        self,
        digests: DigestStore,
        fetcher: SafeFetcher,
        *,
        interval_s: float = 1800.0,
        concurrency: int = POLL_CONCURRENCY,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._digests = digests
        self._fetcher = fetcher
        self._interval_s = interval_s
        self._clock = clock
        self._limit = asyncio.Semaphore(concurrency)

    async def poll_due(self, now: datetime | None = None) -> list[PollResult]:
        """Poll every followed feed whose next poll time has come."""
        now = now or self._clock()
        feeds = await self._digests.due_feeds(now)
        return list(await asyncio.gather(*(self._guarded(feed, now) for feed in feeds)))

    async def poll_feeds(self, feeds: list[FeedState], now: datetime) -> list[PollResult]:
        """Poll the given feeds now, whatever their schedule (for ``run-now`` and tests)."""
        return list(await asyncio.gather(*(self._guarded(feed, now) for feed in feeds)))

    async def _guarded(self, feed: FeedState, now: datetime) -> PollResult:
        async with self._limit:
            return await self.poll_feed(feed, now)

    async def poll_feed(self, feed: FeedState, now: datetime) -> PollResult:
        headers: dict[str, str] = {}
        if feed.etag:
            headers["If-None-Match"] = feed.etag
        if feed.last_modified:
            headers["If-Modified-Since"] = feed.last_modified
        next_poll = now + timedelta(seconds=self._interval_s)
        try:
            page = await self._fetcher.fetch(feed.feed_url, accept=FEED_TYPES, headers=headers)
            if page.status == 304:
                await self._digests.record_poll(
                    feed.feed_hash, now=now, status="not modified", next_poll_at=next_poll
                )
                return PollResult(feed.feed_url, "not modified")
            parsed = await asyncio.to_thread(
                parse_feed, page.body, page.content_type, page.final_url
            )
            new = await self._digests.add_items(feed.feed_hash, parsed.items, now)
        except LinkbriefError as exc:
            return await self._failed(feed, now, str(exc))
        except Exception as exc:  # a bug or a driver error: keep polling the other feeds
            log.exception("polling %s failed", feed.feed_url)
            return await self._failed(feed, now, f"internal error ({type(exc).__name__})")
        await self._digests.record_poll(
            feed.feed_hash,
            now=now,
            status="ok",
            next_poll_at=next_poll,
            etag=_etag(page),
            last_modified=page.headers.get("last-modified"),
            title=parsed.title,
            site_url=parsed.site_url,
        )
        return PollResult(feed.feed_url, "ok", new_items=new)

    async def _failed(self, feed: FeedState, now: datetime, error: str) -> PollResult:
        failures = feed.failures + 1
        wait = backoff_s(self._interval_s, failures)
        log.info("feed %s failed (%d in a row): %s", feed.feed_url, failures, error)
        await self._digests.record_poll_error(
            feed.feed_hash,
            now=now,
            error=error,
            failures=failures,
            next_poll_at=now + timedelta(seconds=wait),
        )
        return PollResult(feed.feed_url, "error", error=error)
