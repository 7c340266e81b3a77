"""Logging: text or JSON lines, and every configured secret redacted.

The redaction filter runs on the formatted message and on exception text, so a
token that slips into an f-string or a library's error still never reaches
the log. The same filter keeps every record to one bounded line: control
characters are escaped by the text format (a hostile string cannot forge a second
log line or steer a terminal; JSON escapes them itself) and a message is cut at
``MAX_MESSAGE_CHARS``.

Libraries that log what people wrote (Slack's Socket Mode envelopes and Web API
bodies, Discord's gateway events at DEBUG; bolt's refused-request line at INFO)
are held at a level where they do not, whatever ``LOG_LEVEL`` says.
"""

from __future__ import annotations

import errno
import json
import logging
import re
import socket
import sys
import time

MAX_MESSAGE_CHARS = 2000
MAX_EXCEPTION_CHARS = 8000
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")
_CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f\u0085\u2028\u2029]")
# Loggers that would write message text or payloads below these levels.
_PAYLOAD_LOGGERS = {
    "slack_bolt": logging.WARNING,
    "bot.adapters.slack.bolt": logging.WARNING,
    "slack_sdk": logging.INFO,
    "bot.adapters.slack.web": logging.INFO,
    "discord": logging.INFO,
    "websockets": logging.INFO,
    "aiohttp.access": logging.WARNING,
}

# Token shapes we never want in a log even if they are not our configured ones.
_TOKEN_SHAPES = re.compile(
    r"\b(xox[abposr]-[A-Za-z0-9-]{6,}|xapp-[A-Za-z0-9-]{6,}|sk-[A-Za-z0-9_-]{12,})"
)


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return _TOKEN_SHAPES.sub("[redacted]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = _bounded(self.redact(record.getMessage()), MAX_MESSAGE_CHARS)
        record.msg, record.args = message, None
        if record.exc_info and record.exc_info[1] is not None:
            text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_text = _bounded(_CONTROL_BUT_NEWLINE.sub(_escape, text), MAX_EXCEPTION_CHARS)
            record.exc_info = None
        return True


# Exception classes (by name, so no client library is imported here) that mean "the
# network or the service went away": aiohttp's, websockets', discord.py's, asyncpg's.
_NETWORK_ERRORS = frozenset({
    "ClientConnectionError", "ClientConnectorError", "ClientOSError", "ServerDisconnectedError",
    "ServerTimeoutError", "WSServerHandshakeError", "ConnectionClosed", "GatewayNotFound",
    "InvalidStatus", "ConnectionDoesNotExistError", "CannotConnectNowError",
    "APIConnectionError", "APITimeoutError", "DiscordServerError",
})  # fmt: skip
_NETWORK_ERRNOS = frozenset({
    errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN,
    errno.ECONNABORTED, errno.ECONNREFUSED, errno.ECONNRESET, errno.ETIMEDOUT, errno.EPIPE,
})  # fmt: skip


def is_network_error(exc: BaseException) -> bool:
    """A lost or refused connection, DNS failure or timeout: a retry, not a bug."""
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
        return True
    if isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS:
        return True
    return any(cls.__name__ in _NETWORK_ERRORS for cls in type(exc).__mro__)


class OneLineRetries(logging.Filter):
    """Client libraries log each reconnect attempt with a full traceback (Slack's Socket
    Mode every few seconds, discord.py with its backoff delay). A lost connection is not
    a bug: keep the library's own line (it says what it does next) and add the reason,
    so each retry is one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not is_network_error(exc):
            return True
        message = record.getMessage()
        reason = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        if str(exc) and str(exc) in message:
            reason = type(exc).__name__
        record.msg, record.args = f"{message} [{reason}]", None
        record.exc_info, record.exc_text = None, None
        return True


def _escape(match: re.Match[str]) -> str:
    return ascii(match.group(0))[1:-1]  # "\n", "\x1b", "\u2028"


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…[{len(text) - limit} more chars]"


class OneLineFormatter(logging.Formatter):
    """The text format: a message's control characters escaped, so a record is one line.

    (The JSON format needs no such help: ``json.dumps`` escapes them.)
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _CONTROL.sub(_escape, record.message)
        return super().formatMessage(record)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_text:
            payload["exc"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False)


def setup_logging(level: str, fmt: str, secrets: list[str]) -> RedactingFilter:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else OneLineFormatter("%(levelname)s %(name)s: %(message)s")
    )
    redactor = RedactingFilter(secrets)
    handler.addFilter(OneLineRetries())  # first: the redactor formats what is left
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries that log request headers (tokens) at DEBUG, or announce every
    # request or migration at INFO, only log problems.
    for noisy in (
        "httpx",
        "httpcore",
        "httpx2",
        "httpcore2",
        "openai",
        "aiosqlite",
        "asyncio",
        "alembic",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    for name, floor in _PAYLOAD_LOGGERS.items():
        logging.getLogger(name).setLevel(max(floor, logging.getLevelName(level)))
    return redactor
