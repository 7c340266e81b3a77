"""The model server fails under a real Slack front end: the reply is the extractive brief,
with the "model unavailable" warning, posted once (one placeholder, one update).

Faults: the connection dropped without an answer, a 500, and an answer that never
comes within ``LLM_TIMEOUT_S``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fault_support import bot_messages, is_placeholder, message_text, posts, updates
from tests.servers.chat_server import Drop, Hang, Responder, Status
from tests.slack_helpers import SlackStack, event_body, message_event

MODEL_TIMEOUT_S = 2.0


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[SlackStack]:
    async with SlackStack(tmp_path, llm_timeout_s=MODEL_TIMEOUT_S) as running:
        yield running


@pytest.mark.parametrize(
    "failure", [Drop(), Status(500), Hang(60)], ids=["dropped", "http-500", "hang"]
)
async def test_a_failing_model_gets_the_extractive_brief_with_a_warning_once(
    stack: SlackStack, failure: Responder
) -> None:
    stack.chat.script([failure] * 5)  # every attempt fails, retries included
    body = event_body(message_event(f"<{stack.article_url()}>"))
    assert (await stack.post_event(body))[0] == 200
    await stack.api.wait_for(lambda: len(updates(stack)) == 1, timeout=30)
    await stack.drain()

    assert len(stack.chat.requests) >= 1  # the model was really asked
    [message] = bot_messages(stack)
    assert not is_placeholder(message)
    text = message_text(message)
    assert "model" in text.lower() and "unavailable" in text.lower()  # the warning
    assert "Fomin" in text  # an extractive brief of the article, not an error
    assert len(posts(stack)) == 1
    assert len(updates(stack)) == 1
    assert stack.app is not None
    assert await stack.app.store.pending() == []
