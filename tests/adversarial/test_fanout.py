"""Fan-out: the same link posted by 100 people in 10 Slack channels at once costs one
fetch and one model call, and every message still gets its own reply in its thread."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.slack_helpers import PAGE, SlackStack, event_body, message_event

PEOPLE = 100
CHANNELS = 10


async def test_one_link_from_100_people_in_10_channels_is_fetched_and_summarized_once(
    tmp_path: Path,
) -> None:
    # Real rate limits stay on: 10 messages a channel and 1 a person are well inside them.
    async with SlackStack(tmp_path) as stack:
        url = stack.article_url()
        events = [
            message_event(
                f"have you seen <{url}>?", channel=f"C{i % CHANNELS:04d}", user=f"U{i:04d}"
            )
            for i in range(PEOPLE)
        ]
        statuses = await asyncio.gather(*(stack.post_event(event_body(e)) for e in events))
        assert [status for status, _ in statuses] == [200] * PEOPLE
        await stack.api.wait_for(lambda: len(stack.api.calls_to("chat.update")) >= PEOPLE, 60)
        await stack.drain()

        assert stack.articles.hits[PAGE] == 1
        assert len(stack.chat.requests) == 1
        assert stack.app is not None
        metrics = stack.app.metrics  # the pipeline's observer counts what it did
        assert metrics.value("linkbrief_fetch_latency_seconds_count") == 1
        assert metrics.value("linkbrief_model_calls_total", {"outcome": "ok"}) == 1
        posts = stack.api.calls_to("chat.postMessage")
        updates = stack.api.calls_to("chat.update")
        assert len(posts) == PEOPLE and len(updates) == PEOPLE
        # One reply per message, in that message's own thread and channel.
        assert sorted((p.params["channel"], p.params["thread_ts"]) for p in posts) == sorted(
            (e["channel"], e["ts"]) for e in events
        )
        assert all("Is Russia pulling back to regroup?" in u.params["text"] for u in updates)
