"""Tests for bot.store on real databases: a SQLite file per test, and PostgreSQL
too when ``LINKBRIEF_TEST_PG_URL`` is set (e.g.
``postgresql+asyncpg://postgres@127.0.0.1:5432/linkbrief_test``; its tables are
dropped before each test).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, func, inspect, select, text, update

from bot.pipeline.models import Brief, BriefStats, Claim
from bot.store import ChannelSettings, Store
from bot.store.tables import Base, BriefRow, ClaimRow, PendingRow
from tests.pg_support import DB_PARAMS, PG_URL, reset_postgres

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(params=DB_PARAMS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        await reset_postgres(PG_URL)
        return PG_URL
    # A directory that does not exist yet: the store must create it.
    return f"sqlite+aiosqlite:///{tmp_path / 'state' / 'nested' / 'linkbrief.db'}"


def make_brief(url: str = "https://example.org/post", summary: str = "One.") -> Brief:
    return Brief(
        url=url + "?utm_source=x",
        canonical_url=url,
        title="ISW on the talks",
        site="example.org",
        author="A. Blogger",
        published="2024-03-01",
        language="en",
        mode="llm",
        summary=summary,
        claims=[
            Claim(
                claim="Russia is not negotiating in good faith.",
                speaker="ISW",
                source="ISW [1]",
                quote="Russia is not interested in good-faith negotiations",
                kind="assessment",
                verified=True,
            ),
            Claim(
                claim="Talks will resume in spring.",
                speaker="Medinsky",
                source="ISW [2]",
                quote="talks will resume “in spring” — maybe",
                kind="claim",
                verified=False,
                reason="quote not found in the article",
            ),
        ],
        stats=BriefStats(article_words=812, reduced_by_pct=41, prompt_tokens=1500),
        warnings=["comments removed"],
    )


# --- migrations -------------------------------------------------------------


def _schema_diff(conn: Connection) -> list[object]:
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(ctx, Base.metadata))


def _table_names(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def test_migrations_create_exactly_the_models_and_are_idempotent(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No alembic.ini where we stand: the store must find its own migrations.
    monkeypatch.chdir(tmp_path)
    first = await Store.open(db_url)
    await first.put_brief(make_brief())
    await first.close()

    again = await Store.open(db_url)  # second run: nothing to do, nothing lost
    try:
        async with again.engine.connect() as conn:
            assert await conn.run_sync(_schema_diff) == []
            names = await conn.run_sync(_table_names)
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert names == {*Base.metadata.tables, "alembic_version"}
        assert version == [("0004_issue19_language",)]  # the head revision
        assert await again.get_brief("https://example.org/post", 60) is not None
    finally:
        await again.close()


async def test_concurrent_opens_on_a_fresh_database_all_succeed(db_url: str) -> None:
    stores = await asyncio.gather(*(Store.open(db_url) for _ in range(4)))
    try:
        assert [await s.claim_once("k") for s in stores].count(True) == 1
    finally:
        for s in stores:
            await s.close()


async def test_sqlite_file_is_created_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "bot.db"
    s = await Store.open(f"sqlite+aiosqlite:///{path}")
    try:
        async with s.engine.connect() as conn:
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one()
            timeout = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one()
        assert path.is_file()
        assert mode == "wal"
        assert timeout >= 1000
    finally:
        await s.close()


async def test_in_memory_sqlite_works_within_one_store() -> None:
    s = await Store.open("sqlite+aiosqlite://")
    try:
        assert await asyncio.gather(*(s.claim_once("k") for _ in range(5))) == [True] + [False] * 4
        await s.put_brief(make_brief())
        assert await s.get_brief("https://example.org/post", float("inf")) == make_brief()
    finally:
        await s.close()


async def test_unsupported_database_url_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported DATABASE_URL"):
        await Store.open("mysql+aiomysql://u@localhost/db")


# --- brief cache --------------------------------------------------------------


async def test_brief_round_trip_keeps_every_field(store: Store) -> None:
    brief = make_brief()
    assert await store.get_brief(brief.canonical_url, 3600) is None
    await store.put_brief(brief)
    got = await store.get_brief(brief.canonical_url, 3600)
    assert got == brief
    assert got is not None and got.claims[1].quote == "talks will resume “in spring” — maybe"
    assert await store.get_brief("https://example.org/other", 3600) is None


async def test_brief_expires_by_age_and_purge_drops_old_ones(store: Store) -> None:
    old, fresh = make_brief("https://example.org/old"), make_brief("https://example.org/new")
    await store.put_brief(old)
    await store.put_brief(fresh)
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    async with store.engine.begin() as conn:
        await conn.execute(
            update(BriefRow)
            .where(BriefRow.canonical_url == old.canonical_url)
            .values(created_at=two_hours_ago)
        )
        stamped = (
            await conn.execute(
                select(BriefRow.created_at).where(BriefRow.canonical_url == old.canonical_url)
            )
        ).scalar_one()
    assert stamped == two_hours_ago and stamped.tzinfo is not None

    assert await store.get_brief(old.canonical_url, 3600) is None
    assert await store.get_brief(old.canonical_url, 3 * 3600) == old
    assert await store.get_brief(fresh.canonical_url, 3600) == fresh

    assert await store.purge_briefs(older_than_s=3600) == 1
    assert await store.get_brief(old.canonical_url, 3 * 3600) is None
    assert await store.get_brief(fresh.canonical_url, 3600) == fresh
    assert await store.purge_briefs(older_than_s=3600) == 0


async def test_put_brief_replaces_and_restamps(store: Store) -> None:
    url = "https://example.org/post"
    await store.put_brief(make_brief(url, summary="First take."))
    async with store.engine.begin() as conn:
        await conn.execute(
            update(BriefRow).values(created_at=datetime.now(UTC) - timedelta(days=1))
        )
    await store.put_brief(make_brief(url, summary="Second take."))
    got = await store.get_brief(url, 60)
    assert got is not None and got.summary == "Second take."
    async with store.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(BriefRow))).scalar() == 1


async def test_unreadable_cached_brief_is_a_miss(store: Store) -> None:
    await store.put_brief(make_brief())
    async with store.engine.begin() as conn:
        await conn.execute(update(BriefRow).values(data={"not": "a brief"}))
    assert await store.get_brief("https://example.org/post", 60) is None


# --- exactly-once claims ------------------------------------------------------


async def test_claim_once_fifty_concurrent_callers_one_winner(store: Store) -> None:
    results = await asyncio.gather(*(store.claim_once("slack:event:Ev123") for _ in range(50)))
    assert results.count(True) == 1
    assert await store.claim_once("slack:event:Ev123") is False
    assert await store.claim_once("slack:event:Ev124") is True


async def test_claim_once_across_two_engines(db_url: str) -> None:
    a, b = await Store.open(db_url), await Store.open(db_url)
    try:
        keys = [f"slack:msg:C1:1700.{i}:https://x/" for i in range(20)]
        calls = [s.claim_once(k) for k in keys for s in (a, b, a, b)]
        results = await asyncio.gather(*calls)
        per_key = [results[i * 4 : i * 4 + 4].count(True) for i in range(len(keys))]
        assert per_key == [1] * len(keys)
    finally:
        await a.close()
        await b.close()


CHILD = """
import asyncio, json, sys
from bot.store import Store

async def main(url, keys):
    store = await Store.open(url)
    print("ready", flush=True)
    sys.stdin.readline()  # wait for "go", so both processes race
    won = await asyncio.gather(*(store.claim_once(k) for k in keys))
    await store.close()
    print(json.dumps([k for k, w in zip(keys, won) if w]), flush=True)

asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
"""


async def test_claim_once_across_processes(db_url: str) -> None:
    keys = [f"discord:msg:{i}:https://example.org/{i}" for i in range(60)]
    mine = await Store.open(db_url)  # migrated before the child starts
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        db_url,
        json.dumps(keys),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert child.stdin is not None and child.stdout is not None
        assert (await asyncio.wait_for(child.stdout.readline(), 60)).strip() == b"ready"
        child.stdin.write(b"go\n")
        await child.stdin.drain()
        won = await asyncio.gather(*(mine.claim_once(k) for k in keys))
        out, _ = await asyncio.wait_for(child.communicate(), 60)
        assert child.returncode == 0
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        await mine.close()
    child_won = set(json.loads(out))
    mine_won = {k for k, w in zip(keys, won, strict=True) if w}
    assert mine_won.isdisjoint(child_won)
    assert mine_won | child_won == set(keys)


async def test_release_lets_the_key_be_claimed_again(store: Store) -> None:
    key = "slack:msg:C1:1700.1:https://x/"
    assert await store.claim_once(key)
    assert not await store.claim_once(key)
    await store.release(key)
    assert await store.claim_once(key)
    assert not await store.claim_once(key)
    await store.release("never-claimed")  # harmless


async def test_accept_many_adds_items_and_claims_only_for_new_ones(store: Store) -> None:
    held_elsewhere = "slack:msg:C1:1.1:https://b/"
    assert await store.claim_once(held_elsewhere, ttl_s=30)
    answers = await store.accept_many(
        [
            ("event:1", {"jobs": 2}, ["slack:msg:C1:1.1:https://a/", held_elsewhere]),
            ("event:2", {"jobs": 0}, []),
            ("event:1", {"jobs": 9}, ["slack:msg:C1:1.1:https://c/"]),  # same key, same batch
        ],
        claim_ttl_s=30,
    )
    assert answers == [(True, [True, False]), (True, []), (False, [])]
    # A redelivery claims nothing, and the first payload stands.
    assert await store.accept_many([("event:1", {"jobs": 5}, ["x"])], 30) == [(False, [])]
    assert await store.get_pending("event:1") == ({"jobs": 2}, False)
    assert await store.claim_once("x")  # untouched by the refused accept
    # The won claim is a lease: taken now, free again once released.
    assert not await store.claim_once("slack:msg:C1:1.1:https://a/")
    await store.release("slack:msg:C1:1.1:https://a/")
    assert await store.claim_once("slack:msg:C1:1.1:https://a/")


async def test_expired_claims_are_purged_and_can_be_taken_over(store: Store) -> None:
    assert await store.claim_once("short", ttl_s=0)
    assert await store.claim_once("long")
    assert await store.purge_claims() == 1
    async with store.engine.connect() as conn:
        left = (await conn.execute(select(ClaimRow.key))).scalars().all()
    assert left == ["long"]
    assert not await store.claim_once("long")

    assert await store.claim_once("lapsed", ttl_s=0)
    assert await store.claim_once("lapsed")  # expired: a new claim wins, for a week
    assert not await store.claim_once("lapsed")


async def test_keys_may_be_long_urls(store: Store) -> None:
    key = "slack:msg:C1:1700.1:https://example.org/?" + "q=" + "x" * 6000
    assert await store.claim_once(key)
    assert not await store.claim_once(key)
    assert await store.claim_once(key[:-1] + "y")  # a different key is free
    long_url = "https://example.org/?q=" + "x" * 6000
    await store.put_brief(make_brief(long_url))
    assert await store.get_brief(long_url, 60) == make_brief(long_url)


# --- pending work ---------------------------------------------------------------


async def test_pending_work_survives_reopen_until_finished(db_url: str) -> None:
    s = await Store.open(db_url)
    assert await s.add_pending("slack:event:Ev1", {"channel": "C1", "urls": ["https://x/"]})
    assert await s.add_pending("slack:event:Ev2", {"channel": "C2", "urls": []})
    assert not await s.add_pending("slack:event:Ev1", {"channel": "other"})
    await s.close()

    s = await Store.open(db_url)
    try:
        assert await s.pending() == [
            ("slack:event:Ev1", {"channel": "C1", "urls": ["https://x/"]}),
            ("slack:event:Ev2", {"channel": "C2", "urls": []}),
        ]
        assert len(await s.pending(limit=1)) == 1
        await s.finish_pending("slack:event:Ev1")
        assert await s.pending() == [("slack:event:Ev2", {"channel": "C2", "urls": []})]
        # Done work is remembered: a redelivered event is not queued twice.
        assert not await s.add_pending("slack:event:Ev1", {"channel": "C1"})
    finally:
        await s.close()


async def test_finished_work_is_forgotten_after_purge(store: Store) -> None:
    await store.add_pending("a", {"n": 1})
    await store.add_pending("b", {"n": 2})
    await store.finish_pending("a")
    assert await store.purge_pending(older_than_s=3600) == 0
    async with store.engine.begin() as conn:
        await conn.execute(
            update(PendingRow)
            .where(PendingRow.key == "a")
            .values(finished_at=datetime.now(UTC) - timedelta(hours=2))
        )
    assert await store.purge_pending(older_than_s=3600) == 1
    assert await store.pending() == [("b", {"n": 2})]
    assert await store.add_pending("a", {"n": 3})


# --- channel settings -------------------------------------------------------------


async def test_channel_settings_default_set_and_survive_reopen(db_url: str) -> None:
    s = await Store.open(db_url)
    assert await s.get_channel("slack", "C1") == ChannelSettings("slack", "C1", auto=True)
    await s.set_channel_auto("slack", "C1", False)
    assert await s.get_channel("slack", "C1") == ChannelSettings("slack", "C1", auto=False)
    assert (await s.get_channel("discord", "C1")).auto is True
    await s.close()

    s = await Store.open(db_url)
    try:
        assert (await s.get_channel("slack", "C1")).auto is False
        await s.set_channel_auto("slack", "C1", True)
        assert (await s.get_channel("slack", "C1")).auto is True
    finally:
        await s.close()


# --- counters -----------------------------------------------------------------------


async def test_counters_increment_atomically(db_url: str) -> None:
    a, b = await Store.open(db_url), await Store.open(db_url)
    window = datetime(2024, 3, 1, tzinfo=UTC)
    try:
        totals = await asyncio.gather(
            *(s.incr_counter("llm:calls", window) for _ in range(25) for s in (a, b))
        )
        assert sorted(totals) == list(range(1, 51))
        assert await a.incr_counter("llm:calls", window, amount=5) == 55
        # Another window, and the same instant written in another zone, are separate / equal.
        assert await a.incr_counter("llm:calls", window + timedelta(hours=1)) == 1
        same_instant = window.astimezone(datetime.fromisoformat("2024-01-01T00:00+02:00").tzinfo)
        assert await b.incr_counter("llm:calls", same_instant) == 56
        assert await a.purge_counters(before=window + timedelta(minutes=1)) == 1
        assert await a.incr_counter("llm:calls", window) == 1
        with pytest.raises(ValueError, match="timezone-aware"):
            await a.incr_counter("llm:calls", datetime(2024, 3, 1))
    finally:
        await a.close()
        await b.close()


async def test_reads_run_on_the_event_loop_and_a_busy_one_goes_to_a_thread(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import sqlite3
    import threading

    from sqlalchemy.exc import OperationalError

    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'linkbrief.db'}")
    threads: list[str] = []

    def read(conn: Connection) -> int:
        threads.append(threading.current_thread().name)
        if threading.current_thread() is threading.main_thread() and len(threads) > 1:
            # What SQLite answers a reader in the rare case it cannot read now
            # (crash recovery, a connection in exclusive locking mode elsewhere).
            raise OperationalError("SELECT", {}, sqlite3.OperationalError("database is locked"))
        return int(conn.execute(text("SELECT 42")).scalar_one())

    try:
        assert await store.read(read) == 42  # on the loop: no thread hop
        assert await store.read(read) == 42  # busy on the loop: answered by a reader thread
        assert threads[0] == threads[1] == threading.main_thread().name
        assert threads[2].startswith("store-read")
        assert "database locked" not in caplog.text  # no retry with backoff was needed

        def broken(conn: Connection) -> int:
            raise OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))

        with pytest.raises(OperationalError):  # a real error is not retried elsewhere
            await store.read(broken)
    finally:
        await store.close()
