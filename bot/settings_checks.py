"""Checks on single settings whose mistakes have a known fix (used by ``bot.config``).

Each check returns the value or raises ``ValueError`` with a message that
starts with the setting's name and ends with what to write instead, so the
operator sees one line such as::

    DATABASE_URL uses postgresql:// — use postgresql+asyncpg://u:***@db/linkbrief

Passwords are never repeated back (a start-up line lands in logs).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

EXAMPLE_DB_URLS = "sqlite+aiosqlite:///linkbrief.db or postgresql+asyncpg://user:pass@host/db"
# The async driver linkbrief ships with, per database.
_ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}
# Spellings people copy from other tools' docs, mapped to the database they mean.
_ALIASES = {"postgres": "postgresql", "pg": "postgresql", "sqlite3": "sqlite"}


def check_database_url(value: str) -> str:
    """A URL SQLAlchemy can open with the async drivers linkbrief installs."""
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        raise ValueError(
            f"DATABASE_URL {_shown(value)!r} is not a database URL — use {EXAMPLE_DB_URLS}"
        ) from None
    backend = _ALIASES.get(url.get_backend_name(), url.get_backend_name())
    driver = url.get_driver_name() if "+" in url.drivername else ""
    wanted = _ASYNC_DRIVERS.get(backend)
    if wanted is None:
        raise ValueError(
            f"DATABASE_URL uses {url.drivername}:// — linkbrief stores its data in SQLite or "
            f"PostgreSQL: use {EXAMPLE_DB_URLS}"
        )
    if driver != wanted:
        fixed = url.set(drivername=f"{backend}+{wanted}")
        raise ValueError(
            f"DATABASE_URL uses {url.drivername}:// — use {_render(fixed)}"
            + ("" if not driver else f" (linkbrief talks to {backend} through {wanted})")
        )
    if backend == "postgresql" and not url.host:
        raise ValueError(
            "DATABASE_URL names no PostgreSQL host — use postgresql+asyncpg://user:pass@host/db"
        )
    return value


def check_http_url(name: str, value: str | None) -> str | None:
    """An absolute http(s) URL (``OPENAI_BASE_URL``, ``SLACK_API_BASE_URL``…)."""
    return _check_url(name, value, ("http", "https"), "https://…")


def check_ws_url(name: str, value: str | None) -> str | None:
    """An absolute ws(s) URL (``DISCORD_GATEWAY_URL``)."""
    return _check_url(name, value, ("ws", "wss"), "wss://…")


def _check_url(name: str, value: str | None, schemes: tuple[str, ...], example: str) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in schemes or not parts.hostname:
        raise ValueError(
            f"{name} {_shown(value)!r} is not a {'/'.join(schemes)} URL — write it in full, "
            f"e.g. {example}"
        )
    return value.strip()


def check_token_prefix(name: str, value: str, prefix: str, where: str) -> None:
    """Slack tokens announce their kind; a swapped or truncated one is caught before Slack is."""
    if value.startswith(prefix):
        return
    kind = value.split("-", 1)[0] + "-" if "-" in value[:6] else "something else"
    raise ValueError(
        f"{name} should start with {prefix} but starts with {kind} — copy it from {where}"
    )


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _shown(value: str) -> str:
    """The value as typed, without a password if it has the shape of a URL with one."""
    try:
        return _render(make_url(value)) if "@" in value else value
    except (ArgumentError, ValueError):
        return value.split("@")[-1] if "@" in value else value
