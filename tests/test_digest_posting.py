"""Daily digests reaching real chat: the scheduler posting through the Slack and
Discord posters, against the fake Slack Web API and the fake Discord REST API.

Exactly once per channel and day holds through the platform too: the Slack
post carries the digest's key in message metadata (so a retake after a crash
finds it), the Discord post carries a nonce with ``enforce_nonce``.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.adapters.slack.digest_poster import METADATA_EVENT, SlackDigestPoster
from bot.app import build_app, build_discord
from bot.digest.commands import handle_digest_command
from bot.digest.scheduler import DigestScheduler
from tests.digest_support import items
from tests.discord_helpers import DiscordStack
from tests.render_checks import assert_no_live_mentions
from tests.servers.feed_server import RSS, FeedServer, rss_feed
from tests.slack_helpers import SlackStack


class Recording:
    """The real poster, remembering what it was asked to post."""

    def __init__(self, poster: SlackDigestPoster) -> None:
        self.poster = poster
        self.digests: list = []

    async def post_digest(self, channel_id: str, digest) -> str:  # type: ignore[no-untyped-def]
        self.digests.append(digest)
        return await self.poster.post_digest(channel_id, digest)


NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # a Tuesday, before the 09:00 delivery
DUE = NOW + timedelta(hours=1)


async def _subscribe(app, platform: str, channel: str, feeds: FeedServer) -> None:  # type: ignore[no-untyped-def]
    base = feeds.url("/")
    feeds.set_feed(
        "a", rss_feed("Outlet A", base, items("a", 3, NOW - timedelta(hours=2)), base), RSS
    )
    reply = await handle_digest_command(
        app,
        platform,
        channel,
        f"add {feeds.url('/feeds/a')}",
        clock=lambda: NOW - timedelta(days=1),
    )
    assert reply.ok, reply.text


async def test_slack_digest_is_posted_once_with_its_key_in_metadata(tmp_path: Path) -> None:
    async with (
        FeedServer(host="127.0.0.3") as feeds,
        SlackStack(tmp_path, fetch_allowed_private_hosts="127.0.0.2,127.0.0.3") as stack,
    ):
        assert stack.app is not None and stack.front is not None
        await _subscribe(stack.app, "slack", "C0001", feeds)
        poster = SlackDigestPoster(stack.front.client)
        recorder = Recording(poster)
        scheduler = DigestScheduler(stack.app, {"slack": recorder})
        assert [o.status for o in await scheduler.run_once(DUE)] == ["posted"]
        assert [o.status for o in await scheduler.run_once(DUE + timedelta(minutes=5))] == ["held"]
        posts = stack.api.calls_to("chat.postMessage")
        assert len(posts) == 1
        params = posts[0].params
        assert params["channel"] == "C0001" and params["blocks"]
        assert params["unfurl_links"] is False and params["unfurl_media"] is False
        assert params["metadata"]["event_type"] == METADATA_EVENT
        assert_no_live_mentions(params)
        # A retake after a crash finds the post instead of posting again.
        [digest] = recorder.digests
        [posted_ts] = [ts for (channel, ts) in stack.api.messages if channel == "C0001"]
        assert await poster.find_posted("C0001", digest) == posted_ts
        assert await poster.find_posted("C0002", digest) is None


async def test_discord_digest_is_posted_once_with_a_nonce(tmp_path: Path) -> None:
    async with FeedServer(host="127.0.0.3") as feeds, DiscordStack(tmp_path) as stack:
        app = await build_app(stack.settings(fetch_allowed_private_hosts="127.0.0.2,127.0.0.3"))
        channel = str(stack.fake.p.channel_id)
        front = build_discord(app)
        posters = {"discord": front.poster}
        task = asyncio.create_task(front.run())
        try:
            await stack.fake.wait_for(lambda: stack.fake.identifies, timeout=15)
            await _subscribe(app, "discord", channel, feeds)
            scheduler = DigestScheduler(app, posters)
            assert [o.status for o in await scheduler.run_once(DUE)] == ["posted"]
            assert [o.status for o in await scheduler.run_once(DUE)] == ["held"]
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await app.aclose()
        posts = [
            r for r in stack.fake.calls("POST", rf"/channels/{channel}/messages") if r.status == 200
        ]
        assert len(posts) == 1
        body = posts[0].json
        assert body["nonce"] and body["enforce_nonce"] is True
        assert body["allowed_mentions"] == {"parse": []}
        assert body["embeds"] and "Daily digest" in str(body["embeds"][0])


async def test_cli_run_now_posts_through_the_slack_web_api_once(tmp_path: Path) -> None:
    import os
    import sys

    from tests.servers.slack_api import BOT_TOKEN, SlackApiServer

    async with FeedServer(host="127.0.0.3") as feeds, SlackApiServer() as api:
        base = feeds.url("/")
        news = items("a", 3, datetime.now(UTC) - timedelta(hours=1))
        feeds.set_feed("a", rss_feed("Outlet A", base, news, base), RSS)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
        env |= {
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
            "FETCH_ALLOWED_PRIVATE_HOSTS": "127.0.0.3",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_MODE": "http",
            "SLACK_SIGNING_SECRET": "not-used-by-run-now",
            "SLACK_API_BASE_URL": api.url,
        }

        async def cli(*args: str) -> tuple[int, str]:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "digest", *args, env=env, cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            out, _ = await proc.communicate()
            return proc.returncode or 0, out.decode()

        code, out = await cli("add", "--channel", "slack:C0001", feeds.url("/feeds/a"))
        assert code == 0, out
        code, out = await cli("run-now", "--channel", "slack:C0001")
        assert code == 0, out
        code, out = await cli("run-now", "--channel", "slack:C0001")
        assert code == 0, out
        posts = api.calls_to("chat.postMessage")
        assert len(posts) == 1
        assert posts[0].params["channel"] == "C0001" and posts[0].params["blocks"]
