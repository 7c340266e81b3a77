"""Shared pieces for the Slack end-to-end tests and the Slack benchmark.

``SlackStack`` starts every real part on loopback: the fake Slack Web API, the
article server (127.0.0.2), the scripted chat server, a real SQLite store and
the real bolt app behind ``SlackFrontEnd`` (HTTP mode or Socket Mode). Events
are signed exactly as Slack signs them (``v0`` HMAC-SHA256).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.adapters.slack import SlackFrontEnd
from bot.app import App, build_app, build_slack
from bot.config import Settings, load_settings
from tests.servers.article_server import ArticleServer
from tests.servers.chat_server import ChatServer, Reply, brief_from_article
from tests.servers.slack_api import APP_TOKEN, BOT_TOKEN, SlackApiServer
from tests.servers.slack_socket import SlackSocketServer

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
PAGE = "/pages/example_article.html"
_ts = itertools.count(1)


def next_ts() -> str:
    return f"{int(time.time())}.{next(_ts):06d}"


def signed_headers(
    body: str,
    extra: dict[str, str] | None = None,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The headers Slack sends: ``X-Slack-Request-Timestamp`` and the ``v0=`` signature."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = f"v0:{ts}:{body}".encode()
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature, **(extra or {})}


def event_body(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": "T00000001",
        "api_app_id": "A00000001",
        "type": "event_callback",
        "event_id": event_id or "Ev" + uuid.uuid4().hex[:12].upper(),
        "event_time": int(time.time()),
        "event": event,
    }


def message_event(
    text: str, *, channel: str = "C0001", user: str = "U0001", ts: str | None = None, **extra: Any
) -> dict[str, Any]:
    event = {
        "type": "message", "channel": channel, "user": user, "text": text,
        "ts": ts or next_ts(), "channel_type": "channel",
    }  # fmt: skip
    event.update(extra)
    return event


def reaction_event(
    channel: str, ts: str, *, reaction: str = "memo", user: str = "U0002"
) -> dict[str, Any]:
    return {
        "type": "reaction_added", "user": user, "reaction": reaction, "item_user": "U0001",
        "item": {"type": "message", "channel": channel, "ts": ts}, "event_ts": next_ts(),
    }  # fmt: skip


def poisoned_model(body: dict[str, Any]) -> Reply:
    """A model answer that tries to ping the channel and to smuggle a foreign link."""
    reply = brief_from_article(body)
    answer = dict(reply.obj)
    answer["summary"] = (
        "<!channel> " + answer["summary"] + " Read more at https://evil.example/phish "
        "and <https://evil.example/x|this page> @here."
    )
    if answer["claims"]:
        first = dict(answer["claims"][0])
        first["speaker"] = "<!everyone> the author"
        answer["claims"] = [first, *answer["claims"][1:]]
    return Reply(answer)


class SlackStack:
    """Fakes + a real App + the real Slack front end; ``restart()`` keeps the database."""

    def __init__(self, tmp_path: Path, *, mode: str = "http", **settings: Any) -> None:
        self.tmp_path = tmp_path
        self.mode = mode
        self.extra_settings = settings
        self.api = SlackApiServer()
        self.articles = ArticleServer(host="127.0.0.2")
        self.chat = ChatServer(default=brief_from_article)
        self.socket = SlackSocketServer()
        self.app: App | None = None
        self.front: SlackFrontEnd | None = None
        self.http: aiohttp.ClientSession | None = None

    @property
    def events_url(self) -> str:
        assert self.front is not None
        return f"http://127.0.0.1:{self.front.port}/slack/events"

    def settings(self) -> Settings:
        values: dict[str, Any] = {
            "database_url": f"sqlite+aiosqlite:///{self.tmp_path / 'linkbrief.db'}",
            "fetch_allowed_private_hosts": "127.0.0.2",
            "slack_bot_token": BOT_TOKEN,
            "slack_mode": self.mode,
            "slack_api_base_url": self.api.url,
            "openai_base_url": self.chat.base_url,
            "openai_api_key": "sk-test-not-a-real-key-000",
            "summarizer": "llm",
            "llm_max_retries": 0,
        }
        if self.mode == "http":
            values["slack_signing_secret"] = SIGNING_SECRET
        else:
            values["slack_app_token"] = APP_TOKEN
        values.update(self.extra_settings)
        return load_settings(None, **values)

    async def __aenter__(self) -> SlackStack:
        await self.api.__aenter__()
        await self.articles.start()
        await self.chat.start()
        await self.socket.__aenter__()
        self.api.socket_url = self.socket.url
        self.http = aiohttp.ClientSession()
        await self.start_bot()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop_bot()
        if self.http is not None:
            await self.http.close()
        await self.socket.__aexit__()
        await self.chat.close()
        await self.articles.close()
        await self.api.__aexit__()

    async def start_bot(self) -> None:
        self.app = await build_app(self.settings())
        self.front = await build_slack(self.app, http_host="127.0.0.1", http_port=0)
        await self.front.start()

    async def stop_bot(self) -> None:
        if self.front is not None:
            await self.front.stop()
            self.front = None
        if self.app is not None:
            await self.app.aclose()
            self.app = None

    async def restart(self) -> None:
        """A new process, as far as the bot can tell: new App, same SQLite file."""
        await self.stop_bot()
        await self.start_bot()

    async def drain(self) -> None:
        """Wait for the bot's background work to finish."""
        assert self.front is not None
        await self.front.delivery.drain()

    def article_url(self, path: str = PAGE) -> str:
        return self.articles.url(path)

    # --- HTTP mode requests --------------------------------------------------------
    async def post_raw(self, body: str, headers: dict[str, str]) -> tuple[int, str]:
        assert self.http is not None
        async with self.http.post(self.events_url, data=body.encode(), headers=headers) as resp:
            return resp.status, await resp.text()

    async def post_event(
        self, body: dict[str, Any], *, retry_num: int | None = None
    ) -> tuple[int, str]:
        raw = json.dumps(body)
        headers = {"Content-Type": "application/json"}
        if retry_num is not None:
            headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "timeout"}
        return await self.post_raw(raw, signed_headers(raw, headers))

    async def post_command(self, text: str, *, channel: str = "C0001") -> tuple[int, str]:
        form = {
            "command": "/linkbrief", "text": text, "channel_id": channel, "user_id": "U0001",
            "team_id": "T00000001", "trigger_id": uuid.uuid4().hex,
            "response_url": self.api.hook_url("cmd"),
        }  # fmt: skip
        raw = urlencode(form)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return await self.post_raw(raw, signed_headers(raw, headers))
