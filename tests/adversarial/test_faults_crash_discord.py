"""Crash in the middle of a Discord brief: the process is SIGKILLed, the next one briefs once.

The first process is a real subprocess (``tests/crash_worker.py discord``): the
real discord.py bot on the fake Discord (REST + gateway, in this process) and the
scripted model. It is killed at one of three instants: while the model hangs (the
placeholder is posted and recorded); after the thread was started but while the
placeholder's request is still unanswered (nothing posted yet); or after Discord
created the placeholder but before its answer reached the bot (posted, never
recorded). The second process is a fresh App and bot on the same SQLite file (in
this process). Asserted, as a person in the channel would see it: one thread, one
message for the link, edited with the brief; nothing pending; a replayed
MESSAGE_CREATE adds nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.store import Store
from tests.discord_helpers import DiscordStack, wait_until
from tests.fault_support import (
    SHORT_LEASE_S,
    CrashWorker,
    discord_bot_messages,
    discord_worker_settings,
)
from tests.servers.chat_server import Hang

PENDING_PREFIX = "discord:message:"
PLACEHOLDER_POST = r"/channels/\d+/messages"


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[DiscordStack]:
    # The restarted process takes a dead worker's links over after a short lease.
    async with DiscordStack(tmp_path, llm=True, lease_s=SHORT_LEASE_S) as running:
        yield running


def thread_posts(stack: DiscordStack, mid: str) -> list[Any]:
    return stack.fake.calls("POST", rf"/channels/{mid}/messages")


def thread_starts(stack: DiscordStack) -> list[Any]:
    return stack.fake.calls("POST", r"/channels/\d+/messages/\d+/threads")


async def crash_worker_during(stack: DiscordStack, instant: Any) -> dict[str, Any]:
    """Start a worker, post a link through the gateway, SIGKILL once ``instant`` holds."""
    worker = await CrashWorker("discord", discord_worker_settings(stack)).start()
    try:
        message = await stack.say(f"see {stack.article_url()}")
        await instant(message["id"])
    finally:
        assert await worker.kill() == -9
    return message


async def pending_after_restart(stack: DiscordStack) -> None:
    """Start the second process and wait until it has nothing left to do."""
    app = await stack.start_bot()

    async def done() -> bool:
        return await app.store.pending() == []

    async with asyncio.timeout(120):
        while not await done():
            await asyncio.sleep(0.05)


async def assert_briefed_once(stack: DiscordStack, mid: str, placeholder_id: str | None) -> None:
    fake = stack.fake
    [message] = discord_bot_messages(stack, mid)  # the thread takes the message's id
    if placeholder_id is not None:
        assert message["id"] == placeholder_id  # the same message, edited: no second one
    assert not (message["content"] or "").startswith("Reading ")
    assert "Fomin" in str(message["embeds"]) or "ISW" in str(message["embeds"])
    [edit] = [e for e in fake.calls("PATCH", rf"/channels/{mid}/messages/\d+")]
    assert edit.path.endswith(f"/{message['id']}") and edit.status == 200
    assert len(thread_starts(stack)) == 1
    assert not discord_bot_messages(stack, fake.p.channel_id)  # nothing in the channel itself
    assert len(fake.messages) == 1


async def assert_replay_adds_nothing(
    stack: DiscordStack, message: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    requests_before = len(stack.fake.requests)
    await stack.fake.dispatch("MESSAGE_CREATE", message)
    needle = f"message {message['id']} skipped: its links were already briefed"
    await wait_until(lambda: any(needle in r.getMessage() for r in caplog.records))
    assert len(stack.fake.requests) == requests_before  # not one request more
    assert len(stack.fake.messages) == 1


async def test_killed_mid_brief_the_restart_edits_the_recorded_placeholder(
    stack: DiscordStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.adapters.discord")
    assert stack.chat is not None
    stack.chat.script([Hang(120)])
    fake = stack.fake

    async def model_is_asked(mid: str) -> None:
        await fake.wait_for(lambda: [p for p in thread_posts(stack, mid) if p.status == 200], 60)
        await wait_until(lambda: len(stack.chat.requests) == 1, timeout=60)  # type: ignore[union-attr]

    message = await crash_worker_during(stack, model_is_asked)
    mid = message["id"]
    [placeholder] = discord_bot_messages(stack, mid)
    assert placeholder["content"].startswith("Reading ")

    await pending_after_restart(stack)

    await assert_briefed_once(stack, mid, placeholder["id"])
    assert len(thread_posts(stack, mid)) == 1
    # The recorded placeholder was fetched and edited; the thread was never searched.
    assert fake.calls("GET", rf"/channels/{mid}/messages/{placeholder['id']}")
    assert not fake.calls("GET", rf"/channels/{mid}/messages")
    await assert_replay_adds_nothing(stack, message, caplog)


@pytest.mark.parametrize("thread_recorded", [True, False])
async def test_killed_after_the_thread_before_the_placeholder_posts_once_in_that_thread(
    stack: DiscordStack, caplog: pytest.LogCaptureFixture, thread_recorded: bool
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.adapters.discord")
    fake = stack.fake
    fake.hold("POST", PLACEHOLDER_POST, after_effect=False)  # the placeholder never lands

    async def placeholder_requested(mid: str) -> None:
        await fake.wait_for(lambda: fake.held, 60)

    message = await crash_worker_during(stack, placeholder_requested)
    mid = message["id"]
    assert len(thread_starts(stack)) == 1 and not fake.messages
    key = PENDING_PREFIX + mid
    store = await Store.open(stack.settings().database_url)
    try:
        saved = await store.get_pending(key)
        assert saved is not None and not saved[1]
        place = saved[0]["place"]
        assert place["thread_id"] == int(mid)  # saved before the placeholder was asked for
        if not thread_recorded:  # as if killed between the thread's answer and saving it
            await store.put_pending(key, saved[0] | {"place": place | {"thread_id": None}})
    finally:
        await store.close()

    await pending_after_restart(stack)

    await assert_briefed_once(stack, mid, None)
    assert [p.status for p in thread_posts(stack, mid)] == [0, 200]  # the held one, then ours
    if not thread_recorded:
        assert fake.calls("GET", rf"/channels/{mid}")  # found the thread by the message's id
    await assert_replay_adds_nothing(stack, message, caplog)


async def test_killed_after_discord_posted_but_before_the_bot_heard_the_placeholder_is_found(
    stack: DiscordStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.adapters.discord")
    fake = stack.fake
    fake.hold("POST", PLACEHOLDER_POST, after_effect=True)  # created; the answer never comes

    async def placeholder_created(mid: str) -> None:
        await fake.wait_for(lambda: fake.held and fake.messages, 60)

    message = await crash_worker_during(stack, placeholder_created)
    mid = message["id"]
    [placeholder] = discord_bot_messages(stack, mid)

    await pending_after_restart(stack)

    await assert_briefed_once(stack, mid, placeholder["id"])
    assert len(thread_posts(stack, mid)) == 1  # the held one only: found, not posted again
    [search] = fake.calls("GET", rf"/channels/{mid}/messages")
    assert search.query.get("after") == mid
    await assert_replay_adds_nothing(stack, message, caplog)
