"""The Slack HTTP endpoint refuses before it parses, and logs one short line for it.

Through the real HTTP front end (aiohttp on loopback, bolt behind it): every
unsigned, stale or malformed request gets 401 — never 500 — whatever its body, and
each refusal leaves at most one log line with no body, no header value, no query
string and no control character, at every log level the bot offers.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import redirect_stderr
from pathlib import Path

import pytest

from bot.logging_setup import setup_logging
from bot.ops.signed_requests import signature_problem
from tests.slack_helpers import (
    SIGNING_SECRET,
    SlackStack,
    event_body,
    message_event,
    signed_headers,
)

CANARY = "CANARY-MESSAGE-TEXT-7d1f"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[SlackStack]:
    async with SlackStack(tmp_path) as running:
        yield running


@pytest.fixture
def restore_logging() -> AsyncIterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _hostile_requests() -> dict[str, tuple[str, dict[str, str]]]:
    good = json.dumps(event_body(message_event(f"{CANARY} https://example.org/a?q=secret")))
    now = int(time.time())
    signed = signed_headers(good, JSON)
    nested = "[" * 100_000 + "]" * 100_000
    return {
        "unsigned": (good, dict(JSON)),
        "fractional-timestamp": (good, {**signed, "X-Slack-Request-Timestamp": f"{now}.5"}),
        "non-numeric-timestamp": (good, {**signed, "X-Slack-Request-Timestamp": "soon; X=y"}),
        "huge-timestamp": (good, {**signed, "X-Slack-Request-Timestamp": "9" * 400}),
        "negative-timestamp": (good, {**signed, "X-Slack-Request-Timestamp": "-1"}),
        "stale": (good, signed_headers(good, JSON, timestamp=now - 3600)),
        "future": (good, signed_headers(good, JSON, timestamp=now + 3600)),
        "malformed-signature": (good, {**signed, "X-Slack-Signature": "v0=zz " + CANARY}),
        "wrong-secret": (good, signed_headers(good, JSON, secret="x" * 32)),
        "non-json-body": (f"{CANARY} not json {{", {**signed_headers("x", JSON)}),
        "deeply-nested-body": (nested, {**JSON, "X-Slack-Request-Timestamp": str(now),
                                        "X-Slack-Signature": "v0=" + "0" * 64}),
        "form-body-unsigned": (
            f"payload={CANARY}&command=/linkbrief",
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        "forged-log-line": (f"x\nINFO forged {CANARY}\x1b[2J", {"Content-Type": "text/plain"}),
    }  # fmt: skip


HOSTILE = _hostile_requests()


@pytest.mark.parametrize("level", ["DEBUG", "INFO", "WARNING", "ERROR"])
async def test_every_bad_request_is_a_401_with_at_most_one_short_line(
    stack: SlackStack, restore_logging: None, level: str
) -> None:
    stream = io.StringIO()
    with redirect_stderr(stream):
        setup_logging(level, "text", [SIGNING_SECRET])
    for name, (body, headers) in HOSTILE.items():
        before = stream.getvalue().count("\n")
        status, _ = await stack.post_raw(body, headers)
        assert status == 401, name
        lines = stream.getvalue().splitlines()[before:]
        assert len(lines) <= 1, (name, lines)
    await stack.drain()
    log = stream.getvalue()
    assert CANARY not in log
    assert "q=secret" not in log and "forged" not in log and "\x1b" not in log
    assert all(len(line) < 200 for line in log.splitlines())
    if level in ("DEBUG", "INFO", "WARNING"):
        assert log.count("refused a request") == len(HOSTILE)
    assert stack.api.calls_to("chat.postMessage") == []
    assert stack.articles.total_hits == 0


async def test_a_signed_request_still_gets_through(stack: SlackStack) -> None:
    body = {"token": "t", "challenge": "c" * 20, "type": "url_verification"}
    raw = json.dumps(body)
    status, text = await stack.post_raw(raw, signed_headers(raw, JSON))
    assert status == 200 and "c" * 20 in text


@pytest.mark.parametrize(
    ("timestamp", "signature", "reason"),
    [
        (None, "v0=" + "0" * 64, "unsigned"),
        ("123", None, "unsigned"),
        ("1.5", "v0=" + "0" * 64, "malformed-timestamp"),
        ("١٢٣", "v0=" + "0" * 64, "malformed-timestamp"),  # Arabic-Indic digits: int() takes them
        ("1", "v0=" + "0" * 64, "stale"),
        ("NOW", "v1=" + "0" * 64, "malformed-timestamp"),
    ],
)
def test_signature_problems_are_named_without_parsing(
    timestamp: str | None, signature: str | None, reason: str
) -> None:
    assert signature_problem("secret", timestamp, signature, b"{", time.time()) == reason
