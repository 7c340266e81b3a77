"""A fake Slack Web API on loopback, recording every call, for tests and benches.

Serves ``POST|GET /api/<method>`` like slack.com: arguments from the query string,
a form body or a JSON body; a bearer token that must match; ``{"ok": ...}`` JSON
answers. Implemented: ``auth.test``, ``chat.postMessage``, ``chat.update``,
``chat.postEphemeral``, ``chat.delete``, ``users.info``, ``reactions.add|remove``,
``conversations.info``,
``conversations.history``, ``conversations.replies``, ``apps.connections.open``;
``POST /hooks/<id>`` stands in for slash commands' ``response_url``.

    async with SlackApiServer() as api:          # api.url ends in /api/
        api.add_message("C1", "see https://x", user="U1")   # for history/replies
        api.rate_limit("chat.postMessage", times=1, retry_after=1)
        ...
        await api.wait_for(lambda: len(api.calls_to("chat.update")) == 1)

Posted and updated messages are kept in ``messages`` keyed by ``(channel, ts)``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_TOKEN = "xoxb-test-bot-token-1234567890"
APP_TOKEN = "xapp-test-app-token-1234567890"
BOT_USER_ID = "UBOT00001"
BOT_ID = "BBOT00001"
TEAM_ID = "T00000001"


@dataclass(slots=True)
class ApiCall:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    status: int = 200


class SlackApiServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
    ) -> None:
        self.host = host
        self.bot_token = bot_token
        self.app_token = app_token
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.calls: list[ApiCall] = []
        self.hooks: list[dict[str, Any]] = []
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.socket_url: str | None = None  # what apps.connections.open hands out
        self.admins: set[str] = set()  # users.info says is_admin for these (issue 18)
        self._rate_limits: dict[str, list[int]] = {}  # method -> [times left, retry_after]
        self._ts = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle ------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/api/"

    def hook_url(self, name: str = "cmd") -> str:
        return f"http://{self.host}:{self.port}/hooks/{name}"

    async def __aenter__(self) -> SlackApiServer:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_post("/hooks/{name}", self._hook)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- test controls --------------------------------------------------------
    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls to ``method`` with 429 and ``Retry-After``."""
        self._rate_limits[method] = [times, retry_after]

    def add_message(
        self, channel: str, text: str, *, user: str = "U1", ts: str | None = None,
        thread_ts: str | None = None, **extra: Any,
    ) -> dict[str, Any]:  # fmt: skip
        """A message people posted, as ``conversations.history``/``replies`` will return it."""
        message = {"type": "message", "user": user, "text": text, "ts": ts or self._next_ts()}
        if thread_ts:
            message["thread_ts"] = thread_ts
        message.update(extra)
        self.messages[(channel, message["ts"])] = message
        return message

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method and c.status == 200]

    def bot_posts(self) -> list[dict[str, Any]]:
        """Every message the bot posted, as it stands now (updates applied)."""
        return [m for m in self.messages.values() if m.get("bot_id") == self.bot_id]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 60.0) -> None:
        """Wait until ``predicate()`` holds, re-checked after every call; TimeoutError if not.

        The timeout only bounds a test that would otherwise hang: generous, so a loaded
        machine never turns a slow pass into a failure."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    # --- handlers -------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        call = ApiCall(method, params, dict(request.headers))
        self.calls.append(call)
        try:
            limit = self._rate_limits.get(method)
            if limit and limit[0] > 0:
                limit[0] -= 1
                call.status = 429
                return web.json_response(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": str(limit[1])},
                )
            token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            expected = self.app_token if method == "apps.connections.open" else self.bot_token
            if token != expected:
                return _fail("invalid_auth" if token else "not_authed")
            handler = getattr(self, "_" + method.replace(".", "_"), None)
            if handler is None:
                return _fail("unknown_method")
            return web.json_response(handler(params))
        finally:
            async with self._changed:
                self._changed.notify_all()

    async def _hook(self, request: web.Request) -> web.Response:
        self.hooks.append({"name": request.match_info["name"], **await request.json()})
        async with self._changed:
            self._changed.notify_all()
        return web.Response(text="ok")

    # --- methods --------------------------------------------------------------
    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True, "url": "https://fake.slack.com/", "team": "Fake", "user": "linkbrief",
            "team_id": TEAM_ID, "user_id": self.bot_user_id, "bot_id": self.bot_id,
        }  # fmt: skip

    def _chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel.startswith("CNOTIN"):
            return {"ok": False, "error": "not_in_channel"}
        ts = self._next_ts()
        message = {
            "type": "message", "subtype": "bot_message", "bot_id": self.bot_id,
            "user": self.bot_user_id, "ts": ts, "text": params.get("text", ""),
            "blocks": _blocks(params.get("blocks")),
        }  # fmt: skip
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        if params.get("metadata"):  # returned by conversations.history with include_all_metadata
            metadata = params["metadata"]
            message["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (str(params.get("channel")), str(params.get("ts")))
        message = self.messages.get(key)
        if message is None or message.get("bot_id") != self.bot_id:
            return {"ok": False, "error": "message_not_found"}
        message["text"] = params.get("text", "")
        message["blocks"] = _blocks(params.get("blocks"))
        message["edited"] = {"user": self.bot_user_id}
        return {"ok": True, "channel": key[0], "ts": key[1], "text": message["text"]}

    def _chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}

    def _reactions_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel") or "")
        return {"ok": True, "channel": {"id": channel, "name": "general", "is_member": True}}

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel"))
        found = [
            m for (c, _), m in self.messages.items()
            if c == channel and m.get("thread_ts", m["ts"]) == m["ts"] and _in_window(m, params)
        ]  # fmt: skip
        found.sort(key=lambda m: float(m["ts"]), reverse=True)
        return {"ok": True, "messages": found[: int(params.get("limit") or 100)]}

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(params.get("channel")), str(params.get("ts"))
        target = self.messages.get((channel, ts))
        if target is None:
            return {"ok": False, "error": "thread_not_found"}
        parent_ts = target.get("thread_ts", ts)
        thread = [
            m for (c, _), m in self.messages.items()
            if c == channel and m.get("thread_ts", m["ts"]) == parent_ts
        ]  # fmt: skip
        thread.sort(key=lambda m: float(m["ts"]))
        # Like Slack: the parent always comes first, then replies in the window.
        replies = [m for m in thread if m["ts"] != parent_ts and _in_window(m, params)]
        parent = [m for m in thread if m["ts"] == parent_ts]
        return {"ok": True, "messages": parent + replies[: int(params.get("limit") or 100)]}

    # --- issue 18: brief controls ------------------------------------------------
    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (str(params.get("channel")), str(params.get("ts")))
        message = self.messages.get(key)
        if message is None or message.get("bot_id") != self.bot_id:
            return {"ok": False, "error": "message_not_found"}
        del self.messages[key]
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = str(params.get("user") or "")
        admin = user in self.admins
        return {"ok": True, "user": {"id": user, "is_admin": admin, "is_owner": False}}

    def ephemerals(self, user: str | None = None) -> list[dict[str, Any]]:
        """``chat.postEphemeral`` calls (to ``user``), oldest first."""
        calls = self.calls_to("chat.postEphemeral")
        return [c.params for c in calls if user is None or c.params.get("user") == user]

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.socket_url is None:
            return {"ok": False, "error": "socket_mode_not_enabled"}
        return {"ok": True, "url": self.socket_url}

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            params.update(await request.json())
        else:
            params.update(await request.post())
    return params


def _blocks(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, str):
        return json.loads(raw) if raw else []
    return list(raw or [])


def _in_window(message: dict[str, Any], params: dict[str, Any]) -> bool:
    ts = float(message["ts"])
    inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
    latest, oldest = params.get("latest"), params.get("oldest")
    if latest is not None and (ts > float(latest) or (ts == float(latest) and not inclusive)):
        return False
    return not (
        oldest is not None and (ts < float(oldest) or (ts == float(oldest) and not inclusive))
    )


def _fail(error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error})
