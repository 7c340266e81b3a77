"""Digest benchmark: 200 feeds × 50 items served on loopback.

Times (1) a full poll of every feed, (2) a second poll of the unchanged feeds
(every answer must be a 304: the server counts the bodies it sends), and
(3) building 100 digests (100 channels following 10 feeds each; five stories
in every feed are shared with other feeds, so merging has work to do), plus
(4) the scheduler's exactly-once delivery of those 100 digests to a null poster.

The feed server runs in a thread of the same process (one GIL), so poll
figures include serving. No LLM: entries beyond the cache get extractive lines.

    .venv/bin/python bench/digest.py [--feeds 200] [--items 50] [--channels 100]
                                     [--database-url URL] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.app import build_app  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.digest.builder import build_digest, digest_title  # noqa: E402
from bot.digest.models import Digest  # noqa: E402
from bot.digest.poller import FeedPoller  # noqa: E402
from bot.digest.scheduler import DigestScheduler  # noqa: E402
from bot.store.digests import DigestStore  # noqa: E402
from tests.digest_support import title_for  # noqa: E402
from tests.servers.feed_server import RSS, FeedItem, FeedServer, rss_feed  # noqa: E402

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
FEEDS_PER_CHANNEL = 10
SHARED_PER_FEED = 5
STORY_POOL = 60


class NullPoster:
    def __init__(self) -> None:
        self.posts = 0

    async def post_digest(self, channel_id: str, digest: Digest) -> str:
        self.posts += 1
        return f"m{self.posts}"


def feed_items(f: int, n: int, base: str) -> list[FeedItem]:
    own = [
        FeedItem(
            slug=f"f{f}-{i}",
            title=title_for(f"f{f}", i),
            summary=f"Item {i} of feed {f}. A second sentence follows here.",
            published=NOW - timedelta(minutes=17 * i + f),
        )
        for i in range(n - SHARED_PER_FEED)
    ]
    shared = []
    for j in range(SHARED_PER_FEED):
        s = (f + j * 7) % STORY_POOL
        shared.append(
            FeedItem(
                slug=f"f{f}-story-{s}",
                title=title_for("story", s),
                summary=f"Story {s} as feed {f} tells it.",
                published=NOW - timedelta(minutes=5 * j + f % 11),
                link=f"{base}/articles/story-{s}?utm_source=feed{f}",
            )
        )
    return own + shared


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    db_url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp.name) / 'bench.db'}"
    server = FeedServer()
    base = server.start_in_thread()
    for f in range(args.feeds):
        body = rss_feed(f"Outlet {f}", base + "/", feed_items(f, args.items, base), base)
        server.set_feed(f"f{f}", body, RSS)

    settings = load_settings(
        None,
        database_url=db_url,
        fetch_allowed_private_hosts="127.0.0.1",
        summarizer="extractive",
        digest_llm_calls=0,
    )
    app = await build_app(settings)
    digests = DigestStore(app.store)
    results: dict[str, object] = {"feeds": args.feeds, "items_per_feed": args.items}
    try:
        keys = [
            await digests.upsert_feed(server.url(f"/feeds/f{f}"), title="", site_url="", now=NOW)
            for f in range(args.feeds)
        ]
        for c in range(args.channels):
            await digests.ensure_channel(
                "slack",
                f"C{c}",
                delivery_time="09:00",
                timezone="UTC",
                max_entries=10,
                now=NOW - timedelta(days=1),
            )
            for j in range(FEEDS_PER_CHANNEL):
                key = keys[(c * 2 + j) % args.feeds]
                await digests.follow("slack", f"C{c}", key, f"feed{j}", NOW)

        poller = FeedPoller(digests, app.fetcher, interval_s=1800)
        t0 = time.perf_counter()
        first = await poller.poll_due(NOW)
        results["full_poll_s"] = round(time.perf_counter() - t0, 3)
        results["full_poll_ok"] = sum(r.status == "ok" for r in first)
        results["items_stored"] = sum(r.new_items for r in first)
        bodies_after_first = sum(server.bodies_sent.values())

        t0 = time.perf_counter()
        second = await poller.poll_due(NOW + timedelta(seconds=1800))
        results["second_poll_s"] = round(time.perf_counter() - t0, 3)
        results["second_poll_304"] = sum(r.status == "not modified" for r in second)
        results["second_poll_bodies"] = sum(server.bodies_sent.values()) - bodies_after_first

        until = NOW + timedelta(hours=1)
        t0 = time.perf_counter()
        entries = merged = 0
        for c in range(args.channels):
            channel = await digests.get_channel("slack", f"C{c}")
            assert channel is not None
            digest = await build_digest(
                app,
                channel,
                day="2026-11-25",
                title=digest_title(until.date()),
                since=until - timedelta(days=1),
                until=until,
            )
            entries += len(digest.entries)
            merged += sum(len(e.sources) > 1 for e in digest.entries)
        results["build_100_digests_s"] = round(time.perf_counter() - t0, 3)
        results["entries_per_digest"] = entries / args.channels
        results["merged_entries_per_digest"] = merged / args.channels

        poster = NullPoster()
        scheduler = DigestScheduler(app, {"slack": poster}, poll_feeds=False)
        t0 = time.perf_counter()
        outcomes = await scheduler.run_once(NOW + timedelta(hours=1))
        results["deliver_100_digests_s"] = round(time.perf_counter() - t0, 3)
        results["delivered"] = poster.posts
        again = await DigestScheduler(app, {"slack": poster}, poll_feeds=False).run_once(
            NOW + timedelta(hours=2)
        )
        results["delivered_again"] = sum(o.status == "posted" for o in again)
        results["outcomes"] = sorted({o.status for o in outcomes})
    finally:
        await app.aclose()
        server.stop()
        tmp.cleanup()

    for key, value in results.items():
        print(f"{key:28} {value}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if results["second_poll_bodies"] != 0:
        raise SystemExit("FAIL: the second poll transferred feed bodies")


if __name__ == "__main__":
    asyncio.run(main())
