"""Follow-up questions and brief controls: articles, brief posts, feedback, turns, activity.

Revision ID: 0003_issue18_followups
Revises: 0002
Create Date: 2026-12-06

Written out in full (not importing ``bot.store.followup_tables``) so this
revision keeps meaning the same schema when the models change later.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_issue18_followups"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _id(name: str) -> sa.Column:
    return sa.Column(name, sa.String(length=255), nullable=False)


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("url_hash", sa.String(length=64), nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("url_hash", name=op.f("pk_articles")),
    )
    op.create_index(op.f("ix_articles_created_at"), "articles", ["created_at"])

    op.create_table(
        "brief_posts",
        sa.Column("platform", sa.String(length=32), nullable=False),
        _id("channel_id"),
        _id("message_id"),
        _id("thread_id"),
        _id("team_id"),
        _id("poster_id"),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint(
            "platform", "channel_id", "message_id", name=op.f("pk_brief_posts")
        ),
    )
    op.create_index(op.f("ix_brief_posts_thread_id"), "brief_posts", ["thread_id"])
    op.create_index(op.f("ix_brief_posts_created_at"), "brief_posts", ["created_at"])

    op.create_table(
        "brief_feedback",
        sa.Column("platform", sa.String(length=32), nullable=False),
        _id("channel_id"),
        _id("message_id"),
        _id("user_id"),
        _id("team_id"),
        sa.Column("vote", sa.SmallInteger(), nullable=False),
        sa.Column("voted_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint(
            "platform", "channel_id", "message_id", "user_id", name=op.f("pk_brief_feedback")
        ),
    )
    op.create_index(op.f("ix_brief_feedback_team_id"), "brief_feedback", ["team_id"])
    op.create_index(op.f("ix_brief_feedback_voted_at"), "brief_feedback", ["voted_at"])

    op.create_table(
        "followup_turns",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        _id("channel_id"),
        _id("thread_id"),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("asked_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followup_turns")),
    )
    op.create_index(op.f("ix_followup_turns_thread_id"), "followup_turns", ["thread_id"])

    op.create_table(
        "activity",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        _id("team_id"),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("domain", sa.String(length=255), server_default="", nullable=False),
        sa.Column("error_kind", sa.String(length=64), server_default="", nullable=False),
        sa.Column("tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claims_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claims_withheld", sa.Integer(), server_default="0", nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity")),
    )
    op.create_index(op.f("ix_activity_team_id"), "activity", ["team_id"])
    op.create_index(op.f("ix_activity_at"), "activity", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_activity_at"), table_name="activity")
    op.drop_index(op.f("ix_activity_team_id"), table_name="activity")
    op.drop_table("activity")
    op.drop_index(op.f("ix_followup_turns_thread_id"), table_name="followup_turns")
    op.drop_table("followup_turns")
    op.drop_index(op.f("ix_brief_feedback_voted_at"), table_name="brief_feedback")
    op.drop_index(op.f("ix_brief_feedback_team_id"), table_name="brief_feedback")
    op.drop_table("brief_feedback")
    op.drop_index(op.f("ix_brief_posts_created_at"), table_name="brief_posts")
    op.drop_index(op.f("ix_brief_posts_thread_id"), table_name="brief_posts")
    op.drop_table("brief_posts")
    op.drop_index(op.f("ix_articles_created_at"), table_name="articles")
    op.drop_table("articles")
