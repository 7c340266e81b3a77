"""Canary secrets and the check that none of them leaked, for every flow's secrets test.

Use it in any flow (pipeline, Slack, Discord, CLI)::

    settings = load_settings(None, **canary_settings(), ...)
    with captured_logs(settings) as logs:        # DEBUG, the app's own redacting handler
        ... run the flow ...
    assert_no_canaries(logs.text, where="logs")
    assert_no_canaries(exception_text(error), where="exception")

A canary counts as leaked if it appears whole, URL-encoded, or as any
``FRAGMENT`` characters of it (a truncated echo is still a leak).
"""

from __future__ import annotations

import io
import logging
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from bot.config import Settings
from bot.logging_setup import setup_logging

# Shaped like the real ones, so shape-based redaction is exercised too; no two
# share a FRAGMENT, so a finding names the right secret.
CANARIES: dict[str, str] = {
    "slack_bot_token": "xoxb-1111111111-2222222222-CanaryBotTokenAbCdEf0123",
    "slack_app_token": "xapp-1-A0CANARY01-3333333333-canaryapptoken0123456789abcdef",
    "slack_signing_secret": "c4a7a71e5e0e7c0ffee5ca1ab1e0d15c",
    "discord_token": "MTE5OTk5OTk5OTk5OTk5OTk5OQ.GcAnRy.canaryDiscordTokenQwErTyUiOpAsDfGh",
    "openai_api_key": "sk-canary-proj-AbCdEfGhIjKlMnOpQrStUvWxYz012345",
}
FRAGMENT = 16  # characters of a canary that are enough to call it leaked
# Libraries pinned to INFO by setup_logging, which this capture restores afterwards.
_NOISY = ("httpx", "httpcore", "openai", "aiosqlite", "asyncio")


def canary_settings() -> dict[str, str]:
    """Settings overrides that configure every secret with its canary."""
    return dict(CANARIES)


def _fragments(secret: str) -> Iterator[str]:
    if len(secret) <= FRAGMENT:
        yield secret
        return
    for start in range(len(secret) - FRAGMENT + 1):
        yield secret[start : start + FRAGMENT]


def find_canaries(text: str, canaries: dict[str, str] | None = None) -> list[str]:
    """The names of the canaries found in ``text`` (whole, URL-encoded or a fragment)."""
    found = []
    for name, secret in (canaries or CANARIES).items():
        forms = {quote(secret, safe=""), *_fragments(secret)}
        if any(form in text for form in forms):
            found.append(name)
    return found


def assert_no_canaries(text: str, *, where: str, canaries: dict[str, str] | None = None) -> None:
    leaked = find_canaries(text, canaries)
    assert not leaked, f"secret canaries {leaked} leaked into {where}"


def exception_text(error: BaseException) -> str:
    """Everything an exception shows: message, repr, args and traceback, for it and every
    exception chained to it, following the rules ``traceback`` and error trackers use
    (``raise ... from None`` suppresses the context)."""
    parts: list[str] = []
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        parts += [str(current), repr(current), *traceback.format_exception(current)]
        parts += [repr(arg) for arg in current.args]
        pending.append(current.__cause__)
        if not current.__suppress_context__:
            pending.append(current.__context__)
    return "\n".join(parts)


@dataclass
class CapturedLogs:
    """What the app's log handler wrote, and every record's raw text before redaction."""

    stream: io.StringIO = field(default_factory=io.StringIO)
    raw: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    @property
    def raw_text(self) -> str:
        return "\n".join(self.raw)


class _RawRecorder(logging.Handler):
    """Runs before the redacting handler (which rewrites records in place)."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += "\n" + exception_text(record.exc_info[1])
        self._sink.append(f"{record.name}: {text}")


@contextmanager
def captured_logs(settings: Settings, fmt: str = "text") -> Iterator[CapturedLogs]:
    """Log at DEBUG through ``setup_logging`` (the app's own handler and redaction)."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_noisy = {name: logging.getLogger(name).level for name in _NOISY}
    captured = CapturedLogs()
    with redirect_stderr(captured.stream):  # the handler keeps the stream it is built with
        setup_logging("DEBUG", fmt, settings.secrets())
    root.handlers.insert(0, _RawRecorder(captured.raw))
    try:
        yield captured
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, level in saved_noisy.items():
            logging.getLogger(name).setLevel(level)


def assert_texts_clean(texts: Iterable[tuple[str, Any]]) -> None:
    """``assert_no_canaries`` over ``(where, value)`` pairs; non-strings are ``repr``'d."""
    for where, value in texts:
        assert_no_canaries(value if isinstance(value, str) else repr(value), where=where)
