"""Engine, SQLite tuning, migrations and the dialect-aware upsert helper.

``create_engine(url)`` builds an async engine for ``sqlite+aiosqlite://`` or
``postgresql+asyncpg://``; ``migrate(engine)`` brings its schema to the newest
Alembic revision. The migration scripts live inside this package, so both work
from an installed package and from any working directory.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from bot.errors import ConfigError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
SUPPORTED_DIALECTS = ("sqlite", "postgresql")
MIGRATION_LOCK_ID = 7402310118  # any constant; PostgreSQL advisory lock for migrations

# Execution option naming how a SQLite transaction starts: "IMMEDIATE" takes the
# write lock at BEGIN, so whoever comes second waits (busy_timeout) instead of
# failing half-way. Migrations use it so two processes starting at once on a new
# file do not both try to create the tables.
SQLITE_BEGIN = "linkbrief_sqlite_begin"


def create_engine(database_url: str) -> AsyncEngine:
    """An async engine for ``database_url``; SQLite files get WAL and a busy timeout."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend not in SUPPORTED_DIALECTS:
        raise ValueError(
            f"unsupported DATABASE_URL backend {backend!r}: use sqlite+aiosqlite:// "
            "or postgresql+asyncpg://"
        )
    if backend != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)

    database = url.database or ""
    if not is_sqlite_file(url):
        # Each connection to ":memory:" is a separate database: keep exactly one,
        # and let tasks queue for it (a shared connection would mix transactions).
        engine = create_async_engine(
            url,
            poolclass=AsyncAdaptedQueuePool,
            pool_size=1,
            max_overflow=0,
            connect_args={"check_same_thread": False},
        )
    else:
        if not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    tune_sqlite(engine.sync_engine)
    return engine


def is_sqlite_file(url: URL) -> bool:
    """A SQLite database in a file (not in memory): several connections see the same data."""
    database = url.database or ""
    return database not in ("", ":memory:") and url.query.get("mode") != "memory"


def tune_sqlite(engine: Engine) -> None:
    """Busy timeout, ``synchronous=NORMAL`` and explicit BEGINs on every new connection."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit BEGIN comes too late (only before DML) and
        # commits before DDL; take over transaction control so every
        # transaction, DDL included, is exactly what SQLAlchemy asked for.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            # Safe with WAL (see ensure_wal), and far fewer fsyncs per commit.
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


async def ensure_wal(engine: AsyncEngine) -> None:
    """Put a SQLite file in WAL mode, so readers and one writer work at once, across processes.

    The mode is stored in the file, so once is enough. Switching needs a moment
    alone with the file and SQLite does not wait for it (no busy handler here):
    several processes opening a brand-new file at once retry for a while.
    """
    if engine.dialect.name != "sqlite" or not is_sqlite_file(engine.url):
        return
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        # The driver's own connection: no SQLAlchemy transaction, which would forbid the switch.
        driver = raw.driver_connection
        assert driver is not None
        while True:
            try:
                cursor = await driver.execute("PRAGMA journal_mode=WAL")
                row = await cursor.fetchone()
                await cursor.close()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.02)
                continue
            if row is None or str(row[0]).lower() != "wal":
                # Some file systems (network shares) cannot do WAL: still works, one at a time.
                log.warning("SQLite stays in journal_mode=%s: no WAL on this file system", row)
            return


def startup_error(exc: BaseException, database_url: str) -> ConfigError | None:
    """One line for a database that cannot be opened at start, naming DATABASE_URL and a fix.

    ``None`` when ``exc`` is not about reaching or opening the database (a bug: let it
    surface). Walks the exception chain: SQLAlchemy wraps the driver's error, which
    wraps the socket's.
    """
    url = make_url(database_url)
    shown = url.render_as_string(hide_password=True)
    where = f"{url.host or 'localhost'}:{url.port or 5432}" if url.host else shown
    for cause in _chain(exc):
        name = type(cause).__name__
        text = str(cause).strip().splitlines()[0] if str(cause).strip() else name
        if name in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError"):
            return ConfigError(
                f"DATABASE_URL: PostgreSQL at {where} refused user {url.username!r} ({text}) "
                "— check the user and password in DATABASE_URL"
            )
        if name == "InvalidCatalogNameError":
            return ConfigError(
                f"DATABASE_URL: PostgreSQL at {where} has no database {url.database!r} "
                f"— create it (createdb {url.database}) or fix DATABASE_URL"
            )
        if isinstance(cause, socket.gaierror):
            return ConfigError(
                f"DATABASE_URL: cannot find the database host {url.host!r} ({cause.strerror}) "
                "— check the host name in DATABASE_URL"
            )
        if isinstance(cause, ConnectionRefusedError | TimeoutError) or name in _UNREACHABLE:
            return ConfigError(
                f"DATABASE_URL: cannot reach PostgreSQL at {where} ({text}) "
                "— start the server or fix the host and port in DATABASE_URL"
            )
        if isinstance(cause, sqlite3.Error | OSError) and url.get_backend_name() == "sqlite":
            return ConfigError(
                f"DATABASE_URL: cannot open the SQLite file {url.database!r} ({text}) "
                "— use a path in a writable directory"
            )
    return None


# Driver errors that mean "the server is not there (any more)".
_UNREACHABLE = ("CannotConnectNowError", "ConnectionDoesNotExistError", "ConnectionFailureError")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        cause = todo.pop(0)
        if cause is None or any(cause is s for s in seen) or len(seen) > 20:
            continue
        seen.append(cause)
        todo += [getattr(cause, "orig", None), cause.__cause__, cause.__context__]
    return seen


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    cfg = Config()
    # ConfigParser interpolates "%", so escape it in the path.
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Run ``alembic upgrade <revision>`` on ``engine`` in one transaction.

    Two processes starting at once must not both create the tables: on SQLite
    the transaction takes the write lock at BEGIN, on PostgreSQL an advisory
    lock; whoever comes second waits and then finds the schema up to date.
    """
    await ensure_wal(engine)
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            await conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        async with conn.begin():
            if engine.dialect.name == "postgresql":
                await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
            await conn.run_sync(_upgrade, revision)


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


def insert_for(conn: AsyncConnection | Connection, entity: Any) -> Any:
    """An INSERT that supports ``on_conflict_do_nothing/update`` on this backend."""
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(entity)
    if name == "sqlite":
        return sqlite.insert(entity)
    raise NotImplementedError(f"no upsert support for dialect {name!r}")
