"""Slack's request signature, checked before anything reads the body as JSON or a form.

Slack signs each HTTP request with ``v0=HMAC-SHA256(secret, "v0:{ts}:{body}")`` in
``X-Slack-Signature`` and puts ``ts`` (Unix seconds) in
``X-Slack-Request-Timestamp``. bolt checks it too, but only after parsing the body,
and it logs a refused request verbatim (body included) at INFO. So the HTTP front
end puts this middleware first: a request with a missing, non-numeric, fractional
or stale timestamp, a malformed or wrong signature, answers **401 before any
parsing**, and leaves one short log line whose every part is ours (a fixed reason
word and the peer address) — no body, no header values, no query string.

    http_app = web.Application(middlewares=[slack_signature_middleware(secret, path)])
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

MAX_AGE_S = 300  # Slack's own rule: refuse a timestamp more than five minutes off
_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdef")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def signature_problem(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> str | None:
    """Why the request is not Slack's (a fixed word), or None when it is."""
    if not secret:
        return "no-secret-configured"
    if not timestamp or not signature:
        return "unsigned"
    if len(timestamp) > 12 or not set(timestamp) <= _DIGITS:
        return "malformed-timestamp"
    if abs(now - int(timestamp)) > MAX_AGE_S:
        return "stale"
    if len(signature) != 67 or not signature.startswith("v0=") or not set(signature[3:]) <= _HEX:
        return "malformed-signature"
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    expected = "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return "bad-signature"
    return None


def slack_signature_middleware(
    signing_secret: str, path: str, *, clock: Callable[[], float] = time.time
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """An aiohttp middleware refusing unsigned, stale or malformed requests to ``path``."""

    @web.middleware
    async def verify(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != path:
            return await handler(request)
        body = await request.read()  # bounded by the app's client_max_size
        problem = signature_problem(
            signing_secret,
            request.headers.get("X-Slack-Request-Timestamp"),
            request.headers.get("X-Slack-Signature"),
            body,
            clock(),
        )
        if problem is not None:
            log.warning(
                "slack: refused a request to %s (%s) from %s", path, problem, _peer(request)
            )
            return web.Response(status=401, text="invalid request\n")
        return await handler(request)

    return verify


def _peer(request: web.Request) -> str:
    # The peer address comes from the socket, but keep only address characters anyway.
    remote = request.remote or "?"
    return "".join(c for c in remote[:64] if c.isalnum() or c in ".:[]") or "?"
