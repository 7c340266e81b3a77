"""The digest's content SQL: feed items and links shared in channels.

``DigestStore`` (``bot/store/digests.py``) inherits it, as it inherits the run
ledger; split out only to keep each module about one thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.pipeline.urls import canonical_url
from bot.store.db import insert_for
from bot.store.digest_tables import (
    DigestFeedRow,
    DigestFollowRow,
    DigestItemRow,
    DigestShareRow,
)
from bot.store.statements import bind
from bot.store.tables import digest

if TYPE_CHECKING:
    from bot.store.store import Store


@dataclass(frozen=True, slots=True)
class NewItem:
    """What a poll hands to ``add_items``."""

    key: str  # guid/id, or the link when the feed has none
    url: str
    title: str
    summary: str
    published: datetime | None


@dataclass(frozen=True, slots=True)
class StoredItem:
    url: str
    canonical_url: str
    title: str
    summary: str
    published: datetime | None
    first_seen_at: datetime
    feed_title: str
    feed_url: str


@dataclass(frozen=True, slots=True)
class SharedLink:
    url: str
    canonical_url: str
    shared_at: datetime
    times: int


class DigestContentLedger:
    """Items and shares; ``DigestStore`` inherits it."""

    _engine: AsyncEngine
    _store: Store

    async def add_items(self, feed_hash: str, items: Sequence[NewItem], now: datetime) -> int:
        """Store items not seen before; returns how many were new."""
        rows = []
        seen: set[str] = set()
        for item in items:
            key = digest(f"{feed_hash}\n{item.key}")
            if key in seen:
                continue
            seen.add(key)
            try:
                canonical = canonical_url(item.url)
            except Exception:  # a feed may carry a malformed link; keep it as written
                canonical = item.url
            rows.append(
                {
                    "item_hash": key,
                    "feed_hash": feed_hash,
                    "url": item.url,
                    "canonical_url": canonical,
                    "title": item.title,
                    "summary": item.summary,
                    "published": item.published,
                    "first_seen_at": now,
                }
            )
        if not rows:
            return 0
        # One statement, a write from its first step: no read-then-write upgrade, which
        # SQLite's WAL refuses outright (no busy wait) when another writer got in between.
        # Another process storing the same items at the same moment is harmless.
        async with self._engine.begin() as conn:
            stmt = (
                insert_for(conn, DigestItemRow)
                .on_conflict_do_nothing()
                .returning(DigestItemRow.item_hash, sort_by_parameter_order=True)
            )
            inserted = (await conn.execute(stmt, rows)).all()
        return len(inserted)

    async def items_for_channel(
        self,
        platform: str,
        channel_id: str,
        *,
        since: datetime,
        until: datetime,
        published_after: datetime,
        limit: int = 2000,
    ) -> list[StoredItem]:
        """Items first seen in (since, until] from feeds the channel follows.

        ``published_after`` keeps a new feed's archive out: its items are all
        "first seen" on the first poll, but most were published long ago.
        """
        query = (
            select(DigestItemRow, DigestFeedRow.title.label("feed_title"), DigestFeedRow.feed_url)
            .join(DigestFeedRow, DigestFeedRow.feed_hash == DigestItemRow.feed_hash)
            .join(DigestFollowRow, DigestFollowRow.feed_hash == DigestItemRow.feed_hash)
            .where(
                DigestFollowRow.platform == platform,
                DigestFollowRow.channel_id == channel_id,
                DigestItemRow.first_seen_at > since,
                DigestItemRow.first_seen_at <= until,
                or_(
                    DigestItemRow.published.is_(None),
                    DigestItemRow.published > published_after,
                ),
            )
            .order_by(DigestItemRow.first_seen_at.desc(), DigestItemRow.item_hash)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            StoredItem(
                url=r.url,
                canonical_url=r.canonical_url,
                title=r.title,
                summary=r.summary,
                published=r.published,
                first_seen_at=r.first_seen_at,
                feed_title=r.feed_title,
                feed_url=r.feed_url,
            )
            for r in rows
        ]

    # --- shared links -------------------------------------------------------------

    async def record_share(
        self, platform: str, channel_id: str, url: str, shared_at: datetime
    ) -> None:
        canonical = canonical_url(url)
        params = {
            "b_platform": platform,
            "b_channel_id": channel_id,
            "b_url_hash": digest(canonical),
            "b_url": url,
            "b_canonical_url": canonical,
            "b_shared_at": shared_at,
        }
        # On every shared link: a prebuilt statement on the store's one-hop route.
        await self._store.write(lambda conn: conn.execute(_share_stmt(conn.dialect.name), params))

    async def shares_for_channel(
        self, platform: str, channel_id: str, *, since: datetime, until: datetime
    ) -> list[SharedLink]:
        query = (
            select(DigestShareRow)
            .where(
                DigestShareRow.platform == platform,
                DigestShareRow.channel_id == channel_id,
                DigestShareRow.shared_at > since,
                DigestShareRow.shared_at <= until,
            )
            .order_by(DigestShareRow.shared_at.desc())
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [SharedLink(r.url, r.canonical_url, r.shared_at, r.times) for r in rows]


@cache
def _share_stmt(dialect: str) -> Any:
    """Record a share, or count one more and keep the latest time (built once per dialect)."""
    table: Table = DigestShareRow.__table__  # type: ignore[assignment]
    c = table.c
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table).values(
        platform=bind(c.platform),
        channel_id=bind(c.channel_id),
        url_hash=bind(c.url_hash),
        url=bind(c.url),
        canonical_url=bind(c.canonical_url),
        shared_at=bind(c.shared_at),
        times=1,
    )
    latest = func.max if dialect == "sqlite" else func.greatest
    return stmt.on_conflict_do_update(
        index_elements=[c.platform, c.channel_id, c.url_hash],
        set_={"shared_at": latest(c.shared_at, stmt.excluded.shared_at), "times": c.times + 1},
    )
