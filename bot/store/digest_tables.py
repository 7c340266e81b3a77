"""The digest tables: subscriptions, feeds, feed items, shared links, digest runs.

Same conventions as ``tables.py`` (they share ``Base.metadata``): URLs are kept
beside a SHA-256 key, every timestamp is aware UTC. ``digest_runs`` is the
exactly-once ledger: its primary key (platform, channel, delivery day) is the
idempotency key, and ``owner``/``lease_expires_at`` say who may post it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, Text, false, true
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.tables import DIGEST_LEN, Base

PLATFORM_LEN = 32
CHANNEL_LEN = 255


class DigestChannelRow(Base):
    """A channel's digest settings; the row exists once the channel subscribes to anything."""

    __tablename__ = "digest_channels"

    platform: Mapped[str] = mapped_column(String(PLATFORM_LEN), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(CHANNEL_LEN), primary_key=True)
    delivery_time: Mapped[str] = mapped_column(String(5))  # "HH:MM", local to ``timezone``
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name
    weekdays_only: Mapped[bool] = mapped_column(Boolean, server_default=false())
    max_entries: Mapped[int] = mapped_column(Integer)
    include_shares: Mapped[bool] = mapped_column(Boolean, server_default=true())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DigestFeedRow(Base):
    """A feed, polled once however many channels follow it."""

    __tablename__ = "digest_feeds"

    feed_hash: Mapped[str] = mapped_column(String(DIGEST_LEN), primary_key=True)
    feed_url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, server_default="")
    site_url: Mapped[str] = mapped_column(Text, server_default="")
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[datetime | None]
    last_status: Mapped[str] = mapped_column(String(32), server_default="new")
    last_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, server_default="0")
    next_poll_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime]


class DigestFollowRow(Base):
    """Channel → feed."""

    __tablename__ = "digest_follows"

    platform: Mapped[str] = mapped_column(String(PLATFORM_LEN), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(CHANNEL_LEN), primary_key=True)
    feed_hash: Mapped[str] = mapped_column(String(DIGEST_LEN), primary_key=True, index=True)
    added_url: Mapped[str] = mapped_column(Text)  # what the person typed (a site or the feed)
    created_at: Mapped[datetime]


class DigestItemRow(Base):
    """One feed entry, stored the first time a poll sees it."""

    __tablename__ = "digest_items"

    item_hash: Mapped[str] = mapped_column(String(DIGEST_LEN), primary_key=True)
    feed_hash: Mapped[str] = mapped_column(String(DIGEST_LEN), index=True)
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    published: Mapped[datetime | None]
    first_seen_at: Mapped[datetime] = mapped_column(index=True)


class DigestShareRow(Base):
    """A link someone shared in a channel; the latest share time is kept."""

    __tablename__ = "digest_shares"

    platform: Mapped[str] = mapped_column(String(PLATFORM_LEN), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(CHANNEL_LEN), primary_key=True)
    url_hash: Mapped[str] = mapped_column(String(DIGEST_LEN), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    canonical_url: Mapped[str] = mapped_column(Text)
    shared_at: Mapped[datetime] = mapped_column(index=True)
    times: Mapped[int] = mapped_column(Integer)


class DigestRunRow(Base):
    """One digest per (channel, delivery day): building → built → posting → posted | skipped."""

    __tablename__ = "digest_runs"

    platform: Mapped[str] = mapped_column(String(PLATFORM_LEN), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(CHANNEL_LEN), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # ISO date, channel's zone
    state: Mapped[str] = mapped_column(String(16), index=True)
    owner: Mapped[str] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime]
    due_at: Mapped[datetime]
    since: Mapped[datetime | None]
    until: Mapped[datetime | None]
    payload: Mapped[dict[str, Any] | None]  # the built Digest, so a takeover posts the same
    message_id: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    posted_at: Mapped[datetime | None]


class ChannelLanguageRow(Base):
    """The language a channel chose for the bot's words (briefs' labels, answers, digests).

    A channel with no row gets English labels and content in the article's own language.
    """

    __tablename__ = "channel_languages"

    platform: Mapped[str] = mapped_column(String(PLATFORM_LEN), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(CHANNEL_LEN), primary_key=True)
    language: Mapped[str] = mapped_column(String(16))  # "de", "fr", … (bot.i18n.LANGUAGES)
    updated_at: Mapped[datetime]
