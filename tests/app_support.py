"""What many tests build the same way: local settings and a counting summarizer.

``local_settings`` is the embedded setup every loopback test starts from: a
SQLite file under the test's ``tmp_path`` and fetching allowed from the article
server's address (127.0.0.2). The shared fixtures (the database URL per backend,
an open ``Store``, the article + chat servers) are in ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.config import Settings, load_settings
from bot.pipeline.extractive import ExtractiveSummarizer
from bot.pipeline.models import Article, Draft

ARTICLE_HOST = "127.0.0.2"  # where tests.servers.article_server serves pages


def local_settings(tmp_path: Path, **extra: object) -> Settings:
    """Settings on a SQLite file in ``tmp_path`` that may fetch from the article server."""
    values: dict[str, object] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'lb.db'}",
        "fetch_allowed_private_hosts": ARTICLE_HOST,
    }
    values.update(extra)
    return load_settings(None, **values)


class CountingSummarizer:
    """The real extractive summarizer posing as an LLM, counting its calls.

    ``delay_s`` holds each call that long, so concurrent requests can pile up
    behind the first (the one-model-call-per-link tests).
    """

    mode = "llm"

    def __init__(self, delay_s: float = 0.0) -> None:
        self.calls = 0
        self.delay_s = delay_s
        self._inner = ExtractiveSummarizer()

    async def summarize(self, article: Article) -> Draft:
        self.calls += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return await self._inner.summarize(article)
