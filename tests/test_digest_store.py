"""The digest tables and SQL on real databases: schema, shares, feeds, and the run ledger."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from bot.store import Store
from bot.store.digests import DigestStore, NewItem, record_shared_link
from bot.store.tables import Base
from tests.digest_support import WED

DIGEST_TABLES = {
    "digest_channels",
    "digest_feeds",
    "digest_follows",
    "digest_items",
    "digest_shares",
    "digest_runs",
    "channel_languages",
}


def _diff(conn: Connection) -> list[object]:
    ctx = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(ctx, Base.metadata))


async def test_migrations_create_exactly_the_digest_models(store: Store) -> None:
    async with store.engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert names >= DIGEST_TABLES
    assert set(Base.metadata.tables) >= DIGEST_TABLES
    assert version == "0004_issue19_language"  # 0003 (issue 18), then 0004 (issue 19)


async def test_shared_links_keep_the_latest_time_and_count(store: Store) -> None:
    d = DigestStore(store)
    url = "https://example.org/story?utm_source=x"
    await record_shared_link(store, "slack", "C1", url, WED - timedelta(hours=3))
    await record_shared_link(store, "slack", "C1", "https://example.org/story", WED)
    await record_shared_link(store, "slack", "C1", url, WED - timedelta(hours=5))  # late arrival
    await record_shared_link(store, "discord", "9", url, WED)
    got = await d.shares_for_channel("slack", "C1", since=WED - timedelta(days=1), until=WED)
    assert [(s.canonical_url, s.shared_at, s.times) for s in got] == [
        ("https://example.org/story", WED, 3)
    ]
    assert (
        await d.shares_for_channel("slack", "C1", since=WED, until=WED + timedelta(hours=1)) == []
    )


async def test_items_are_stored_once_and_only_followed_feeds_count(store: Store) -> None:
    d = DigestStore(store)
    feed = await d.upsert_feed("https://a.example/feed", title="A", site_url="", now=WED)
    other = await d.upsert_feed("https://b.example/feed", title="B", site_url="", now=WED)
    await d.ensure_channel(
        "slack", "C1", delivery_time="09:00", timezone="UTC", max_entries=10, now=WED
    )
    assert await d.follow("slack", "C1", feed, "https://a.example/", WED)
    assert not await d.follow("slack", "C1", feed, "https://a.example/", WED)
    batch = [NewItem(f"id{i}", f"https://a.example/{i}", f"T{i}", "", None) for i in range(3)]
    assert await d.add_items(feed, batch, WED) == 3
    assert await d.add_items(feed, batch, WED + timedelta(hours=1)) == 0  # seen before
    await d.add_items(other, [NewItem("x", "https://b.example/x", "X", "", None)], WED)
    got = await d.items_for_channel(
        "slack",
        "C1",
        since=WED - timedelta(hours=1),
        until=WED,
        published_after=WED - timedelta(days=2),
    )
    assert sorted(i.title for i in got) == ["T0", "T1", "T2"]
    assert {i.feed_title for i in got} == {"A"}
    assert [f.feed_url for f in await d.due_feeds(WED)] == ["https://a.example/feed"]
    assert await d.unfollow("slack", "C1", "https://a.example/")
    assert await d.due_feeds(WED) == []


async def test_a_run_is_claimed_once_and_taken_over_only_after_its_lease(store: Store) -> None:
    d = DigestStore(store)
    key = ("slack", "C1", "2026-11-25")
    first = await d.claim_run(*key, due_at=WED, owner="a", lease_s=60, now=WED)
    assert first is not None and first.state == "building" and first.payload is None
    assert await d.claim_run(*key, due_at=WED, owner="b", lease_s=60, now=WED) is None
    assert await d.save_built(first, "a", {"x": 1}, since=WED, until=WED, now=WED, lease_s=60)
    later = WED + timedelta(seconds=61)
    # "a" stalled: its lease ran out, so "b" takes the run over with the built payload.
    taken = await d.claim_run(*key, due_at=WED, owner="b", lease_s=60, now=later)
    assert taken is not None and taken.state == "built" and taken.payload == {"x": 1}
    assert taken.attempts == 2
    # The fence: "a" can no longer move the run on.
    assert not await d.begin_posting(first, "a", now=later, lease_s=60)
    assert await d.begin_posting(taken, "b", now=later, lease_s=60)
    assert await d.mark_posted(taken, "b", "m1", now=later)
    much_later = later + timedelta(days=3)
    assert await d.claim_run(*key, due_at=WED, owner="c", lease_s=60, now=much_later) is None
    assert await d.last_posted_until("slack", "C1") == WED
    assert not await d.record_skipped(*key, due_at=WED, now=much_later)
    runs = await d.runs("slack", "C1")
    assert [(r.state, r.owner, r.message_id) for r in runs] == [("posted", "b", "m1")]


async def test_concurrent_claims_from_two_engines_have_one_winner(db_url: str) -> None:
    a, b = await Store.open(db_url), await Store.open(db_url)
    try:
        da, db = DigestStore(a), DigestStore(b)
        days = [f"2026-11-{d:02d}" for d in range(1, 21)]
        calls = [
            s.claim_run("slack", "C1", day, due_at=WED, owner=name, lease_s=60, now=WED)
            for day in days
            for s, name in ((da, "a"), (db, "b"), (da, "a2"), (db, "b2"))
        ]
        results = await asyncio.gather(*calls)
        per_day = [sum(r is not None for r in results[i * 4 : i * 4 + 4]) for i in range(20)]
        assert per_day == [1] * 20
    finally:
        await a.close()
        await b.close()


async def test_a_channel_language_is_set_replaced_and_cleared(store: Store) -> None:
    d = DigestStore(store)
    assert await d.channel_language("slack", "C1") is None
    await d.set_channel_language("slack", "C1", "de", WED)
    await d.set_channel_language("slack", "C1", "fr", WED + timedelta(minutes=1))
    await d.set_channel_language("discord", "C1", "ru", WED)
    assert await d.channel_language("slack", "C1") == "fr"
    assert await d.channel_language("discord", "C1") == "ru"
    assert await d.get_channel("slack", "C1") is None  # no digest subscription needed
    await d.set_channel_language("slack", "C1", None, WED)
    assert await d.channel_language("slack", "C1") is None
    assert await d.channel_language("discord", "C1") == "ru"
