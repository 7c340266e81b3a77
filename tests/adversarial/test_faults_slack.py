"""Slack answers 429 with ``Retry-After``: the bot waits, retries, and still says everything once.

Rate limits on ``chat.postMessage`` (the placeholder) and on ``chat.update`` (the
brief) are answered by the fake Slack Web API exactly as Slack does: HTTP 429,
``{"ok": false, "error": "ratelimited"}`` and a ``Retry-After`` header.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fault_support import bot_messages, is_placeholder, message_text, posts, updates
from tests.slack_helpers import SlackStack, event_body, message_event


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[SlackStack]:
    async with SlackStack(tmp_path) as running:
        yield running


def refused(stack: SlackStack, method: str) -> list[float]:
    return [c.at for c in stack.api.calls if c.method == method and c.status == 429]


@pytest.mark.parametrize("method", ["chat.postMessage", "chat.update"])
async def test_a_rate_limited_call_is_retried_after_retry_after_and_lands_once(
    stack: SlackStack, method: str
) -> None:
    stack.api.rate_limit(method, times=1, retry_after=1)
    body = event_body(message_event(f"<{stack.article_url()}>"))
    assert (await stack.post_event(body))[0] == 200
    await stack.api.wait_for(lambda: len(updates(stack)) == 1, timeout=20)
    await stack.drain()

    [refusal] = refused(stack, method)
    [accepted] = stack.api.calls_to(method)
    assert accepted.at - refusal >= 0.9  # it waited for Retry-After before trying again
    assert len(posts(stack)) == 1
    assert len(updates(stack)) == 1
    [message] = bot_messages(stack)
    assert not is_placeholder(message)
    assert "Fomin" in message_text(message)


async def test_rate_limits_on_both_calls_and_a_retried_event_still_post_once(
    stack: SlackStack,
) -> None:
    stack.api.rate_limit("chat.postMessage", times=2, retry_after=1)
    body = event_body(message_event(f"<{stack.article_url()}>"))
    assert (await stack.post_event(body))[0] == 200
    # Slack, not seeing the work yet, redelivers the event while the bot is waiting.
    assert (await stack.post_event(body, retry_num=1))[0] == 200
    await stack.api.wait_for(lambda: len(posts(stack)) == 1, timeout=20)
    stack.api.rate_limit("chat.update", times=1, retry_after=1)
    await stack.api.wait_for(lambda: len(updates(stack)) == 1, timeout=20)
    await stack.drain()

    assert len(refused(stack, "chat.postMessage")) == 2
    assert len(posts(stack)) == 1
    assert len(updates(stack)) == 1
    [message] = bot_messages(stack)
    assert "Fomin" in message_text(message)
