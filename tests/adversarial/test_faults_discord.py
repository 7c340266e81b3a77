"""Discord answers 429 (with ``Retry-After`` and ``Via``, as its edge does): one message
after the wait, edited once; nothing posted twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.discord_helpers import DiscordStack


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[DiscordStack]:
    async with DiscordStack(tmp_path) as running:
        yield running


async def test_a_429_on_message_create_posts_one_message_after_the_wait(
    stack: DiscordStack,
) -> None:
    fake = stack.fake
    await stack.start_bot()
    fake.fail("POST", r"/channels/\d+/messages", 429, times=2, retry_after=0.5)
    message = await stack.say(f"see {stack.article_url()}")

    [edit] = await stack.edits_in(message["id"])

    creates = fake.calls("POST", rf"/channels/{message['id']}/messages")
    assert [c.status for c in creates] == [429, 429, 200]
    [posted] = fake.messages.values()  # one placeholder, edited; no duplicate
    assert posted["embeds"] and "Fomin" in str(posted["embeds"])
    assert edit.status == 200


async def test_a_429_on_the_edit_still_edits_the_one_placeholder(stack: DiscordStack) -> None:
    fake = stack.fake
    await stack.start_bot()
    fake.fail("PATCH", r"/channels/\d+/messages/\d+", 429, times=1, retry_after=0.5)
    message = await stack.say(f"see {stack.article_url()}")

    await stack.edits_in(message["id"])

    edits = fake.calls("PATCH", rf"/channels/{message['id']}/messages/\d+")
    assert [e.status for e in edits] == [429, 200]
    assert len(fake.messages) == 1
    [posted] = fake.messages.values()
    assert "Fomin" in str(posted["embeds"])
