"""``/linkbrief digest …`` in Slack, end to end: the signed slash command over
HTTP mode, the real bolt app, a local feed server, and the answer delivered
privately through the command's ``response_url``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from tests.digest_support import items
from tests.servers.feed_server import RSS, FeedServer, rss_feed
from tests.slack_helpers import SlackStack


async def _hook_texts(stack: SlackStack, count: int) -> list[dict]:
    for _ in range(200):
        if len(stack.api.hooks) >= count:
            break
        await asyncio.sleep(0.02)
    await stack.drain()
    return stack.api.hooks


async def test_digest_add_list_preview_answer_the_caller_only(tmp_path: Path) -> None:
    async with FeedServer(host="127.0.0.3") as feeds:
        base = feeds.url("/")
        start = datetime.now(UTC)
        feeds.set_feed("news", rss_feed("Harbour Herald", base, items("news", 3, start), base), RSS)
        async with SlackStack(tmp_path, fetch_allowed_private_hosts="127.0.0.2,127.0.0.3") as stack:
            status, _ = await stack.post_command(f"digest add <{feeds.url('/feeds/news')}>")
            assert status == 200
            hooks = await _hook_texts(stack, 1)
            assert hooks[0]["response_type"] == "ephemeral"
            assert "Harbour Herald" in hooks[0]["text"] or "/feeds/news" in hooks[0]["text"]

            await stack.post_command("digest list")
            hooks = await _hook_texts(stack, 2)
            assert "/feeds/news" in hooks[1]["text"]

            await stack.post_command("digest preview")
            hooks = await _hook_texts(stack, 3)
            assert hooks[2]["response_type"] == "ephemeral"
            assert hooks[2].get("blocks"), hooks[2]
            # Nothing was posted to the channel: the preview is for the caller only.
            assert not stack.api.calls_to("chat.postMessage")


async def test_a_blocked_feed_url_gets_a_private_refusal(tmp_path: Path) -> None:
    async with SlackStack(tmp_path) as stack:
        await stack.post_command("digest add http://169.254.169.254/latest/")
        hooks = await _hook_texts(stack, 1)
        assert "private or local address" in hooks[0]["text"]
        assert not stack.api.calls_to("chat.postMessage")
