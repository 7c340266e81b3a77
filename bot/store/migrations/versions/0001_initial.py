"""Initial schema: briefs, claims, pending_work, channels, counters.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Written out in full (not importing ``bot.store.tables``) so this revision keeps
meaning the same schema when the models change later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "briefs",
        sa.Column("url_hash", sa.String(length=64), nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("url_hash", name=op.f("pk_briefs")),
    )
    op.create_index(op.f("ix_briefs_created_at"), "briefs", ["created_at"])

    op.create_table(
        "claims",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("claimed_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_claims")),
    )
    op.create_index(op.f("ix_claims_expires_at"), "claims", ["expires_at"])

    op.create_table(
        "pending_work",
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_pending_work")),
    )
    op.create_index(op.f("ix_pending_work_created_at"), "pending_work", ["created_at"])
    op.create_index(op.f("ix_pending_work_finished_at"), "pending_work", ["finished_at"])

    op.create_table(
        "channels",
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=255), nullable=False),
        sa.Column("auto", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "channel_id", name=op.f("pk_channels")),
    )

    op.create_table(
        "counters",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("window_start", _utc(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_counters")),
    )


def downgrade() -> None:
    op.drop_table("counters")
    op.drop_table("channels")
    op.drop_index(op.f("ix_pending_work_finished_at"), table_name="pending_work")
    op.drop_index(op.f("ix_pending_work_created_at"), table_name="pending_work")
    op.drop_table("pending_work")
    op.drop_index(op.f("ix_claims_expires_at"), table_name="claims")
    op.drop_table("claims")
    op.drop_index(op.f("ix_briefs_created_at"), table_name="briefs")
    op.drop_table("briefs")
