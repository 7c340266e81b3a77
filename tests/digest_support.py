"""Shared parts of the digest tests: databases (SQLite file, and PostgreSQL when
``LINKBRIEF_TEST_PG_URL`` is set), settings, and fakes handed in (posters, a
counting summarizer)."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import App, build_app
from bot.config import Settings, load_settings
from bot.digest.models import Digest
from tests.app_support import CountingSummarizer as CountingSummarizer
from tests.pg_support import DB_PARAMS, PG_URL, reset_postgres
from tests.servers.feed_server import FeedItem

__all__ = ["DB_PARAMS", "PG_URL", "reset_postgres"]

ROOT = Path(__file__).resolve().parents[1]
# A Wednesday in winter (CET = UTC+1), well after 09:00 everywhere in Europe.
WED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def database_url(kind: str, tmp_path: Path) -> str:
    if kind == "postgresql":
        await reset_postgres(PG_URL)
        return PG_URL
    return f"sqlite+aiosqlite:///{tmp_path / 'digest.db'}"


def make_settings(db_url: str, **extra: object) -> Settings:
    values: dict[str, object] = {
        "database_url": db_url,
        "fetch_allowed_private_hosts": "127.0.0.1",
        "summarizer": "extractive",
    }
    values.update(extra)
    return load_settings(None, **values)


async def make_app(db_url: str, *, summarizer: object = None, **extra: object) -> App:
    return await build_app(make_settings(db_url, **extra), summarizer=summarizer)  # type: ignore[arg-type]


class RecordingPoster:
    """A poster that keeps what it was asked to post."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, Digest]] = []
        self.fail_next = 0

    async def post_digest(self, channel_id: str, digest: Digest) -> str:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("chat platform unavailable")
        await asyncio.sleep(0)
        self.posted.append((channel_id, digest))
        return f"msg-{len(self.posted)}"


class FilePoster:
    """Appends one JSON line per post to a file shared by processes."""

    def __init__(self, path: Path, label: str) -> None:
        self.path = path
        self.label = label

    async def post_digest(self, channel_id: str, digest: Digest) -> str:
        line = json.dumps(
            {"by": self.label, "channel": channel_id, "digest": digest.model_dump(mode="json")}
        )
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
        return f"{self.label}-{digest.day}"


SYLLABLES = ["ka", "lo", "mi", "ren", "tas", "vo", "bri", "dun", "sel", "par", "gu", "nem"]


def title_for(prefix: str, i: int) -> str:
    """A distinct, unrelated-looking headline per (prefix, i): no two should merge."""
    rng = random.Random(f"{prefix}-{i}")
    words = ["".join(rng.choices(SYLLABLES, k=3)) for _ in range(6)]
    return " ".join(words).capitalize()


def items(
    prefix: str, n: int, start: datetime, *, step: timedelta = timedelta(hours=1)
) -> list[FeedItem]:
    return [
        FeedItem(
            slug=f"{prefix}-{i}",
            title=title_for(prefix, i),
            summary=f"Item {i} of {prefix}. It has a second sentence.",
            published=start - step * i,
        )
        for i in range(n)
    ]
