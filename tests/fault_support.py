"""Helpers for the fault-injection suite (tests/adversarial/test_faults_*.py, test_fanout_cap.py).

``restart_slack`` is a fresh process as far as the bot can tell: a new App and a
new Slack front end on the same SQLite file, with a short lease so links a
killed process held are taken over quickly. ``CrashWorker`` runs
``tests/crash_worker.py`` as a real subprocess against the test's fakes, to be
SIGKILLed in the middle of a brief (Slack, or the real discord.py bot for
Discord). ``bot_messages`` reads what a person would see in the fake Slack: the
bot's messages, as they stand after every update; ``discord_bot_messages`` the
same in the fake Discord.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from bot.app import build_app, build_slack
from tests.discord_helpers import DiscordStack
from tests.servers.slack_api import ApiCall
from tests.slack_helpers import SlackStack

ROOT = Path(__file__).resolve().parents[1]
SHORT_LEASE_S = 1.0


def posts(stack: SlackStack) -> list[ApiCall]:
    return stack.api.calls_to("chat.postMessage")


def updates(stack: SlackStack) -> list[ApiCall]:
    return stack.api.calls_to("chat.update")


def bot_messages(stack: SlackStack, channel: str = "C0001") -> list[dict[str, Any]]:
    """The bot's messages in ``channel`` as they stand now, oldest first."""
    found = [m for (c, _), m in stack.api.messages.items() if c == channel]
    return sorted(
        (m for m in found if m.get("bot_id") == stack.api.bot_id), key=lambda m: float(m["ts"])
    )


def message_text(message: dict[str, Any]) -> str:
    return json.dumps({"text": message.get("text"), "blocks": message.get("blocks")})


def is_placeholder(message: dict[str, Any]) -> bool:
    return str(message.get("text", "")).startswith("Reading ")


async def restart_slack(stack: SlackStack, lease_s: float = SHORT_LEASE_S) -> None:
    """Stop the in-process bot (if any) and start a new one on the same database."""
    await stack.stop_bot()
    stack.app = await build_app(stack.settings())
    stack.front = await build_slack(stack.app, http_host="127.0.0.1", http_port=0, lease_s=lease_s)
    await stack.front.start()


class CrashWorker:
    """``python -m tests.crash_worker`` in a subprocess, killed with SIGKILL by the test."""

    def __init__(self, platform: str, settings: dict[str, Any], lease_s: float = SHORT_LEASE_S):
        self.platform = platform
        self.settings = settings
        self.lease_s = lease_s
        self.proc: asyncio.subprocess.Process | None = None
        self.port: int | None = None

    async def start(self, timeout: float = 120.0) -> CrashWorker:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.crash_worker", self.platform,
            "--settings", json.dumps(self.settings), "--lease-s", str(self.lease_s),
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                line = (await self.proc.stdout.readline()).decode()
                if not line:
                    err = await self.proc.stderr.read() if self.proc.stderr else b""
                    raise RuntimeError(f"crash worker died before READY: {err.decode()[-2000:]}")
                if line.startswith("READY"):
                    self.port = int(line.split()[1])
                    return self

    async def kill(self) -> int:
        """SIGKILL: no cleanup, no graceful stop, exactly like a crash or an OOM kill."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        return await self.proc.wait()

    async def aclose(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            await self.kill()


def slack_worker_settings(stack: SlackStack) -> dict[str, Any]:
    """The stack's settings as plain values, for a worker process on the same fakes and file."""
    settings = stack.settings()
    secrets = ("slack_bot_token", "slack_signing_secret", "openai_api_key")
    values: dict[str, Any] = {name: getattr(settings, name).get_secret_value() for name in secrets}
    values |= {
        "database_url": settings.database_url,
        "fetch_allowed_private_hosts": "127.0.0.2",
        "slack_mode": "http",
        "slack_api_base_url": settings.slack_api_base_url,
        "openai_base_url": settings.openai_base_url,
        "summarizer": "llm",
        "llm_max_retries": 0,
    }
    return values


def discord_worker_settings(stack: DiscordStack) -> dict[str, Any]:
    """The Discord stack's settings as plain values, for a worker on the same fakes and file."""
    settings = stack.settings()
    assert settings.discord_token is not None
    values: dict[str, Any] = {
        "discord_token": settings.discord_token.get_secret_value(),
        "discord_api_base_url": settings.discord_api_base_url,
        "discord_gateway_url": settings.discord_gateway_url,
        "database_url": settings.database_url,
        "fetch_allowed_private_hosts": "127.0.0.2",
        "summarizer": settings.summarizer,
        "brief_cache_ttl_s": 0,
        "llm_max_retries": 0,
    }
    if settings.openai_api_key is not None:
        values["openai_api_key"] = settings.openai_api_key.get_secret_value()
        values["openai_base_url"] = settings.openai_base_url
    return values


def discord_bot_messages(stack: DiscordStack, channel_id: int | str) -> list[dict[str, Any]]:
    """The bot's messages in ``channel_id`` (a thread's id is its message's) as they stand."""
    found = [m for m in stack.fake.messages.values() if m["channel_id"] == str(channel_id)]
    return sorted(found, key=lambda m: int(m["id"]))
