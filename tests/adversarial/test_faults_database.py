"""The database misbehaves under a running Slack front end; nothing is lost, nothing doubled.

* SQLite locked: another connection holds an exclusive write lock for longer than
  the bot's ``busy_timeout``; the store retries with backoff (``bot.store.retry``)
  and the link is briefed once the lock is released.
* PostgreSQL briefly unavailable (``LINKBRIEF_TEST_PG_URL`` set, else skipped): every
  connection of the bot is killed (``pg_terminate_backend``) with a brief in flight;
  ``pool_pre_ping`` and the retry carry the run through, and the next event works.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from tests.discord_helpers import wait_until
from tests.fault_support import bot_messages, is_placeholder, message_text, posts, updates
from tests.pg_support import PG_URL, reset_postgres
from tests.servers.chat_server import Reply, brief_from_article
from tests.slack_helpers import SlackStack, event_body, message_event

BUSY_TIMEOUT_MS = 300  # the bot's busy_timeout in these tests: the lock outlasts it
LOCK_HELD_S = 1.5


def hold_exclusive_lock(path: Path, seconds: float, taken: threading.Event) -> None:
    """What a backup tool or an operator's shell does: take the write lock and sit on it."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        taken.set()
        threading.Event().wait(seconds)
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def assert_briefed_once(stack: SlackStack, links: int = 1) -> None:
    messages = bot_messages(stack)
    assert len(messages) == links
    assert all(not is_placeholder(m) and "Fomin" in message_text(m) for m in messages)
    assert len(posts(stack)) == links
    assert len(updates(stack)) == links


async def test_a_locked_sqlite_file_delays_the_brief_but_it_is_posted_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("bot.store.db.SQLITE_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS)
    caplog.set_level(logging.WARNING, logger="bot.store.retry")
    async with SlackStack(tmp_path) as stack:
        taken = threading.Event()
        locker = threading.Thread(
            target=hold_exclusive_lock, args=(tmp_path / "linkbrief.db", LOCK_HELD_S, taken)
        )
        locker.start()
        try:
            await asyncio.to_thread(taken.wait, 5)
            body = event_body(message_event(f"<{stack.article_url()}>"))
            # Acknowledged in time all the same: the write goes on after the ack budget.
            assert (await stack.post_event(body))[0] == 200
            assert (await stack.post_event(body, retry_num=1))[0] == 200
        finally:
            await asyncio.to_thread(locker.join)
        await stack.api.wait_for(lambda: len(updates(stack)) == 1, timeout=30)
        await stack.drain()
        assert_briefed_once(stack)
        assert stack.app is not None
        assert await stack.app.store.pending() == []
    retries = [r for r in caplog.records if "database locked" in r.getMessage()]
    assert retries, "the store never had to retry: the lock did not outlast busy_timeout"


async def _kill_other_connections(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            result = await conn.exec_driver_sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return int(result.scalar_one())
    finally:
        await engine.dispose()


@pytest.fixture
async def pg_stack(tmp_path: Path) -> AsyncIterator[SlackStack]:
    if not PG_URL:
        pytest.skip("LINKBRIEF_TEST_PG_URL not set")
    await reset_postgres(PG_URL)
    async with SlackStack(tmp_path, database_url=PG_URL, brief_cache_ttl_s=0) as running:
        yield running


async def test_postgres_connections_killed_mid_run_lose_nothing_and_double_nothing(
    pg_stack: SlackStack,
) -> None:
    stack = pg_stack
    first = event_body(message_event(f"<{stack.article_url()}>"))
    assert (await stack.post_event(first))[0] == 200
    await stack.api.wait_for(lambda: len(updates(stack)) == 1, timeout=20)
    await stack.drain()

    # A brief in flight (the model takes a moment) when every connection dies.
    stack.chat.script([lambda body: Reply(brief_from_article(body).obj, delay=1.0)])
    second = event_body(message_event(f"again <{stack.article_url()}>"))
    assert (await stack.post_event(second))[0] == 200
    await stack.api.wait_for(lambda: len(posts(stack)) == 2, timeout=20)
    await wait_until(lambda: len(stack.chat.requests) >= 2, timeout=10)
    assert await _kill_other_connections(PG_URL) >= 1
    await stack.api.wait_for(lambda: len(updates(stack)) == 2, timeout=30)
    await stack.drain()

    # And the next event after the outage goes through as usual.
    assert await _kill_other_connections(PG_URL) >= 0
    third = event_body(message_event(f"third <{stack.article_url()}>"))
    assert (await stack.post_event(third))[0] == 200
    assert (await stack.post_event(second, retry_num=1))[0] == 200
    await stack.api.wait_for(lambda: len(updates(stack)) == 3, timeout=30)
    await stack.drain()
    assert_briefed_once(stack, links=3)
    assert stack.app is not None
    assert await stack.app.store.pending() == []
