"""`/linkbrief digest …` through the platform-neutral handler, on real databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import App
from bot.digest.commands import handle_digest_command
from bot.store.digests import DigestStore
from tests.digest_support import DB_PARAMS, WED, database_url, items, make_app
from tests.servers.feed_server import RSS, FeedServer, rss_feed


@pytest.fixture(params=DB_PARAMS)
async def app(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[App]:
    a = await make_app(await database_url(request.param, tmp_path))
    try:
        yield a
    finally:
        await a.aclose()


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as srv:
        for name in ("a", "b"):
            feed = rss_feed(
                f"Outlet {name.upper()}", srv.url("/"), items(name, 2, WED), srv.base_url
            )
            srv.set_feed(name, feed, RSS)
        yield srv


async def run(app: App, args: str, channel: str = "C1", platform: str = "slack"):  # type: ignore[no-untyped-def]
    return await handle_digest_command(app, platform, channel, args, clock=lambda: WED)


async def test_add_list_time_preview_remove(app: App, server: FeedServer) -> None:
    # Slack wraps links as <url>; Discord users type <url> to suppress the embed.
    added = await run(app, f"add <{server.url('/feeds/a')}>")
    assert added.ok and not added.ephemeral and "Outlet A" in added.text and "2 items" in added.text
    assert (await run(app, f"digest add {server.url('/feeds/b')}")).ok
    again = await run(app, f"add {server.url('/feeds/a')}")
    assert again.ok and "already follows" in again.text

    listing = await run(app, "list")
    assert listing.ephemeral
    assert "Digest at 09:00 UTC, every day, up to 10 entries" in listing.text
    assert listing.text.count("ok, polled 0 min ago") == 2

    assert (await run(app, "time 08:30 Europe/Berlin")).ok
    assert (await run(app, "days weekdays")).ok
    assert (await run(app, "max 3")).ok
    assert (await run(app, "shares off")).ok
    listing = await run(app, "list")
    assert "Digest at 08:30 Europe/Berlin, weekdays, up to 3 entries, without" in listing.text

    preview = await run(app, "preview")
    assert preview.ok and preview.ephemeral and preview.digest is not None
    assert preview.text == preview.digest.markdown
    assert preview.text.startswith("# Daily digest — Wednesday 25 November 2026")
    assert preview.text.count("**[") == 3  # max 3
    assert preview.digest.slack["blocks"][0]["type"] == "header"
    # A preview is only a look: nothing was recorded as sent.
    assert await DigestStore(app.store).runs("slack", "C1") == []

    removed = await run(app, f"remove {server.url('/feeds/a')}")
    assert removed.ok and "Stopped following" in removed.text
    listing = await run(app, "list")
    assert "Outlet A" not in listing.text and "Outlet B" in listing.text
    # Channels are separate, and so are platforms.
    assert not (await run(app, "list", platform="discord")).ok
    assert not (await run(app, "list", channel="C2")).ok


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("", "Usage"),
        ("frobnicate", "I don't know"),
        ("add", "Usage"),
        ("add not-a-url", "isn't an http(s) link"),
        ("add ftp://example.org/feed", "http"),
        ("time 25:00", "not a time"),
        ("time 8h30", "not a time"),
        ("time 08:30 Mars/Olympus", "not an IANA timezone"),
        ("days sometimes", "Usage"),
        ("max 0", "Usage"),
        ("remove https://never.example/feed", "doesn't follow"),
        ("preview", "has no digest"),
    ],
)
async def test_mistakes_get_a_clear_reply(app: App, args: str, expected: str) -> None:
    reply = await run(app, args)
    assert not reply.ok and reply.ephemeral
    assert expected in reply.text


async def test_stop_unsubscribes(app: App, server: FeedServer) -> None:
    assert (await run(app, f"add {server.url('/feeds/a')}")).ok
    assert (await run(app, "stop")).ok
    assert await DigestStore(app.store).channels() == []
    assert await DigestStore(app.store).due_feeds(WED + timedelta(days=1)) == []


async def test_replies_come_in_the_channel_language(app: App, server: FeedServer) -> None:
    reply = await run(app, "language ru")
    assert reply.text == "Язык этого канала теперь: Русский (ru)."
    added = await run(app, f"add {server.url('/feeds/a')}")
    assert added.ok and added.text.startswith("Слежу за ")
    assert "2 записи" in added.text  # the Russian plural for 2
    assert (await run(app, "max 7")).text == "В дайджесте теперь не больше 7 записей."
    assert (await run(app, "time 25:00")).text.startswith("'25:00' — не время")
    unknown = await run(app, "frobnicate")
    assert not unknown.ok and unknown.text.startswith("Команда `digest frobnicate` мне неизвестна.")
    preview = await run(app, "preview")
    assert preview.digest is not None and "Дайджест дня — " in preview.digest.markdown
    # Another channel keeps English.
    assert (await run(app, "stop", channel="C2")).text == "This channel no longer gets a digest."
