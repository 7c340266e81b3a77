"""Tables for talking to a brief: cached articles, posted briefs, votes, threads, activity.

Same conventions as ``tables.py`` (they share ``Base.metadata``): URL keys are
stored beside their SHA-256 digest, every timestamp is aware UTC.

* ``articles``: the cleaned article behind a brief, so a follow-up question is
  answered without fetching the page again while it lives (same TTL as briefs).
* ``brief_posts``: a brief we posted in a chat, keyed by the message; which
  thread it answers, who posted the link, and the ``version`` its controls carry
  (a Regenerate click names the version it saw, which makes double clicks idempotent).
* ``brief_feedback``: one thumbs up/down per person per brief (the latest wins).
* ``followup_turns``: questions and answers per thread, the context of the next one.
* ``activity``: one row per brief delivered, question answered or link that failed,
  for ``/linkbrief stats``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, SmallInteger, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.tables import DIGEST_LEN, Base

PLATFORM_LEN = 32
ID_LEN = 255
KIND_LEN = 16


class ArticleRow(Base):
    """A cleaned article (``bot.pipeline.models.Article`` as JSON), cached by link."""

    __tablename__ = "articles"

    url_hash: Mapped[str] = mapped_column(String(DIGEST_LEN), primary_key=True)
    canonical_url: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)


class BriefPostRow(Base):
    """A brief message in a chat, and what its controls act on."""

    __tablename__ = "brief_posts"

    platform: Mapped[str] = mapped_column(String(PLATFORM_LEN), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    thread_id: Mapped[str] = mapped_column(String(ID_LEN), index=True)
    team_id: Mapped[str] = mapped_column(String(ID_LEN))
    poster_id: Mapped[str] = mapped_column(String(ID_LEN))
    url: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    deleted: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]


class FeedbackRow(Base):
    """One person's vote on one brief: +1 or -1."""

    __tablename__ = "brief_feedback"

    platform: Mapped[str] = mapped_column(String(PLATFORM_LEN), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(ID_LEN), index=True)
    vote: Mapped[int] = mapped_column(SmallInteger)
    voted_at: Mapped[datetime] = mapped_column(index=True)


class TurnRow(Base):
    """One question asked in a brief's thread and the answer given."""

    __tablename__ = "followup_turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(PLATFORM_LEN))
    channel_id: Mapped[str] = mapped_column(String(ID_LEN))
    thread_id: Mapped[str] = mapped_column(String(ID_LEN), index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime]


class ActivityRow(Base):
    """What the bot did for a workspace, for ``/linkbrief stats``."""

    __tablename__ = "activity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(PLATFORM_LEN))
    team_id: Mapped[str] = mapped_column(String(ID_LEN), index=True)
    kind: Mapped[str] = mapped_column(String(KIND_LEN))  # brief | question | failure
    domain: Mapped[str] = mapped_column(String(ID_LEN), server_default="")
    error_kind: Mapped[str] = mapped_column(String(64), server_default="")
    tokens: Mapped[int] = mapped_column(Integer, server_default="0")
    claims_total: Mapped[int] = mapped_column(Integer, server_default="0")
    claims_withheld: Mapped[int] = mapped_column(Integer, server_default="0")
    at: Mapped[datetime] = mapped_column(index=True)
