"""50 links in one message: the first ``MAX_LINKS_PER_MESSAGE`` (3) are briefed and one short
note says how many were skipped, in the thread, once — also across redeliveries and restarts.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.discord_helpers import DiscordStack, wait_until
from tests.fault_support import bot_messages, is_placeholder, posts, restart_slack, updates
from tests.slack_helpers import SlackStack, event_body, message_event

LINKS = 50
CAP = 3
NOTE = f"Only the first {CAP} links are briefed; {LINKS - CAP} more skipped."


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackStack]:
    async with SlackStack(tmp_path, summarizer="extractive", brief_cache_ttl_s=0) as running:
        yield running


async def test_slack_briefs_the_first_three_and_notes_the_rest_once(slack: SlackStack) -> None:
    urls = [slack.articles.url(f"/pages/example_article.html?part={n}") for n in range(LINKS)]
    event = message_event(" ".join(f"<{url}>" for url in urls))
    body = event_body(event)
    assert (await slack.post_event(body))[0] == 200
    await slack.api.wait_for(lambda: len(updates(slack)) == CAP, timeout=30)
    await slack.drain()

    fetched = sorted(r.query for r in slack.articles.requests if r.path.startswith("/pages/"))
    assert fetched == sorted(f"part={n}" for n in range(CAP))  # only the first three
    messages = bot_messages(slack)
    notes = [m for m in messages if m["text"] == NOTE]
    briefs = [m for m in messages if m["text"] != NOTE]
    assert len(notes) == 1 and notes[0]["thread_ts"] == event["ts"]
    assert len(briefs) == CAP and not any(is_placeholder(m) for m in briefs)
    assert all(m["thread_ts"] == event["ts"] for m in briefs)

    # Redelivered, then a restart, then a fresh event id for the same message: no more.
    assert (await slack.post_event(body, retry_num=1))[0] == 200
    await restart_slack(slack)
    assert (await slack.post_event(event_body(event), retry_num=2))[0] == 200
    await slack.drain()
    assert len(posts(slack)) == CAP + 1
    assert len(updates(slack)) == CAP


async def test_discord_briefs_the_first_three_and_notes_the_rest_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.adapters.discord")
    async with DiscordStack(tmp_path) as stack:
        fake = stack.fake
        await stack.start_bot()
        urls = [stack.articles.url(f"/article?n={n}") for n in range(LINKS)]
        content = " ".join(urls)
        assert len(content) <= 2000  # still one Discord message
        message = await stack.say(content)
        mid = message["id"]
        await stack.edits_in(mid, count=CAP)

        created = [m for m in fake.messages.values() if m["channel_id"] == mid]
        notes = [m for m in created if m["content"] == NOTE]
        assert len(notes) == 1
        assert len(created) == CAP + 1
        fetched = sorted(r.query for r in stack.articles.requests if r.path == "/article")
        assert fetched == sorted(f"n={n}" for n in range(CAP))

        # The gateway delivers the message again (at-least-once): nothing more is posted.
        seq = fake.session.seq if fake.session else 0
        await fake.force_reconnect("op7", replay_from=seq - 1)
        await fake.wait_for(lambda: len(fake.resumes) == 1, timeout=15)
        replayed = f"message {mid} skipped: its links were already briefed"
        await wait_until(lambda: any(replayed in r.getMessage() for r in caplog.records))
        await stack.stop_bot()
        assert len([m for m in fake.messages.values() if m["channel_id"] == mid]) == CAP + 1
        assert len(fake.calls("PATCH", rf"/channels/{mid}/messages/\d+")) == CAP
