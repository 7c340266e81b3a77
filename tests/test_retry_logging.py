"""Lost connections are one log line per retry, never a traceback; a closed stdout
ends the command quietly."""

from __future__ import annotations

import io
import logging
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.logging_setup import OneLineRetries, RedactingFilter, is_network_error


def _dns_failure() -> aiohttp.ClientConnectorDNSError:
    key = aiohttp.client_reqrep.ConnectionKey("slack.com", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorDNSError(key, socket.gaierror(-2, "Name or service not known"))


def _log_with(exc: BaseException, message: str) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(OneLineRetries())
    handler.addFilter(RedactingFilter([]))
    logger = logging.getLogger("test.retry")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise exc
        except BaseException:
            logger.exception(message)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


@pytest.mark.parametrize(
    "exc",
    [
        _dns_failure(),
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        aiohttp.ServerDisconnectedError(),
        OSError(101, "Network is unreachable"),
    ],
    ids=["dns", "refused", "reset", "timeout", "server-disconnected", "unreachable"],
)
def test_a_lost_connection_is_one_line_with_its_reason(exc: BaseException) -> None:
    text = _log_with(exc, "Failed to connect; Retrying...")
    assert text.count("\n") == 1, text
    assert "Traceback" not in text
    assert text.startswith("ERROR test.retry: Failed to connect; Retrying... [")
    assert type(exc).__name__ in text


def test_a_bug_keeps_its_traceback() -> None:
    text = _log_with(KeyError("slot"), "Failed to run a listener")
    assert "Traceback" in text and "KeyError" in text
    assert not is_network_error(KeyError("slot"))
    assert not is_network_error(FileNotFoundError(2, "No such file"))


def test_closed_stdout_ends_quietly(tmp_path: Path) -> None:
    """`linkbrief extract FILE | head -c 10`: no BrokenPipeError, no traceback."""
    page = tmp_path / "long.txt"
    page.write_text(
        "\n\n".join(f"Paragraph {i} says the minister would decide soon. " * 20 for i in range(300))
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "extract", str(page)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"},
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10)
    proc.stdout.close()  # the reader leaves, as `head` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ""
