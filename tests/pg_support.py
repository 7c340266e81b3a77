"""The throwaway PostgreSQL that store, digest and fault tests also run on.

``.ci/run`` starts it (``scripts/pg_test_server.sh``) and exports
``LINKBRIEF_TEST_PG_URL``; without it the PostgreSQL cases are skipped.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

import bot.store  # noqa: F401  (registers every table, the digest ones included, on Base)
from bot.store.tables import Base

PG_URL = os.environ.get("LINKBRIEF_TEST_PG_URL", "")
NEEDS_PG = pytest.mark.skipif(not PG_URL, reason="LINKBRIEF_TEST_PG_URL not set")
DB_PARAMS = ["sqlite", pytest.param("postgresql", marks=NEEDS_PG)]


async def reset_postgres(url: str = PG_URL) -> None:
    """Drop every store table and Alembic's version, so the next open migrates afresh."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for table in [*Base.metadata.tables, "alembic_version"]:
                await conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}" CASCADE')
    finally:
        await engine.dispose()
