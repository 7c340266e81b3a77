"""The digest SQL: subscriptions, feeds and their items, shared links, and the run ledger.

``DigestStore(store)`` wraps the store's engine; nothing else in ``bot/digest``
writes SQL. As in ``store.py`` every decision that must hold across processes
is one statement whose outcome the database decides: a digest run is claimed
by ``INSERT … ON CONFLICT (platform, channel, day) DO UPDATE … WHERE the lease
has expired RETURNING``, so of two processes exactly one gets a row back.
Times come from the caller (the scheduler's clock), never from the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update

from bot.store.db import insert_for
from bot.store.digest_content import DigestContentLedger, NewItem, SharedLink, StoredItem
from bot.store.digest_runs import DigestRunLedger, RunClaim, RunRecord
from bot.store.digest_tables import (
    ChannelLanguageRow,
    DigestChannelRow,
    DigestFeedRow,
    DigestFollowRow,
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


class DigestStore(DigestRunLedger, DigestContentLedger):
    """Digest persistence over the store's engine: subscriptions, feeds, items, shares, runs."""

    def __init__(self, store: Store) -> None:
        self._store = store
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

    # --- the channel's language -----------------------------------------------------

    async def channel_language(self, platform: str, channel_id: str) -> str | None:
        """The language the channel chose, or None (English labels, article-language content)."""
        query = select(ChannelLanguageRow.language).where(
            ChannelLanguageRow.platform == platform, ChannelLanguageRow.channel_id == channel_id
        )
        async with self._engine.connect() as conn:
            return (await conn.execute(query)).scalar()

    async def set_channel_language(
        self, platform: str, channel_id: str, language: str | None, now: datetime
    ) -> None:
        """Set (or with None, clear) the channel's language; needs no digest subscription."""
        async with self._engine.begin() as conn:
            if language is None:
                await conn.execute(
                    delete(ChannelLanguageRow).where(
                        ChannelLanguageRow.platform == platform,
                        ChannelLanguageRow.channel_id == channel_id,
                    )
                )
                return
            stmt = insert_for(conn, ChannelLanguageRow).values(
                platform=platform, channel_id=channel_id, language=language, updated_at=now
            )
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["platform", "channel_id"],
                    set_={"language": language, "updated_at": now},
                )
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


async def record_shared_link(
    store_or_app: Any, platform: str, channel_id: str, url: str, shared_at: datetime
) -> None:
    """Remember that ``url`` was shared in a channel (the front ends' message path calls this).

    Accepts the ``Store`` or the ``App``; links that are not http(s) raise ``InvalidURL``.
    """
    store = getattr(store_or_app, "store", store_or_app)
    await DigestStore(store).record_share(platform, channel_id, url, shared_at)
