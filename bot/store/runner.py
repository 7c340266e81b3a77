"""One store transaction per thread hop: a plain function of a ``Connection``, run whole.

Through SQLAlchemy's asyncio layer and aiosqlite, every step of a transaction
(BEGIN, cursor, execute, fetch, close, COMMIT) is its own hand-off to the
driver's thread and back to the event loop: about 1–1.5 ms of CPU for a
one-row read or write (measured), against ~0.17 ms for the same transaction run
synchronously in a worker thread. The hot store calls (a dozen per briefed
link) therefore go through ``TransactionRunner``:

* a SQLite *file*: a synchronous engine on the same file, writes on one thread
  (this process's writers never make each other sleep in SQLite's busy
  handler). Reads run right on the event loop, on a connection of their own
  that never waits for a lock: under WAL a reader does not wait for writers,
  and a one-row read takes ~0.1 ms where the hop to a thread and back took
  ~1 ms on a busy loop (bench/own_work.py). In the rare case SQLite answers
  "busy" to a reader (a checkpoint or crash recovery in another process) the
  read goes to a small pool of reader threads that may wait;
* anything else (PostgreSQL, in-memory SQLite, where a second engine would see
  another database): the async engine, the same function through ``run_sync``.

A caller cancelled while its transaction runs in a thread does not stop it: the
transaction completes (or fails) as a whole, exactly as if the cancellation had
come just after it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import db
from bot.store.retry import is_transient

T = TypeVar("T")
READ_THREADS = 2


class TransactionRunner:
    """``await write(fn)`` / ``await read(fn)``: ``fn(conn)`` in one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sync: Engine | None = None
        self._writer: concurrent.futures.ThreadPoolExecutor | None = None
        self._readers: concurrent.futures.ThreadPoolExecutor | None = None
        self._loop_reads: Engine | None = None  # reads on the event loop, never waiting
        url = engine.url
        if url.get_backend_name() == "sqlite" and db.is_sqlite_file(url):
            self._sync = create_sync_engine(
                url.set(drivername="sqlite"),
                pool_size=READ_THREADS + 1,
                connect_args={
                    "timeout": db.SQLITE_BUSY_TIMEOUT_MS / 1000,
                    "check_same_thread": False,  # pooled: any of our threads may take it
                },
            )
            db.tune_sqlite(self._sync)
            self._loop_reads = create_sync_engine(
                url.set(drivername="sqlite"),
                pool_size=1,
                connect_args={"check_same_thread": False},
            )
            db.tune_sqlite(self._loop_reads)
            event.listen(self._loop_reads, "connect", _never_wait)  # after tune_sqlite's
            self._writer = concurrent.futures.ThreadPoolExecutor(1, "store-write")
            self._readers = concurrent.futures.ThreadPoolExecutor(READ_THREADS, "store-read")

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """``fn`` in a read-write transaction, committed before this returns."""
        if self._sync is None or self._writer is None:
            async with self._engine.begin() as conn:
                return await conn.run_sync(fn)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, _in_transaction, self._sync, fn)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """``fn`` in a read-only transaction (rolled back, never committed)."""
        if self._sync is None or self._readers is None or self._loop_reads is None:
            async with self._engine.connect() as conn:
                return await conn.run_sync(fn)
        try:
            return _reading(self._loop_reads, fn)
        except OperationalError as exc:
            if not is_transient(exc):
                raise
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, _reading, self._sync, fn)

    async def close(self) -> None:
        """Let transactions already handed to a thread finish, then close the connections."""
        pools = [p for p in (self._writer, self._readers) if p is not None]
        for pool in pools:
            await asyncio.to_thread(pool.shutdown, True)
        if self._sync is not None:
            self._sync.dispose()
        if self._loop_reads is not None:
            self._loop_reads.dispose()


def _in_transaction(engine: Engine, fn: Callable[[Connection], T]) -> T:
    with engine.begin() as conn:
        return fn(conn)


def _reading(engine: Engine, fn: Callable[[Connection], T]) -> T:
    with engine.connect() as conn:
        return fn(conn)


def _never_wait(dbapi_connection: Any, _record: Any) -> None:
    """The event loop's read connection answers "busy" at once instead of sleeping."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=0")
    finally:
        cursor.close()
