"""Hostile feeds, through ``digest add`` and through polling: billion laughs, an
external entity to a local file, and a feed URL that redirects into private space.
Each is rejected, nothing is read or reached, and the error shows in ``digest list``.

A small switchable feed server (127.0.0.2, allow-listed) serves a good RSS feed
until a test turns it hostile; a canary on 127.0.0.1 stands for the private network.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from bot.app import App, build_app
from bot.config import load_settings
from bot.digest.commands import handle_digest_command
from bot.digest.poller import FeedPoller
from bot.store.digests import DigestStore
from tests.servers.article_server import ArticleServer

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RSS = "application/rss+xml"
SECRET = "TOP-SECRET-FILE-CONTENT-4242"
GOOD = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Good Outlet</title>
<link>https://good.example/</link><description>d</description>
<item><title>First story</title><link>https://good.example/a</link>
<description>Once upon a time.</description></item></channel></rss>"""
LOL = "".join(f' <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">\n' for i in range(2, 10))
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [\n <!ENTITY lol1 "lol">\n' + LOL + "]>\n"
    '<rss version="2.0"><channel><title>&lol9;</title>'
    "<item><title>&lol9;</title><link>https://x.example/a</link></item></channel></rss>"
).encode()


def external_entity(path: Path) -> bytes:
    return f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file://{path}">]>
<rss version="2.0"><channel><title>&secret;</title>
<item><title>&secret;</title><link>https://x.example/a</link>
<description>&secret;</description></item></channel></rss>""".encode()


class FeedSwitch:
    """``/feed`` answers with ``respond()``: a good feed, a hostile body or a redirect."""

    def __init__(self) -> None:
        self.respond: Callable[[], web.StreamResponse] = lambda: _xml(GOOD)
        self.hits = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def __aenter__(self) -> FeedSwitch:
        app = web.Application()
        app.router.add_get("/feed", self._feed)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.2", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.2:{self.port}/feed"

    async def _feed(self, request: web.Request) -> web.StreamResponse:
        self.hits += 1
        return self.respond()


def _xml(body: bytes) -> web.Response:
    return web.Response(body=body, headers={"Content-Type": RSS})


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location})


@pytest.fixture
async def servers() -> AsyncIterator[tuple[FeedSwitch, ArticleServer]]:
    async with FeedSwitch() as feeds, ArticleServer(host="127.0.0.1") as canary:
        yield feeds, canary


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    settings = load_settings(
        None,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'digest.db'}",
        fetch_allowed_private_hosts="127.0.0.2",
        summarizer="extractive",
    )
    built = await build_app(settings)
    yield built
    await built.aclose()


def _hostile(kind: str, tmp_path: Path, canary: ArticleServer) -> Callable[[], web.Response]:
    if kind == "billion-laughs":
        return lambda: _xml(BILLION_LAUGHS)
    if kind == "external-entity-to-a-local-file":
        secret = tmp_path / "secret.txt"
        secret.write_text(SECRET)
        return lambda: _xml(external_entity(secret))
    assert kind == "redirect-into-private-space"
    return lambda: _redirect(canary.url("/canary/feed"))


KINDS = ["billion-laughs", "external-entity-to-a-local-file", "redirect-into-private-space"]
EXPECTED = {
    "billion-laughs": "feed",
    "external-entity-to-a-local-file": "feed",
    "redirect-into-private-space": "private or local address",
}


async def _digest(app: App, args: str) -> tuple[bool, str]:
    reply = await handle_digest_command(app, "slack", "CFEEDS", args, clock=lambda: NOW)
    return reply.ok, reply.text


@pytest.mark.parametrize("kind", KINDS)
async def test_digest_add_rejects_a_hostile_feed(
    kind: str, app: App, servers: tuple[FeedSwitch, ArticleServer], tmp_path: Path
) -> None:
    feeds, canary = servers
    feeds.respond = _hostile(kind, tmp_path, canary)
    ok, text = await _digest(app, f"add <{feeds.url}>")
    assert not ok
    assert EXPECTED[kind] in text
    assert SECRET not in text and "lol" not in text
    assert canary.total_hits == 0
    # Nothing was followed, so nothing to list either.
    assert "has no digest" in (await _digest(app, "list"))[1]
    assert await DigestStore(app.store).due_feeds(NOW.replace(year=2030)) == []


@pytest.mark.parametrize("kind", KINDS)
async def test_polling_rejects_a_feed_that_turned_hostile(
    kind: str, app: App, servers: tuple[FeedSwitch, ArticleServer], tmp_path: Path
) -> None:
    feeds, canary = servers
    ok, text = await _digest(app, f"add {feeds.url}")
    assert ok and "Good Outlet" in text
    feeds.respond = _hostile(kind, tmp_path, canary)  # the feed turns hostile later
    digests = DigestStore(app.store)
    [feed] = await digests.followed_feeds("slack", "CFEEDS")
    poller = FeedPoller(digests, app.fetcher, clock=lambda: NOW)
    [result] = await poller.poll_feeds([feed], NOW)

    assert result.status == "error"
    assert EXPECTED[kind] in result.error
    assert SECRET not in result.error
    assert canary.total_hits == 0
    assert feeds.hits == 2  # the add, then the poll; never the target of the redirect
    listing = (await _digest(app, "list"))[1]
    assert "error: " in listing and EXPECTED[kind] in listing
    assert SECRET not in listing
    # The items from before the feed turned hostile are all it has: nothing new was stored.
    [again] = await digests.followed_feeds("slack", "CFEEDS")
    assert again.failures == 1
