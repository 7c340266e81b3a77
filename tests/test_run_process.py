"""``linkbrief run`` as a real process in Slack HTTP mode: it serves events,
/healthz and /metrics on one port, briefs a link, and stops cleanly on SIGTERM
(what a service manager sends), leaving nothing half-written."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.servers.article_server import ArticleServer
from tests.servers.slack_api import BOT_TOKEN, SlackApiServer
from tests.slack_helpers import SIGNING_SECRET, event_body, message_event, signed_headers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


STARTUP_S = 180.0  # a bound for a bot that hangs, far beyond any loaded start


async def test_run_serves_slack_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    async with SlackApiServer() as api, ArticleServer(host="127.0.0.2") as articles:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
        env |= {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_MODE": "http",
            "SLACK_HTTP_PORT": str(port),
            "SLACK_API_BASE_URL": api.url,
            "SUMMARIZER": "extractive",
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
            "FETCH_ALLOWED_PRIVATE_HOSTS": "127.0.0.2",
        }
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession() as http:
                # Until the port answers, however long a loaded machine takes to start the
                # bot (STARTUP_S is only there so a bot that never starts fails the test).
                started = time.monotonic()
                while True:
                    try:
                        async with http.get(f"{base}/healthz") as resp:
                            if resp.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    assert bot.poll() is None, bot.stdout.read() if bot.stdout else ""
                    assert time.monotonic() - started < STARTUP_S, "the bot never served /healthz"
                    await asyncio.sleep(0.05)
                body = json.dumps(
                    event_body(message_event(f"<{articles.url('/pages/example_article.html')}>"))
                )
                headers = signed_headers(body, {"Content-Type": "application/json"})
                async with http.post(f"{base}/slack/events", data=body, headers=headers) as resp:
                    assert resp.status == 200
                await api.wait_for(lambda: bool(api.calls_to("chat.update")), timeout=STARTUP_S)
                assert len(api.calls_to("chat.postMessage")) == 1
                assert len(api.calls_to("chat.update")) == 1
                async with http.get(f"{base}/metrics") as resp:
                    assert "linkbrief_briefs_total" in await resp.text()
            bot.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(bot.wait, STARTUP_S)
            output = bot.stdout.read().decode() if bot.stdout else ""
            assert code == 0, output
            assert "Traceback" not in output
        finally:
            if bot.poll() is None:
                bot.kill()
                bot.wait()
