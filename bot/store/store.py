"""The ``Store``: brief cache, exactly-once claims, pending work, channel settings, counters.

Every write is a single statement whose outcome the database decides (INSERT …
ON CONFLICT, UPDATE … WHERE), never a read followed by a write, so the answers
hold across tasks and across processes sharing the database. Times are
computed here, in aware UTC, rather than by the database, so SQLite and
PostgreSQL behave the same.

Every call is one transaction, retried a bounded number of times when the
database is locked or the connection was lost (``bot.store.retry``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import Connection, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.pipeline.models import Brief
from bot.store import statements as sql
from bot.store.db import create_engine, insert_for, migrate, startup_error
from bot.store.retry import retrying
from bot.store.runner import TransactionRunner
from bot.store.tables import (
    MAX_COUNTER_KEY,
    BriefRow,
    ChannelRow,
    ClaimRow,
    CounterRow,
    PendingRow,
    digest,
)
from bot.timeutil import utc_now

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_CLAIM_TTL_S = 7 * 86400
# Channel settings are read for every message with a link but change only on
# ``/linkbrief auto``: kept in memory this long. ``set_channel_auto`` updates this
# process's copy at once; another process sharing the database sees a change
# within this many seconds.
CHANNEL_CACHE_S = 5.0


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """What a channel asked for; a channel never configured gets these defaults."""

    platform: str
    channel_id: str
    auto: bool = True  # brief every link posted, not only on request


def _now() -> datetime:
    return utc_now()  # the one clock (bot.timeutil)


def _ago(seconds: float) -> datetime:
    """The instant ``seconds`` ago; "forever" (inf, huge) gives the earliest instant."""
    try:
        return _now() - timedelta(seconds=seconds)
    except OverflowError:
        return datetime(1970, 1, 1, tzinfo=UTC)


class Store:
    """The only door to the database. Build it with ``await Store.open(url)``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # The hot calls below: one thread hop per transaction (see bot.store.runner).
        self._run = TransactionRunner(engine)
        self._channels: dict[tuple[str, str], tuple[float, ChannelSettings]] = {}
        self._channel_reads: dict[tuple[str, str], asyncio.Future[ChannelSettings]] = {}

    @classmethod
    async def open(cls, database_url: str) -> Store:
        """Connect to ``database_url`` and bring its schema up to date."""
        try:
            engine = create_engine(database_url)
        except OSError as exc:  # a SQLite file's directory that cannot be made
            raise startup_error(exc, database_url) or exc from None
        try:
            await migrate(engine)
        except BaseException as exc:
            await engine.dispose()
            error = startup_error(exc, database_url) if isinstance(exc, Exception) else None
            if error is not None:
                raise error from None
            raise
        return cls(engine)

    async def close(self) -> None:
        await self._run.close()
        await self._engine.dispose()

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """``fn(conn)`` in one read-write transaction, by the fastest route this database has."""
        return await self._run.write(fn)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """``fn(conn)`` in one read-only transaction."""
        return await self._run.read(fn)

    @property
    def engine(self) -> AsyncEngine:
        """The underlying engine, for operations tooling and tests."""
        return self._engine

    # --- brief cache (bot.pipeline.contracts.BriefCache) -------------------

    @retrying
    async def get_brief(self, canonical_url: str, max_age_s: float) -> Brief | None:
        """The cached brief for ``canonical_url`` if younger than ``max_age_s``."""
        params = {"b_url_hash": digest(canonical_url), "b_cutoff": _ago(max_age_s)}
        data = await self._run.read(
            lambda conn: conn.execute(sql.GET_BRIEF, params).scalar_one_or_none()
        )
        if data is None:
            return None
        try:
            return Brief.model_validate(data)
        except ValidationError:
            # Written by an older or newer version with another shape: a miss, not a crash.
            log.warning("cached brief for %s does not parse; ignoring it", canonical_url)
            return None

    @retrying
    async def put_brief(self, brief: Brief, key: str | None = None) -> None:
        """Cache ``brief`` under ``key`` (default: its canonical URL), replacing any older one.

        The service passes the canonical form of the link as shared, which can
        differ from the canonical URL the page declares.
        """
        key = key or brief.canonical_url
        params = {
            "b_url_hash": digest(key),
            "b_canonical_url": key,
            "b_data": brief.model_dump(mode="json"),
            "b_created_at": _now(),
        }
        await self._run.write(lambda conn: conn.execute(sql.put_brief(_dialect(conn)), params))

    @retrying
    async def purge_briefs(self, older_than_s: float) -> int:
        """Drop briefs cached more than ``older_than_s`` ago; returns how many."""
        cutoff = _ago(older_than_s)
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(BriefRow).where(BriefRow.created_at < cutoff))
        return result.rowcount

    # --- exactly-once claims ------------------------------------------------

    @retrying
    async def claim_once(self, key: str, *, ttl_s: float = DEFAULT_CLAIM_TTL_S) -> bool:
        """Record ``key``; True only for the first caller while the claim lives.

        The primary key decides, inside the database: concurrent callers in any
        task or process see exactly one True. An expired claim may be taken over.
        """
        return await self._run.write(lambda conn: _claim(conn, key, ttl_s))

    @retrying
    async def release(self, key: str) -> None:
        """Undo a claim (the work failed before anything was posted), so a retry may run."""
        params = {"b_key_hash": digest(key)}
        await self._run.write(lambda conn: conn.execute(sql.RELEASE_CLAIM, params))

    @retrying
    async def renew_claims(self, keys: list[str], ttl_s: float) -> int:
        """Push the expiry of the live claims among ``keys`` to ``ttl_s`` from now (a lease's
        heartbeat); returns how many were still held. An expired claim is not revived."""
        if not keys:
            return 0
        now = _now()
        params = {
            "b_key_hashes": [digest(k) for k in keys],
            "b_now": now,
            "b_until": now + timedelta(seconds=ttl_s),
        }
        return await self._run.write(lambda conn: conn.execute(sql.RENEW_CLAIMS, params).rowcount)

    async def purge_claims(self) -> int:
        """Drop expired claims; returns how many."""
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(ClaimRow).where(ClaimRow.expires_at <= _now()))
        return result.rowcount

    # --- pending work -------------------------------------------------------

    @retrying
    async def add_pending(self, key: str, payload: dict[str, Any]) -> bool:
        """Persist work before acknowledging it; False if ``key`` is already pending or done."""
        return await self._run.write(lambda conn: _add_pending(conn, key, payload))

    @retrying
    async def accept_many(
        self, items: list[tuple[str, dict[str, Any], list[str]]], claim_ttl_s: float
    ) -> list[tuple[bool, list[bool]]]:
        """``add_pending`` for each ``(key, payload, claim_keys)`` and, for each item added,
        ``claim_once`` on its claim keys (``claim_ttl_s``), all in one transaction.

        Answers in order: whether the item was added, and which of its claims were
        won. A known key (a redelivered event) claims nothing.
        """

        def accept(conn: Connection) -> list[tuple[bool, list[bool]]]:
            answers = []
            for key, payload, claims in items:
                added = _add_pending(conn, key, payload)
                won = [_claim(conn, c, claim_ttl_s) for c in claims] if added else []
                answers.append((added, won))
            return answers

        return await self._run.write(accept)

    @retrying
    async def pending(self, limit: int = 100) -> list[tuple[str, dict[str, Any]]]:
        """Unfinished work, oldest first, as ``(key, payload)``."""
        query = (
            select(PendingRow.key, PendingRow.payload)
            .where(PendingRow.finished_at.is_(None))
            .order_by(PendingRow.created_at, PendingRow.key_hash)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(key, payload) for key, payload in rows]

    @retrying
    async def get_pending(self, key: str) -> tuple[dict[str, Any], bool] | None:
        """``(payload, finished)`` of one item, or None if ``key`` was never added."""
        params = {"b_key_hash": digest(key)}
        row = await self._run.read(lambda conn: conn.execute(sql.GET_PENDING, params).first())
        if row is None:
            return None
        return row[0], row[1] is not None

    @retrying
    async def put_pending(self, key: str, payload: dict[str, Any]) -> None:
        """Record progress: create ``key`` with ``payload``, or replace the payload of an
        unfinished item. A finished item keeps its payload (finished is final)."""
        params = _pending_params(key, payload)
        await self._run.write(lambda conn: conn.execute(sql.put_pending(_dialect(conn)), params))

    @retrying
    async def finish_pending(self, key: str) -> None:
        """Mark work done: it leaves ``pending()`` and its key cannot be added again."""
        params = {"b_key_hash": digest(key), "b_now": _now()}
        await self._run.write(lambda conn: conn.execute(sql.FINISH_PENDING, params))

    @retrying
    async def purge_pending(self, older_than_s: float = DEFAULT_CLAIM_TTL_S) -> int:
        """Forget work finished more than ``older_than_s`` ago; returns how many."""
        cutoff = _ago(older_than_s)
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(PendingRow).where(PendingRow.finished_at < cutoff))
        return result.rowcount

    # --- channel settings ---------------------------------------------------

    async def get_channel(self, platform: str, channel_id: str) -> ChannelSettings:
        """A channel's settings (defaults if never configured), at most ``CHANNEL_CACHE_S`` old."""
        now = time.monotonic()
        kept = self._channels.get((platform, channel_id))
        if kept is not None and kept[0] > now:
            return kept[1]
        reading = self._channel_reads.get((platform, channel_id))
        if reading is None:  # one read for a burst of messages in a channel, not one each
            reading = asyncio.ensure_future(self._read_channel(platform, channel_id))
            self._channel_reads[(platform, channel_id)] = reading
            reading.add_done_callback(lambda _: self._channel_reads.pop((platform, channel_id)))
        settings = await asyncio.shield(reading)
        if len(self._channels) > 10_000:  # a bound, not an eviction policy: channels are few
            self._channels.clear()
        self._channels[(platform, channel_id)] = (now + CHANNEL_CACHE_S, settings)
        return settings

    @retrying
    async def _read_channel(self, platform: str, channel_id: str) -> ChannelSettings:
        params = {"b_platform": platform, "b_channel_id": channel_id}
        auto = await self._run.read(
            lambda conn: conn.execute(sql.READ_CHANNEL, params).scalar_one_or_none()
        )
        if auto is None:
            return ChannelSettings(platform, channel_id)
        return ChannelSettings(platform, channel_id, auto=bool(auto))

    @retrying
    async def set_channel_auto(self, platform: str, channel_id: str, auto: bool) -> None:
        async with self._engine.begin() as conn:
            stmt = insert_for(conn, ChannelRow).values(
                platform=platform, channel_id=channel_id, auto=auto, updated_at=_now()
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[ChannelRow.platform, ChannelRow.channel_id],
                set_={"auto": stmt.excluded.auto, "updated_at": stmt.excluded.updated_at},
            )
            await conn.execute(stmt)
        self._channels.pop((platform, channel_id), None)

    # --- counters -----------------------------------------------------------

    @retrying
    async def incr_counter(self, key: str, window_start: datetime, amount: int = 1) -> int:
        """Add ``amount`` to the count for ``(key, window_start)``; returns the new total."""
        if window_start.tzinfo is None or window_start.utcoffset() is None:
            raise ValueError("window_start must be timezone-aware")
        if len(key) > MAX_COUNTER_KEY:
            raise ValueError(f"counter key longer than {MAX_COUNTER_KEY} characters")
        params = {"b_key": key, "b_window_start": window_start, "b_count": amount}
        return await self._run.write(
            lambda conn: int(conn.execute(sql.incr_counter(_dialect(conn)), params).scalar_one())
        )

    @retrying
    async def read_counter(self, key: str, window_start: datetime) -> int:
        """The count for ``(key, window_start)`` (0 if none): a plain read, no write lock."""
        params = {"b_key": key, "b_window_start": window_start}
        count = await self._run.read(
            lambda conn: conn.execute(sql.READ_COUNTER, params).scalar_one_or_none()
        )
        return int(count or 0)

    @retrying
    async def purge_counters(self, before: datetime) -> int:
        """Drop counters whose window started before ``before``; returns how many."""
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(CounterRow).where(CounterRow.window_start < before))
        return result.rowcount


def _dialect(conn: Connection) -> str:
    return conn.dialect.name


def _claim(conn: Connection, key: str, ttl_s: float) -> bool:
    now = _now()
    params = {
        "b_key_hash": digest(key),
        "b_key": key,
        "b_claimed_at": now,
        "b_expires_at": now + timedelta(seconds=ttl_s),
    }
    return conn.execute(sql.claim(_dialect(conn)), params).first() is not None


def _pending_params(key: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"b_key_hash": digest(key), "b_key": key, "b_payload": payload, "b_created_at": _now()}


def _add_pending(conn: Connection, key: str, payload: dict[str, Any]) -> bool:
    params = _pending_params(key, payload)
    return conn.execute(sql.add_pending(_dialect(conn)), params).first() is not None
