"""A fake Socket Mode WebSocket server on loopback.

Point the fake Web API's ``apps.connections.open`` at ``srv.url``; once the bot
connects (``await srv.connected.wait()``), ``send_events_api(body)`` pushes an
``events_api`` envelope and ``wait_ack(envelope_id)`` returns the bot's
acknowledgement, the way Slack's servers expect one within three seconds.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from aiohttp import WSMsgType, web


class SlackSocketServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.connected = asyncio.Event()
        self.connections = 0
        self.acks: dict[str, dict[str, Any]] = {}
        self.received: list[dict[str, Any]] = []
        self._ws: web.WebSocketResponse | None = None
        self._ack_arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/link"

    @property
    def client_connected(self) -> bool:
        """Whether a bot holds an open WebSocket to this server right now."""
        return self._ws is not None and not self._ws.closed

    async def __aenter__(self) -> SlackSocketServer:
        app = web.Application()
        app.router.add_get("/link", self._socket)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, 0).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def send_events_api(
        self, body: dict[str, Any], *, envelope_id: str | None = None, retry_attempt: int = 0
    ) -> str:
        """Push an Events API payload wrapped in a Socket Mode envelope; returns its id."""
        envelope_id = envelope_id or str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
            "payload": body,
        }
        if self._ws is None:
            raise RuntimeError("no Socket Mode client is connected")
        await self._ws.send_str(json.dumps(envelope))
        return envelope_id

    async def send_interactive(self, payload: dict[str, Any]) -> str:
        """Push an interactivity payload (a button click) in a Socket Mode envelope."""
        envelope_id = str(uuid.uuid4())
        envelope = {"envelope_id": envelope_id, "type": "interactive",
                    "accepts_response_payload": True, "payload": payload}  # fmt: skip
        if self._ws is None:
            raise RuntimeError("no Socket Mode client is connected")
        await self._ws.send_str(json.dumps(envelope))
        return envelope_id

    async def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        async with self._ack_arrived:
            await asyncio.wait_for(
                self._ack_arrived.wait_for(lambda: envelope_id in self.acks), timeout
            )
        return self.acks[envelope_id]

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()  # answers the client's pings itself
        await ws.prepare(request)
        self._ws = ws
        self.connections += 1
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        self.connected.set()
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            self.received.append(data)
            if "envelope_id" in data:
                async with self._ack_arrived:
                    self.acks[data["envelope_id"]] = data
                    self._ack_arrived.notify_all()
        return ws
