"""The store's tables, as SQLAlchemy 2 declarative models.

Portable on purpose: the same models run on SQLite (the embedded default) and
PostgreSQL. Keys that may hold URLs (claims, pending work, cached briefs) are
stored beside a SHA-256 digest that is the primary key, because PostgreSQL
cannot index arbitrarily long text. Every timestamp is timezone-aware UTC.

A change here needs a new migration in ``migrations/versions/``; a test checks
that the migrations produce exactly this schema.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Dialect, MetaData, String, Text, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Fixed constraint names, so later migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

DIGEST_LEN = 64  # hex SHA-256
MAX_COUNTER_KEY = 255


def digest(key: str) -> str:
    """The primary-key form of a free-form key (a URL, an event id...)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that goes in and comes out as an aware UTC ``datetime``.

    PostgreSQL keeps the zone itself (``timestamptz``). SQLite has no zone, so
    values are stored as naive UTC; every stored string then has one format and
    compares correctly as text. Naive values are refused: their zone is a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class BriefRow(Base):
    """A finished brief, cached by canonical URL."""

    __tablename__ = "briefs"

    url_hash: Mapped[str] = mapped_column(String(DIGEST_LEN), primary_key=True)
    canonical_url: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]]  # Brief.model_dump(mode="json")
    created_at: Mapped[datetime] = mapped_column(index=True)


class ClaimRow(Base):
    """An exactly-once claim on a chat event; the primary key is the lock."""

    __tablename__ = "claims"

    key_hash: Mapped[str] = mapped_column(String(DIGEST_LEN), primary_key=True)
    key: Mapped[str] = mapped_column(Text)
    claimed_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class PendingRow(Base):
    """Work accepted but maybe not done; ``finished_at`` is set when it is."""

    __tablename__ = "pending_work"

    key_hash: Mapped[str] = mapped_column(String(DIGEST_LEN), primary_key=True)
    key: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None] = mapped_column(index=True)


class ChannelRow(Base):
    """Per-channel settings; a channel with no row uses the defaults."""

    __tablename__ = "channels"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    auto: Mapped[bool] = mapped_column(Boolean, server_default=true())
    updated_at: Mapped[datetime]


class CounterRow(Base):
    """A count per (key, window), for rate limits and budgets."""

    __tablename__ = "counters"

    key: Mapped[str] = mapped_column(String(MAX_COUNTER_KEY), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
