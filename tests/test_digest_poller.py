"""Feed polling over loopback: conditional GET, backoff with the error in `list`,
discovery through `digest add <site>`, the SSRF guard, and hostile feeds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import App
from bot.digest.commands import handle_digest_command
from bot.digest.poller import FeedPoller
from bot.store.digests import DigestStore
from tests.digest_support import DB_PARAMS, WED, database_url, items, make_app
from tests.servers.feed_server import RSS, FeedServer, rss_feed
from tests.test_digest_feeds import BILLION_LAUGHS, external_entity_feed


@pytest.fixture(params=DB_PARAMS)
async def app(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[App]:
    a = await make_app(await database_url(request.param, tmp_path), digest_poll_interval_s=600)
    try:
        yield a
    finally:
        await a.aclose()


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as srv:
        yield srv


def _at(now):  # type: ignore[no-untyped-def]
    return lambda: now


async def _add(app: App, url: str, now=WED, channel: str = "C1"):  # type: ignore[no-untyped-def]
    return await handle_digest_command(app, "slack", channel, f"add {url}", clock=_at(now))


async def test_second_poll_of_an_unchanged_feed_is_a_304_without_body(
    app: App, server: FeedServer
) -> None:
    server.set_feed(
        "a", rss_feed("Outlet A", server.url("/"), items("a", 5, WED), server.base_url), RSS
    )
    reply = await _add(app, server.url("/feeds/a"))
    assert reply.ok and "Outlet A" in reply.text
    assert server.bodies_sent["a"] == 1
    digests = DigestStore(app.store)
    poller = FeedPoller(digests, app.fetcher, interval_s=600)
    # Not due yet: nothing is fetched.
    assert await poller.poll_due(WED + timedelta(seconds=599)) == []
    results = await poller.poll_due(WED + timedelta(seconds=600))
    assert [r.status for r in results] == ["not modified"]
    assert (server.bodies_sent["a"], server.not_modified["a"]) == (1, 1)
    # The feed changes: the next poll gets the new body and stores only the new item.
    changed = items("a", 6, WED + timedelta(hours=1))
    server.set_feed("a", rss_feed("Outlet A", server.url("/"), changed, server.base_url), RSS)
    results = await poller.poll_due(WED + timedelta(seconds=1200))
    assert [(r.status, r.new_items) for r in results] == [("ok", 1)]
    assert server.bodies_sent["a"] == 2


async def test_a_failing_feed_backs_off_and_list_shows_its_error(
    app: App, server: FeedServer
) -> None:
    server.set_feed(
        "b", rss_feed("Outlet B", server.url("/"), items("b", 2, WED), server.base_url), RSS
    )
    assert (await _add(app, server.url("/feeds/b"))).ok
    digests = DigestStore(app.store)
    poller = FeedPoller(digests, app.fetcher, interval_s=600)
    del server.feeds["b"]  # the feed disappears: 404 from now on
    now = WED + timedelta(seconds=600)
    waits = []
    for _ in range(4):
        results = await poller.poll_due(now)
        assert [r.status for r in results] == ["error"]
        (feed,) = await digests.followed_feeds("slack", "C1")
        waits.append((feed.next_poll_at - now).total_seconds())
        assert await poller.poll_due(feed.next_poll_at - timedelta(seconds=1)) == []
        now = feed.next_poll_at
    assert waits == [600, 1200, 2400, 4800]
    assert server.hits["/feeds/b"] == 1 + 4  # the add, then one request per due poll
    listing = await handle_digest_command(app, "slack", "C1", "list", clock=_at(now))
    assert "Outlet B" in listing.text and "error" in listing.text
    assert "404" in listing.text and "4 in a row" in listing.text
    # It comes back unchanged (a 304 for the ETag kept from before): the error clears.
    server.set_feed(
        "b", rss_feed("Outlet B", server.url("/"), items("b", 2, WED), server.base_url), RSS
    )
    assert [r.status for r in await poller.poll_due(now)] == ["not modified"]
    listing = await handle_digest_command(app, "slack", "C1", "list", clock=_at(now))
    assert "error" not in listing.text and "not modified, polled 0 min ago" in listing.text


async def test_a_site_url_finds_its_feed_through_link_rel_alternate(
    app: App, server: FeedServer
) -> None:
    server.set_feed(
        "c", rss_feed("Outlet C", server.url("/site/c"), items("c", 3, WED), server.base_url), RSS
    )
    reply = await _add(app, server.url("/site/c"))
    assert reply.ok, reply.text
    assert server.hits["/site/c"] == 1 and server.bodies_sent["c"] == 1
    (feed,) = await DigestStore(app.store).followed_feeds("slack", "C1")
    assert feed.feed_url == server.url("/feeds/c")
    # Removing works by the site URL the person typed, or by the feed URL.
    assert (await handle_digest_command(app, "slack", "C1", f"remove {server.url('/site/c')}")).ok
    assert await DigestStore(app.store).followed_feeds("slack", "C1") == []


async def test_a_page_without_a_feed_is_refused(app: App, server: FeedServer) -> None:
    reply = await _add(app, server.url("/articles/x"))
    assert not reply.ok and "no feed" in reply.text


async def test_feed_urls_get_the_ssrf_guard(app: App, server: FeedServer) -> None:
    server.set_feed("a", rss_feed("A", server.url("/"), items("a", 1, WED), server.base_url), RSS)
    # Only 127.0.0.1 is allow-listed: other loopback and link-local addresses stay blocked.
    for url in (
        f"http://127.0.0.3:{server.port}/feeds/a",
        "http://169.254.169.254/latest/meta-data/",
    ):
        reply = await _add(app, url)
        assert not reply.ok and ("private" in reply.text or "local" in reply.text), reply.text
    assert server.hits["/feeds/a"] == 0
    assert await DigestStore(app.store).channels() == []


@pytest.mark.parametrize("hostile", ["billion_laughs", "external_entity"])
async def test_a_hostile_feed_is_rejected_and_nothing_is_stored(
    app: App, server: FeedServer, tmp_path: Path, hostile: str
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    body = BILLION_LAUGHS if hostile == "billion_laughs" else external_entity_feed(secret)
    server.set_feed("evil", body, RSS)
    reply = await _add(app, server.url("/feeds/evil"))
    assert not reply.ok and "entities" in reply.text
    # A feed that turns hostile after it was added: the poll fails, no item is kept.
    server.set_feed(
        "ok", rss_feed("Fine", server.url("/"), items("ok", 1, WED), server.base_url), RSS
    )
    assert (await _add(app, server.url("/feeds/ok"))).ok
    server.set_feed("ok", body, RSS)
    digests = DigestStore(app.store)
    poller = FeedPoller(digests, app.fetcher, interval_s=600)
    results = await poller.poll_due(WED + timedelta(hours=1))
    assert [r.status for r in results] == ["error"]
    stored = await digests.items_for_channel(
        "slack",
        "C1",
        since=WED - timedelta(days=9),
        until=WED + timedelta(days=1),
        published_after=WED - timedelta(days=30),
    )
    assert len(stored) == 1
    assert all("TOP-SECRET" not in (i.title + i.summary) for i in stored)
