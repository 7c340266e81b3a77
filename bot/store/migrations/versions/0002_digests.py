"""Digests: channels, feeds, follows, items, shared links, runs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Written out in full (not importing ``bot.store.digest_tables``) so this
revision keeps meaning the same schema when the models change later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _channel_key() -> list[sa.Column]:
    return [
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=255), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "digest_channels",
        *_channel_key(),
        sa.Column("delivery_time", sa.String(length=5), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("weekdays_only", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("max_entries", sa.Integer(), nullable=False),
        sa.Column("include_shares", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "channel_id", name=op.f("pk_digest_channels")),
    )

    op.create_table(
        "digest_feeds",
        sa.Column("feed_hash", sa.String(length=64), nullable=False),
        sa.Column("feed_url", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), server_default="", nullable=False),
        sa.Column("site_url", sa.Text(), server_default="", nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("last_polled_at", _utc(), nullable=True),
        sa.Column("last_status", sa.String(length=32), server_default="new", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_poll_at", _utc(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("feed_hash", name=op.f("pk_digest_feeds")),
    )
    op.create_index(op.f("ix_digest_feeds_next_poll_at"), "digest_feeds", ["next_poll_at"])

    op.create_table(
        "digest_follows",
        *_channel_key(),
        sa.Column("feed_hash", sa.String(length=64), nullable=False),
        sa.Column("added_url", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint(
            "platform", "channel_id", "feed_hash", name=op.f("pk_digest_follows")
        ),
    )
    op.create_index(op.f("ix_digest_follows_feed_hash"), "digest_follows", ["feed_hash"])

    op.create_table(
        "digest_items",
        sa.Column("item_hash", sa.String(length=64), nullable=False),
        sa.Column("feed_hash", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("published", _utc(), nullable=True),
        sa.Column("first_seen_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("item_hash", name=op.f("pk_digest_items")),
    )
    op.create_index(op.f("ix_digest_items_feed_hash"), "digest_items", ["feed_hash"])
    op.create_index(op.f("ix_digest_items_first_seen_at"), "digest_items", ["first_seen_at"])

    op.create_table(
        "digest_shares",
        *_channel_key(),
        sa.Column("url_hash", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=False),
        sa.Column("shared_at", _utc(), nullable=False),
        sa.Column("times", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "platform", "channel_id", "url_hash", name=op.f("pk_digest_shares")
        ),
    )
    op.create_index(op.f("ix_digest_shares_shared_at"), "digest_shares", ["shared_at"])

    op.create_table(
        "digest_runs",
        *_channel_key(),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("lease_expires_at", _utc(), nullable=False),
        sa.Column("due_at", _utc(), nullable=False),
        sa.Column("since", _utc(), nullable=True),
        sa.Column("until", _utc(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("posted_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("platform", "channel_id", "day", name=op.f("pk_digest_runs")),
    )
    op.create_index(op.f("ix_digest_runs_state"), "digest_runs", ["state"])


def downgrade() -> None:
    op.drop_index(op.f("ix_digest_runs_state"), table_name="digest_runs")
    op.drop_table("digest_runs")
    op.drop_index(op.f("ix_digest_shares_shared_at"), table_name="digest_shares")
    op.drop_table("digest_shares")
    op.drop_index(op.f("ix_digest_items_first_seen_at"), table_name="digest_items")
    op.drop_index(op.f("ix_digest_items_feed_hash"), table_name="digest_items")
    op.drop_table("digest_items")
    op.drop_index(op.f("ix_digest_follows_feed_hash"), table_name="digest_follows")
    op.drop_table("digest_follows")
    op.drop_index(op.f("ix_digest_feeds_next_poll_at"), table_name="digest_feeds")
    op.drop_table("digest_feeds")
    op.drop_table("digest_channels")
