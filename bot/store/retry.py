"""Bounded retries for store calls that hit a *transient* database failure.

Two failures are worth a second try, because the statement never took effect:

* SQLite ``database is locked``: another process held the write lock for longer
  than ``busy_timeout`` (a backup, a long migration, an operator's shell);
* a PostgreSQL connection that died under us (server restarted, backend
  terminated): the pool throws the connection away (``connection_invalidated``)
  and the retry gets a fresh one.

Anything else (constraint violations, syntax errors, a missing table) is a bug
or a real outage and propagates at once. The number of attempts is bounded so a
caller is never stuck forever; every retry is logged.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)

ATTEMPTS = 6
BASE_DELAY_S = 0.1
MAX_DELAY_S = 2.0
_LOCKED_MARKERS = ("database is locked", "database table is locked")

P = ParamSpec("P")
T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    """True for a failure that left nothing behind and may pass: a lock or a lost connection."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError) and any(m in str(exc) for m in _LOCKED_MARKERS)


def retry_delay(attempt: int) -> float:
    """Backoff before attempt ``attempt + 1``: 0.1 s, 0.2 s, 0.4 s... capped at 2 s."""
    return float(min(MAX_DELAY_S, BASE_DELAY_S * 2 ** (attempt - 1)))


def retrying(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Wrap a store coroutine so transient failures are retried with backoff, a bounded number
    of times. Each wrapped call is one transaction, so a retry repeats the whole of it."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        attempt = 1
        while True:
            try:
                return await method(*args, **kwargs)
            except DBAPIError as exc:
                if attempt >= ATTEMPTS or not is_transient(exc):
                    raise
                delay = retry_delay(attempt)
                log.warning(
                    "store: %s failed (%s); retry %d/%d in %.1f s",
                    method.__name__,
                    "connection lost" if exc.connection_invalidated else "database locked",
                    attempt,
                    ATTEMPTS - 1,
                    delay,
                )
                await asyncio.sleep(delay)
                attempt += 1

    return wrapper
