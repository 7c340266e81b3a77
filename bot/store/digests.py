"""The digest SQL: subscriptions, feeds and their items, shared links, and the run ledger.

``DigestStore(store)`` wraps the store's engine; nothing else in ``bot/digest``
writes SQL. As in ``store.py`` every decision that must hold across processes
is one statement whose outcome the database decides: a digest run is claimed
by ``INSERT … ON CONFLICT (platform, channel, day) DO UPDATE … WHERE the lease
has expired RETURNING``, so of two processes exactly one gets a row back.
Times come from the caller (the scheduler's clock), never from the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from bot.pipeline.urls import canonical_url
from bot.store.db import insert_for
from bot.store.digest_runs import DigestRunLedger, RunClaim, RunRecord
from bot.store.digest_tables import (
    DigestChannelRow,
    DigestFeedRow,
    DigestFollowRow,
    DigestItemRow,
    DigestShareRow,
)
from bot.store.store import Store
from bot.store.tables import digest

__all__ = [
    "DigestChannel",
    "DigestStore",
    "FeedState",
    "NewItem",
    "RunClaim",
    "RunRecord",
    "SharedLink",
    "StoredItem",
    "record_shared_link",
]


@dataclass(frozen=True, slots=True)
class DigestChannel:
    platform: str
    channel_id: str
    delivery_time: str  # "HH:MM"
    timezone: str
    weekdays_only: bool
    max_entries: int
    include_shares: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FeedState:
    feed_hash: str
    feed_url: str
    title: str
    site_url: str
    etag: str | None
    last_modified: str | None
    last_polled_at: datetime | None
    last_status: str
    last_error: str | None
    failures: int
    next_poll_at: datetime


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


def feed_key(feed_url: str) -> str:
    return digest(feed_url)


def _feed_state(row: Any) -> FeedState:
    return FeedState(
        feed_hash=row.feed_hash,
        feed_url=row.feed_url,
        title=row.title,
        site_url=row.site_url,
        etag=row.etag,
        last_modified=row.last_modified,
        last_polled_at=row.last_polled_at,
        last_status=row.last_status,
        last_error=row.last_error,
        failures=row.failures,
        next_poll_at=row.next_poll_at,
    )


def _channel(row: Any) -> DigestChannel:
    return DigestChannel(
        platform=row.platform,
        channel_id=row.channel_id,
        delivery_time=row.delivery_time,
        timezone=row.timezone,
        weekdays_only=bool(row.weekdays_only),
        max_entries=row.max_entries,
        include_shares=bool(row.include_shares),
        created_at=row.created_at,
    )


class DigestStore(DigestRunLedger):
    """Digest persistence over the store's engine: subscriptions, feeds, items, shares, runs."""

    def __init__(self, store: Store) -> None:
        self._engine = store.engine

    # --- channels -------------------------------------------------------------

    async def ensure_channel(
        self,
        platform: str,
        channel_id: str,
        *,
        delivery_time: str,
        timezone: str,
        max_entries: int,
        now: datetime,
    ) -> DigestChannel:
        """The channel's digest settings, created with these defaults if it has none."""
        async with self._engine.begin() as conn:
            stmt = insert_for(conn, DigestChannelRow).values(
                platform=platform,
                channel_id=channel_id,
                delivery_time=delivery_time,
                timezone=timezone,
                weekdays_only=False,
                max_entries=max_entries,
                include_shares=True,
                created_at=now,
                updated_at=now,
            )
            await conn.execute(stmt.on_conflict_do_nothing())
        channel = await self.get_channel(platform, channel_id)
        assert channel is not None
        return channel

    async def get_channel(self, platform: str, channel_id: str) -> DigestChannel | None:
        query = select(DigestChannelRow).where(
            DigestChannelRow.platform == platform, DigestChannelRow.channel_id == channel_id
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _channel(row) if row is not None else None

    async def channels(self) -> list[DigestChannel]:
        """Every channel with a digest subscription."""
        query = select(DigestChannelRow).order_by(
            DigestChannelRow.platform, DigestChannelRow.channel_id
        )
        async with self._engine.connect() as conn:
            return [_channel(r) for r in (await conn.execute(query)).all()]

    async def update_channel(
        self, platform: str, channel_id: str, now: datetime, **values: Any
    ) -> None:
        allowed = {"delivery_time", "timezone", "weekdays_only", "max_entries", "include_shares"}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"unknown digest channel settings: {sorted(unknown)}")
        async with self._engine.begin() as conn:
            await conn.execute(
                update(DigestChannelRow)
                .where(
                    DigestChannelRow.platform == platform,
                    DigestChannelRow.channel_id == channel_id,
                )
                .values(updated_at=now, **values)
            )

    async def drop_channel(self, platform: str, channel_id: str) -> None:
        """Unsubscribe the channel entirely (settings and follows; its run history stays)."""
        async with self._engine.begin() as conn:
            for table in (DigestFollowRow, DigestChannelRow):
                await conn.execute(
                    delete(table).where(table.platform == platform, table.channel_id == channel_id)
                )

    # --- feeds and follows --------------------------------------------------------

    async def upsert_feed(self, feed_url: str, *, title: str, site_url: str, now: datetime) -> str:
        """Register a feed (or refresh its title); returns its key."""
        key = feed_key(feed_url)
        async with self._engine.begin() as conn:
            stmt = insert_for(conn, DigestFeedRow).values(
                feed_hash=key,
                feed_url=feed_url,
                title=title,
                site_url=site_url,
                last_status="new",
                failures=0,
                next_poll_at=now,
                created_at=now,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[DigestFeedRow.feed_hash],
                set_={"title": stmt.excluded.title, "site_url": stmt.excluded.site_url},
            )
            await conn.execute(stmt)
        return key

    async def follow(
        self, platform: str, channel_id: str, feed_hash: str, added_url: str, now: datetime
    ) -> bool:
        """True when the channel did not follow this feed yet."""
        async with self._engine.begin() as conn:
            stmt = (
                insert_for(conn, DigestFollowRow)
                .values(
                    platform=platform,
                    channel_id=channel_id,
                    feed_hash=feed_hash,
                    added_url=added_url,
                    created_at=now,
                )
                .on_conflict_do_nothing()
                .returning(DigestFollowRow.feed_hash)
            )
            return (await conn.execute(stmt)).first() is not None

    async def unfollow(self, platform: str, channel_id: str, url: str) -> bool:
        """Stop following the feed added as ``url`` (the site or the feed URL itself)."""
        keys = select(DigestFeedRow.feed_hash).where(DigestFeedRow.feed_url == url)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(DigestFollowRow).where(
                    DigestFollowRow.platform == platform,
                    DigestFollowRow.channel_id == channel_id,
                    or_(DigestFollowRow.added_url == url, DigestFollowRow.feed_hash.in_(keys)),
                )
            )
        return result.rowcount > 0

    async def followed_feeds(self, platform: str, channel_id: str) -> list[FeedState]:
        query = (
            select(DigestFeedRow)
            .join(DigestFollowRow, DigestFollowRow.feed_hash == DigestFeedRow.feed_hash)
            .where(DigestFollowRow.platform == platform, DigestFollowRow.channel_id == channel_id)
            .order_by(DigestFollowRow.created_at, DigestFeedRow.feed_url)
        )
        async with self._engine.connect() as conn:
            return [_feed_state(r) for r in (await conn.execute(query)).all()]

    async def get_feed(self, feed_hash: str) -> FeedState | None:
        query = select(DigestFeedRow).where(DigestFeedRow.feed_hash == feed_hash)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _feed_state(row) if row is not None else None

    async def due_feeds(self, now: datetime, limit: int = 1000) -> list[FeedState]:
        """Followed feeds whose next poll is due, most overdue first."""
        followed = select(DigestFollowRow.feed_hash).distinct()
        query = (
            select(DigestFeedRow)
            .where(DigestFeedRow.next_poll_at <= now, DigestFeedRow.feed_hash.in_(followed))
            .order_by(DigestFeedRow.next_poll_at, DigestFeedRow.feed_hash)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [_feed_state(r) for r in (await conn.execute(query)).all()]

    async def record_poll(
        self,
        feed_hash: str,
        *,
        now: datetime,
        status: str,
        next_poll_at: datetime,
        etag: str | None = None,
        last_modified: str | None = None,
        title: str | None = None,
        site_url: str | None = None,
    ) -> None:
        """A successful poll ("ok" or "not modified"): clear the error and the backoff."""
        values: dict[str, Any] = {
            "last_polled_at": now,
            "last_status": status,
            "last_error": None,
            "failures": 0,
            "next_poll_at": next_poll_at,
        }
        if status == "ok":
            values.update(etag=etag, last_modified=last_modified)
        if title:
            values["title"] = title
        if site_url:
            values["site_url"] = site_url
        async with self._engine.begin() as conn:
            await conn.execute(
                update(DigestFeedRow).where(DigestFeedRow.feed_hash == feed_hash).values(**values)
            )

    async def record_poll_error(
        self, feed_hash: str, *, now: datetime, error: str, failures: int, next_poll_at: datetime
    ) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(DigestFeedRow)
                .where(DigestFeedRow.feed_hash == feed_hash)
                .values(
                    last_polled_at=now,
                    last_status="error",
                    last_error=error[:1000],
                    failures=failures,
                    next_poll_at=next_poll_at,
                )
            )

    # --- items ------------------------------------------------------------------

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
        async with self._engine.begin() as conn:
            stmt = insert_for(conn, DigestShareRow).values(
                platform=platform,
                channel_id=channel_id,
                url_hash=digest(canonical),
                url=url,
                canonical_url=canonical,
                shared_at=shared_at,
                times=1,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[
                    DigestShareRow.platform,
                    DigestShareRow.channel_id,
                    DigestShareRow.url_hash,
                ],
                set_={
                    "shared_at": func.max(DigestShareRow.shared_at, stmt.excluded.shared_at)
                    if conn.dialect.name == "sqlite"
                    else func.greatest(DigestShareRow.shared_at, stmt.excluded.shared_at),
                    "times": DigestShareRow.times + 1,
                },
            )
            await conn.execute(stmt)

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


async def record_shared_link(
    store_or_app: Any, platform: str, channel_id: str, url: str, shared_at: datetime
) -> None:
    """Remember that ``url`` was shared in a channel (the front ends' message path calls this).

    Accepts the ``Store`` or the ``App``; links that are not http(s) raise ``InvalidURL``.
    """
    store = getattr(store_or_app, "store", store_or_app)
    await DigestStore(store).record_share(platform, channel_id, url, shared_at)
