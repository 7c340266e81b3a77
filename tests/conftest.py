"""Fixtures many test files share, and the event loop every async test runs on.

The loop is the one the bot runs on: uvloop where it is installed (``bot.cli``),
the standard loop otherwise. A test file may define a fixture of the same name
to replace one of these (pytest takes the nearest).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Store
from tests.app_support import ARTICLE_HOST
from tests.digest_support import database_url
from tests.pg_support import DB_PARAMS
from tests.servers.article_server import ArticleServer
from tests.servers.chat_server import ChatServer, brief_from_article


@pytest.fixture(scope="session")
def event_loop_policy() -> asyncio.AbstractEventLoopPolicy:
    try:
        import uvloop
    except ImportError:
        return asyncio.DefaultEventLoopPolicy()
    return uvloop.EventLoopPolicy()


@pytest.fixture(params=DB_PARAMS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database per test: a SQLite file, and PostgreSQL when one is configured."""
    return await database_url(request.param, tmp_path)


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    s = await Store.open(db_url)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def servers() -> AsyncIterator[tuple[ArticleServer, ChatServer]]:
    """The article server and a chat server answering briefs of the article it is sent."""
    async with (
        ArticleServer(host=ARTICLE_HOST) as pages,
        ChatServer(default=brief_from_article) as chat,
    ):
        yield pages, chat
