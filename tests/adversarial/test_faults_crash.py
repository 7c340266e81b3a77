"""Crash in the middle of a brief: the process is SIGKILLed, a new one finishes the link once.

The first process is a real subprocess (``tests/crash_worker.py``) on the test's
fakes; the model hangs, so the brief is in flight when the test kills it, right
after the placeholder is visible in the fake Slack. The second process is a
fresh App and front end on the same SQLite file (in this process). Asserted:
exactly one message for the link, updated with the brief; nothing pending.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from bot.adapters.slack.surface import message_key
from bot.store import Store
from bot.store.leases import progress_key
from bot.store.tables import PendingRow, digest
from tests.discord_helpers import wait_until
from tests.fault_support import (
    CrashWorker,
    bot_messages,
    is_placeholder,
    message_text,
    posts,
    restart_slack,
    slack_worker_settings,
    updates,
)
from tests.servers.chat_server import Hang
from tests.slack_helpers import SlackStack, event_body, message_event, signed_headers

CHANNEL = "C0001"


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[SlackStack]:
    async with SlackStack(tmp_path) as running:
        await running.stop_bot()  # the first process is the worker
        yield running


async def crash_mid_brief(stack: SlackStack) -> tuple[dict, str]:
    """Post a link to a worker whose model hangs; SIGKILL it once the brief is in flight."""
    stack.chat.script([Hang(120)])
    worker = await CrashWorker("slack", slack_worker_settings(stack)).start()
    try:
        event = message_event(f"see <{stack.article_url()}>", channel=CHANNEL)
        stack.api.add_message(CHANNEL, event["text"], user="U0001", ts=event["ts"])
        body = event_body(event)
        raw = json.dumps(body)
        assert stack.http is not None
        url = f"http://127.0.0.1:{worker.port}/slack/events"
        headers = signed_headers(raw, {"Content-Type": "application/json"})
        async with stack.http.post(url, data=raw.encode(), headers=headers) as resp:
            assert resp.status == 200
        # The placeholder is out and the model is being asked: the brief is mid-flight.
        await stack.api.wait_for(lambda: len(posts(stack)) == 1)
        await wait_until(lambda: len(stack.chat.requests) == 1, timeout=15)
    finally:
        assert await worker.kill() == -9
    [placeholder] = bot_messages(stack)
    assert is_placeholder(placeholder)
    return body, placeholder["ts"]


async def assert_briefed_once(stack: SlackStack, placeholder_ts: str) -> None:
    [message] = bot_messages(stack)
    assert message["ts"] == placeholder_ts  # the same message, updated: no second reply
    assert not is_placeholder(message)
    assert "Fomin" in message_text(message) or "ISW" in message_text(message)
    assert len(posts(stack)) == 1
    assert [u.params["ts"] for u in updates(stack)] == [placeholder_ts]
    assert stack.app is not None
    assert await stack.app.store.pending() == []


async def test_killed_mid_brief_the_restart_updates_the_recorded_placeholder(
    stack: SlackStack,
) -> None:
    body, placeholder_ts = await crash_mid_brief(stack)
    await restart_slack(stack)
    await stack.api.wait_for(lambda: len(updates(stack)) == 1, timeout=30)
    await stack.drain()
    await assert_briefed_once(stack, placeholder_ts)
    # Slack retries the event the dead process had acknowledged: still nothing more.
    assert (await stack.post_event(body, retry_num=1))[0] == 200
    await restart_slack(stack)
    await stack.drain()
    await assert_briefed_once(stack, placeholder_ts)


async def test_killed_between_posting_and_recording_the_placeholder_is_found_in_the_thread(
    stack: SlackStack,
) -> None:
    body, placeholder_ts = await crash_mid_brief(stack)
    # The state a process leaves when it dies after chat.postMessage returned but
    # before it recorded the placeholder's ts: the link's progress is missing.
    link_key = message_key(CHANNEL, body["event"]["ts"], stack.article_url())
    store = await Store.open(stack.settings().database_url)
    try:
        async with store.engine.begin() as conn:
            await conn.execute(
                delete(PendingRow).where(PendingRow.key_hash == digest(progress_key(link_key)))
            )
    finally:
        await store.close()
    await restart_slack(stack)
    await stack.api.wait_for(lambda: len(updates(stack)) == 1, timeout=30)
    await stack.drain()
    assert stack.api.calls_to("conversations.replies")  # it looked before posting
    await assert_briefed_once(stack, placeholder_ts)
