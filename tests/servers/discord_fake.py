"""A fake Discord (REST API v10 + gateway v10) on loopback, for end-to-end tests.

The real discord.py client talks to it over real sockets; nothing in the library
is patched beyond the two endpoints linkbrief itself makes configurable.

How each part maps to Discord's documented protocol
(discord.com/developers/docs/events/gateway, …/topics/opcodes-and-status-codes,
…/topics/rate-limits, …/interactions/receiving-and-responding):

* Connecting: ``GET /api/v10/gateway`` and ``/gateway/bot`` return ``{"url": ws://…}``
  as Discord does. The WebSocket lives at ``/gateway`` and reads the same query
  string Discord reads: ``v=10&encoding=json&compress=zlib-stream`` (or
  ``zstd-stream``). Anything else is refused, like Discord's 4012/4013-class errors.
* Transport compression ``zlib-stream``: one zlib context per connection, shared by
  every frame sent on it; each payload is compressed and ended with a
  ``Z_SYNC_FLUSH`` (the ``00 00 ff ff`` suffix clients look for) and sent as a
  binary frame. ``split_frames=True`` cuts each payload in two frames, which the
  documented framing allows and clients must buffer. ``zstd-stream`` (one
  streaming zstd context per connection, a flushed block per message) is used only
  if ``zstandard`` is installed, i.e. only when discord.py can ask for it.
* Handshake: on connect the server sends op 10 HELLO ``{heartbeat_interval}``. The
  client sends op 2 IDENTIFY ``{token, intents, properties}``; a wrong token is
  closed with 4004 (authentication failed), the Message Content intent while the
  application has it disabled with 4014 (disallowed intents). The answer is dispatch READY (op 0,
  ``t=READY``, with ``session_id``, ``resume_gateway_url``, ``user``, ``application``
  and the guilds as unavailable stubs), then GUILD_CREATE with the full guild.
* Dispatches (op 0) carry a sequence number ``s`` that grows by one per dispatch in
  a session; every dispatch is kept for the session so it can be replayed.
* Heartbeats: op 1 ``{d: last seq}`` is answered with op 11 HEARTBEAT_ACK.
* Reconnect: ``force_reconnect("op7")`` sends op 7 RECONNECT; ``"close"`` closes with
  4000 (unknown error: resumable). Either way the client comes back on
  ``resume_gateway_url`` and sends op 6 RESUME ``{token, session_id, seq}``; the
  server replays every dispatch after ``seq`` in order, then dispatches RESUMED. An
  unknown session gets op 9 INVALID_SESSION ``d=false``. ``replay_from`` pretends
  the client's acknowledged ``seq`` was older, so already-delivered events arrive
  again: Discord's delivery is at-least-once, and this is how duplicates happen.
* REST: the handful of endpoints the bot uses (messages, threads from a message,
  interaction callbacks, webhook follow-ups, command bulk overwrite; reads of a
  channel, of one message and of a channel's messages, newest first, paged by
  ``before``/``after``/``limit`` as Discord pages them; only messages the bot
  created exist in REST, people's messages arrive as gateway events), with Discord's
  object shapes, error bodies (``{"message", "code"}``; 50013 Missing Permissions)
  and rate-limit headers (``X-RateLimit-*``, ``Retry-After``, ``Via`` on a 429 as
  Discord's edge sends it; without ``Via`` a client must assume a Cloudflare ban).
  ``hold`` keeps a request unanswered (before or after its effect) until the fake
  closes: a process killed in that instant never learns the outcome.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from tests.discord_helpers import Payloads

OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_RESUME = 0, 1, 2, 6
OP_RECONNECT, OP_INVALID_SESSION, OP_HELLO, OP_HEARTBEAT_ACK = 7, 9, 10, 11
ZLIB_SUFFIX = b"\x00\x00\xff\xff"
MESSAGE_CONTENT = 1 << 15  # the privileged intent linkbrief needs


@dataclass
class Recorded:
    """One REST request as the fake received it."""

    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    json: Any
    status: int = 0  # what the fake answered


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    times: int
    retry_after: float


@dataclass
class _Hold:
    method: str
    pattern: re.Pattern[str]
    after_effect: bool
    times: int


@dataclass
class _Session:
    session_id: str
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    replay_from: int | None = None


class _Connection:
    """One gateway WebSocket with its own compression context (shared by its frames)."""

    def __init__(self, ws: web.WebSocketResponse, compress: str, split_frames: bool) -> None:
        self.ws = ws
        self.compress = compress
        self.split_frames = split_frames
        self.lock = asyncio.Lock()  # frames must leave in the order they were compressed
        self.live = False  # identified or resumed
        if compress == "zlib-stream":
            self._zlib = zlib.compressobj()
        elif compress == "zstd-stream":
            import zstandard  # only reachable when discord.py itself asked for zstd

            self._zstd = zstandard.ZstdCompressor().compressobj()

    async def send(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload)
        async with self.lock:
            if self.ws.closed:
                return
            if self.compress == "zlib-stream":
                data = self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                assert data.endswith(ZLIB_SUFFIX)  # what tells the client a payload is whole
                chunks = [data[: len(data) // 2], data[len(data) // 2 :]]
                for chunk in chunks if self.split_frames and len(data) > 8 else [data]:
                    await self.ws.send_bytes(chunk)
            elif self.compress == "zstd-stream":
                import zstandard

                data = self._zstd.compress(text.encode())
                data += self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(text)


class FakeDiscord:
    """REST + gateway on one aiohttp server. ``await start()``, then point the bot at
    ``api_base_url`` and ``gateway_url``; push events with ``dispatch``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        token: str = "fake-bot-token",
        heartbeat_interval_ms: int = 41_250,
        split_frames: bool = False,
    ) -> None:
        self.host = host
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.split_frames = split_frames
        self.p = Payloads()
        self.requests: list[Recorded] = []
        self.messages: dict[int, dict[str, Any]] = {}  # every message the bot created
        self.threads: dict[int, dict[str, Any]] = {}  # threads created through REST
        self.commands: list[dict[str, Any]] = []  # last bulk overwrite
        self.forbidden_channels: set[int] = set()  # REST answers 403 50013 there
        self.message_content_enabled = True  # the portal toggle; off → IDENTIFY closed 4014
        self.received: list[dict[str, Any]] = []  # every gateway payload from the client
        self.connect_paths: list[str] = []
        self.connect_queries: list[dict[str, str]] = []
        self.heartbeats = 0
        self.identifies: list[dict[str, Any]] = []  # IDENTIFY payloads ("d"), in order
        self.resumes: list[dict[str, Any]] = []  # RESUME payloads ("d") that succeeded
        self.session: _Session | None = None
        self.open_sockets: set[web.WebSocketResponse] = set()
        self._conn: _Connection | None = None
        self._failures: list[_Failure] = []
        self._holds: list[_Hold] = []
        self._released = asyncio.Event()
        self.held: list[Recorded] = []  # requests being held unanswered
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle -----------------------------------------------------------
    async def start(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/gateway-resume", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        self._released.set()
        if self._conn is not None:
            await self._conn.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base_url(self) -> str:
        return f"{self.base}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    # --- test controls -------------------------------------------------------
    def fail(
        self, method: str, path_regex: str, status: int, *, times: int = 1, retry_after: float = 0.0
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (403 or 429)."""
        self._failures.append(_Failure(method, re.compile(path_regex), status, times, retry_after))

    def hold(self, method: str, path_regex: str, *, after_effect: bool, times: int = 1) -> None:
        """Leave the next ``times`` matching requests unanswered until ``close``: before
        their effect (nothing happened) or after it (done, but the client never hears)."""
        self._holds.append(_Hold(method, re.compile(path_regex), after_effect, times))

    async def dispatch(self, event: str, data: dict[str, Any]) -> int:
        """Send a dispatch in the current session (buffered while disconnected)."""
        assert self.session is not None, "no gateway session yet"
        self.session.seq += 1
        payload = {"op": OP_DISPATCH, "t": event, "s": self.session.seq, "d": data}
        self.session.events.append(payload)
        if self._conn is not None and self._conn.live:
            await self._conn.send(payload)
        await self._notify()
        return self.session.seq

    async def force_reconnect(self, how: str = "op7", *, replay_from: int | None = None) -> None:
        """Make the client RESUME; with ``replay_from``, re-deliver events after that seq."""
        assert self.session is not None and self._conn is not None
        self.session.replay_from = replay_from
        conn, self._conn = self._conn, None
        conn.live = False
        if how == "op7":
            await conn.send({"op": OP_RECONNECT, "d": None})
        else:
            await conn.ws.close(code=4000, message=b"Unknown error")

    def invalidate_session(self) -> None:
        """Forget the session, so the next RESUME gets op 9 INVALID_SESSION (d=false)."""
        if self.session is not None:
            self.session.session_id = "expired-" + self.session.session_id

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 60.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every request/payload)."""
        async with asyncio.timeout(timeout):
            async with self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result

    async def wait_live(self, timeout: float = 10.0) -> None:
        await self.wait_for(lambda: self._conn is not None and self._conn.live, timeout)

    def calls(self, method: str, path_regex: str) -> list[Recorded]:
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    # --- gateway -------------------------------------------------------------
    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        compress = query.get("compress", "")
        if query.get("v") != "10" or query.get("encoding") != "json":
            return web.Response(status=400, text="unsupported gateway version/encoding")
        if compress not in ("", "zlib-stream", "zstd-stream"):
            return web.Response(status=400, text="unsupported compression")
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        self.open_sockets.add(ws)
        self.connect_paths.append(request.path)
        self.connect_queries.append(query)
        conn = _Connection(ws, compress, self.split_frames)
        await conn.send({"op": OP_HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                break
            payload = json.loads(msg.data)
            self.received.append(payload)
            close_code = await self._on_payload(conn, payload)
            await self._notify()
            if close_code:
                await ws.close(code=close_code)
                break
        conn.live = False
        self.open_sockets.discard(ws)
        if self._conn is conn:
            self._conn = None
        await self._notify()
        return ws

    async def _on_payload(self, conn: _Connection, payload: dict[str, Any]) -> int | None:
        op, data = payload.get("op"), payload.get("d")
        if op == OP_HEARTBEAT:
            self.heartbeats += 1
            await conn.send({"op": OP_HEARTBEAT_ACK})
            return None
        if op == OP_IDENTIFY:
            if data.get("token") != self.token:
                return 4004  # Authentication failed
            if int(data.get("intents", 0)) & MESSAGE_CONTENT and not self.message_content_enabled:
                return 4014  # Disallowed intent(s): privileged and not enabled for the app
            await self._identify(conn, data)
            return None
        if op == OP_RESUME:
            if data.get("token") != self.token:
                return 4004
            await self._resume(conn, data)
            return None
        return 4001  # Unknown opcode (or one this fake does not implement)

    async def _identify(self, conn: _Connection, data: dict[str, Any]) -> None:
        self.session = _Session(session_id=secrets.token_hex(16))
        if self._conn is not None:
            self._conn.live = False
        self._conn = conn
        conn.live = True
        ready = {
            "v": 10,
            "user": self.p.bot_user,
            "guilds": [{"id": str(self.p.guild_id), "unavailable": True}],
            "session_id": self.session.session_id,
            "resume_gateway_url": f"ws://{self.host}:{self.port}/gateway-resume",
            "application": {"id": str(self.p.app_id), "flags": 0},
            "shard": [0, 1],
        }
        await self.dispatch("READY", ready)
        await self.dispatch("GUILD_CREATE", self.p.guild())
        self.identifies.append(data)

    async def _resume(self, conn: _Connection, data: dict[str, Any]) -> None:
        session = self.session
        if session is None or data.get("session_id") != session.session_id:
            await conn.send({"op": OP_INVALID_SESSION, "d": False})
            return
        acked = int(data.get("seq") or 0)
        if session.replay_from is not None:
            acked = min(acked, session.replay_from)
            session.replay_from = None
        self._conn = conn
        for event in [e for e in session.events if e["s"] > acked]:
            await conn.send(event)
        conn.live = True
        await self.dispatch("RESUMED", {})
        self.resumes.append(data)

    # --- REST ----------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body = await request.json() if request.can_read_body else None
        record = Recorded(request.method, path, dict(request.query), body)
        self.requests.append(record)
        hold = self._hold_for(record)
        if hold is not None and not hold.after_effect:
            await self._stay_held(record)
        if request.headers.get("Authorization") not in (f"Bot {self.token}", None):
            response = _error(401, 0, "401: Unauthorized")
        else:
            response = self._injected_failure(record) or self._route(record)
        if hold is not None and hold.after_effect:
            await self._stay_held(record)
        record.status = response.status
        await self._notify()
        return response

    def _hold_for(self, record: Recorded) -> _Hold | None:
        for hold in self._holds:
            if hold.times and hold.method == record.method and hold.pattern.fullmatch(record.path):
                hold.times -= 1
                return hold
        return None

    async def _stay_held(self, record: Recorded) -> None:
        self.held.append(record)
        await self._notify()
        await self._released.wait()

    def _injected_failure(self, record: Recorded) -> web.Response | None:
        channel = re.match(r"/channels/(\d+)/", record.path)
        if channel and int(channel.group(1)) in self.forbidden_channels:
            return _error(403, 50013, "Missing Permissions")
        for failure in self._failures:
            if (
                failure.times
                and failure.method == record.method
                and failure.pattern.fullmatch(record.path)
            ):
                failure.times -= 1
                if failure.status == 429:
                    return _rate_limited(failure.retry_after)
                return _error(failure.status, 50013, "Missing Permissions")
        return None

    def _route(self, r: Recorded) -> web.Response:
        """One entry per endpoint the bot uses; anything else is Discord's 404."""
        p = self.p
        routes: list[tuple[str, str, Callable[[re.Match[str]], web.Response]]] = [
            ("GET", r"/gateway(/bot)?", lambda m: _ok(self._gateway_info())),
            ("GET", r"/users/@me", lambda m: _ok(p.bot_user)),
            ("GET", r"/oauth2/applications/@me", lambda m: _ok(p.application())),
            ("GET", r"/channels/(\d+)", lambda m: self._get_channel(int(m[1]))),
            (
                "GET",
                r"/channels/(\d+)/messages",
                lambda m: self._list_messages(int(m[1]), r.query),
            ),
            (
                "GET",
                r"/channels/(\d+)/messages/(\d+)",
                lambda m: self._get_message(int(m[1]), int(m[2])),
            ),
            (
                "POST",
                r"/channels/(\d+)/messages",
                lambda m: self._create_message(int(m[1]), r.json),
            ),
            (
                "PATCH",
                r"/channels/(\d+)/messages/(\d+)",
                lambda m: self._edit_message(int(m[2]), r.json),
            ),
            (  # issue 18: Delete under a brief
                "DELETE",
                r"/channels/(\d+)/messages/(\d+)",
                lambda m: self._delete_message(int(m[2])),
            ),
            (
                "POST",
                r"/channels/(\d+)/messages/(\d+)/threads",
                lambda m: self._create_thread(int(m[1]), int(m[2]), r.json),
            ),
            (
                "POST",
                r"/interactions/(\d+)/([^/]+)/callback",
                lambda m: self._callback(int(m[1]), m[2], r.json),
            ),
            (
                "POST",
                r"/webhooks/(\d+)/([^/]+)",
                lambda m: self._create_message(p.interaction_channel(m[2]), r.json, webhook=True),
            ),
            (
                "PATCH",
                r"/webhooks/(\d+)/([^/]+)/messages/@original",
                lambda m: self._edit_message(p.original_for(m[2]), r.json),
            ),
            (
                "PATCH",
                r"/webhooks/(\d+)/([^/]+)/messages/(\d+)",
                lambda m: self._edit_message(int(m[3]), r.json),
            ),
            (
                "PUT",
                r"/applications/(\d+)(/guilds/\d+)?/commands",
                lambda m: self._overwrite_commands(r.json),
            ),
            ("GET", r"/applications/(\d+)(/guilds/\d+)?/commands", lambda m: _ok(self.commands)),
        ]
        for method, pattern, handler in routes:
            if r.method == method and (match := re.fullmatch(pattern, r.path)):
                return handler(match)
        return _error(404, 0, "404: Not Found")

    def _gateway_info(self) -> dict[str, Any]:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return {"url": self.gateway_url, "shards": 1, "session_start_limit": limit}

    def _overwrite_commands(self, commands: list[dict[str, Any]]) -> web.Response:
        app_id = str(self.p.app_id)
        self.commands = [
            {**c, "id": str(self.p.snowflake()), "application_id": app_id, "version": "1"}
            for c in commands
        ]
        return _ok(self.commands)

    def _get_channel(self, channel_id: int) -> web.Response:
        guild = self.p.guild()
        known = {int(c["id"]): c for c in guild["channels"] + guild["threads"]}
        known |= self.threads
        if channel_id not in known:
            return _error(404, 10003, "Unknown Channel")
        return _ok(known[channel_id])

    def _get_message(self, channel_id: int, message_id: int) -> web.Response:
        message = self.messages.get(message_id)
        if message is None or int(message["channel_id"]) != channel_id:
            return _error(404, 10008, "Unknown Message")
        return _ok(message)

    def _list_messages(self, channel_id: int, query: dict[str, str]) -> web.Response:
        """Discord's paging: up to ``limit`` (1-100, default 50) messages just before
        ``before`` / just after ``after`` / the newest, always returned newest first."""
        if not self.p.channel_known(channel_id, self.threads):
            return _error(404, 10003, "Unknown Channel")
        limit = max(1, min(100, int(query.get("limit", 50))))
        found = sorted(
            (m for m in self.messages.values() if int(m["channel_id"]) == channel_id),
            key=lambda m: int(m["id"]),
        )
        if "after" in query:
            page = [m for m in found if int(m["id"]) > int(query["after"])][:limit]
        else:
            before = int(query.get("before", 1 << 63))
            page = [m for m in found if int(m["id"]) < before][-limit:]
        return _ok(page[::-1])

    def _create_message(
        self, channel_id: int | None, body: dict[str, Any], *, webhook: bool = False
    ) -> web.Response:
        if channel_id is None or not self.p.channel_known(channel_id, self.threads):
            return _error(404, 10003, "Unknown Channel")
        message = self.p.bot_message(channel_id, body, webhook=webhook)
        self.messages[int(message["id"])] = message
        return _ok(message)

    def _edit_message(self, message_id: int | None, body: dict[str, Any]) -> web.Response:
        message = self.messages.get(message_id or 0)
        if message is None:
            return _error(404, 10008, "Unknown Message")
        for key in ("content", "embeds", "flags", "allowed_mentions", "components"):
            if key in body:
                message[key] = body[key]
        message["edited_timestamp"] = datetime.now(UTC).isoformat()
        message.setdefault("edits", []).append(body)
        return _ok(message)

    def _delete_message(self, message_id: int) -> web.Response:
        if self.messages.pop(message_id, None) is None:
            return _error(404, 10008, "Unknown Message")
        return web.Response(status=204)

    def _create_thread(
        self, channel_id: int, message_id: int, body: dict[str, Any]
    ) -> web.Response:
        if message_id in self.threads:
            return _error(400, 160004, "A thread has already been created for this message")
        if not self.p.channel_allows_threads(channel_id):
            return _error(400, 50024, "Cannot execute action on this channel type")
        # A thread started from a message takes the message's id, as on Discord.
        thread = self.p.thread(
            message_id, channel_id, body.get("name", ""), body.get("auto_archive_duration", 1440)
        )
        self.threads[message_id] = thread
        return _ok(thread)

    def _callback(self, interaction_id: int, token: str, body: dict[str, Any]) -> web.Response:
        kind = body.get("type")
        interaction = {
            "id": str(interaction_id),
            "type": 2,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool((body.get("data") or {}).get("flags", 0) & 64),
        }
        resource: dict[str, Any] = {"type": kind}
        if kind in (4, 5):
            channel_id = self.p.interaction_channel(token)
            message = self.p.bot_message(channel_id or 0, body.get("data") or {}, webhook=True)
            self.messages[int(message["id"])] = message
            self.p.set_original(token, int(message["id"]))
            interaction["response_message_id"] = message["id"]
            if kind == 4:
                resource["message"] = message
        return _ok({"interaction": interaction, "resource": resource})

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


def _headers(remaining: int, reset_after: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": "fakebucket",
    }


def _json(payload: Any, status: int, headers: dict[str, str]) -> web.Response:
    # Exactly "application/json", no charset: discord.py compares the header verbatim.
    headers = headers | {"Content-Type": "application/json"}
    return web.Response(body=json.dumps(payload).encode(), status=status, headers=headers)


def _ok(payload: Any) -> web.Response:
    return _json(payload, 200, _headers(4, 0.05))


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"message": message, "code": code}, status, _headers(4, 0.05))


def _rate_limited(retry_after: float) -> web.Response:
    headers = _headers(0, retry_after)
    headers |= {
        "Retry-After": str(max(1, round(retry_after))),
        "X-RateLimit-Scope": "user",
        "Via": "1.1 google",
    }
    body = {
        "message": "You are being rate limited.",
        "retry_after": retry_after,
        "global": False,
        "code": 0,
    }
    return _json(body, 429, headers)
