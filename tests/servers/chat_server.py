"""A scripted OpenAI-compatible chat-completions server on loopback, for tests and benches.

Serves ``POST /v1/chat/completions`` and ``POST /chat/completions`` with
aiohttp. Each request takes the next behaviour from a script queue, or the
default when the queue is empty, and answers with proper ``chat.completion``
JSON whose ``usage`` is estimated from the request (``bot.llm.tokens``).

Use it in an async test::

    async with ChatServer() as srv:             # srv.base_url ends in /v1
        srv.script([Reply({"title": ...}), Reply(text="not json"), Status(503)])
        ...                                     # point OPENAI_BASE_URL at srv.base_url
        srv.requests[0].body["response_format"] # every request is recorded

or from sync code / a subprocess CLI test::

    srv = ChatServer(default=brief_from_article)
    base_url = srv.start_in_thread()
    ...
    srv.stop()

Behaviours (all in this module):

* ``Reply(obj)`` answers with ``json.dumps(obj)``; ``Reply(text="...")`` with raw
  text (``finish_reason`` and ``delay`` optional: ``delay`` seconds before answering).
* ``Status(code, retry_after=None, message=..., code_name=None)``: an OpenAI-style
  error body ``{"error": {"message", "type", "code"}}`` with that HTTP status.
* ``ContextTooLong()``: a 400 with ``code: context_length_exceeded``.
* ``RejectResponseFormat()``: a 400 complaining about ``response_format``.
* ``Hang(seconds=60)``: sleep far longer than a client timeout, then answer.
* ``Drop()``: close the connection without answering.
* a callable ``f(body: dict) -> Behaviour`` anywhere a behaviour goes: computed
  from the request (``brief_from_article`` builds a valid brief whose quotes
  are copied verbatim from the article between the prompt's delimiters).

``mode`` is what the fake server supports: ``"full"`` (json_schema accepted),
``"json_object"`` (400 on json_schema) or ``"text"`` (400 on any
response_format). Rejections happen before the script is consulted, so a
rejected request does not use up a scripted behaviour.

Observations: ``requests`` (``RecordedRequest(path, headers, body, query)``),
``max_concurrent`` (peak simultaneous requests), ``answered`` (responses sent).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from bot.llm.tokens import estimate_chat_tokens, estimate_tokens
from tests.servers.loopback import LoopbackServer


@dataclass(slots=True)
class Reply:
    obj: Any = None
    text: str | None = None
    finish_reason: str = "stop"
    delay: float = 0.0


@dataclass(slots=True)
class Status:
    code: int
    retry_after: float | None = None
    message: str = "scripted error"
    code_name: str | None = None


@dataclass(slots=True)
class ContextTooLong:
    message: str = "This model's maximum context length is 8192 tokens."


@dataclass(slots=True)
class RejectResponseFormat:
    message: str = "response_format is not supported by this model"


@dataclass(slots=True)
class Hang:
    seconds: float = 60.0


@dataclass(slots=True)
class Drop:
    pass


Behaviour = Reply | Status | ContextTooLong | RejectResponseFormat | Hang | Drop
Responder = Behaviour | Callable[[dict[str, Any]], Behaviour]
ServerMode = Literal["full", "json_object", "text"]


@dataclass(slots=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def response_format_type(self) -> str | None:
        fmt = self.body.get("response_format")
        return fmt.get("type") if isinstance(fmt, dict) else None

    @property
    def prompt_tokens(self) -> int:
        return _prompt_tokens(self.body)


class ChatServer(LoopbackServer):
    thread_name = "chat-server"

    def __init__(
        self,
        default: Responder | None = None,
        *,
        mode: ServerMode = "full",
        host: str = "127.0.0.1",
    ) -> None:
        self.default: Responder = default or Reply(
            {"title": "", "summary": "Default scripted answer.", "claims": []}
        )
        super().__init__(host)
        self.mode: ServerMode = mode
        self.requests: list[RecordedRequest] = []
        self.max_concurrent = 0
        self.answered = 0
        self._in_flight = 0
        self._queue: deque[Responder] = deque()
        self._lock = threading.Lock()  # script() may be called from another thread
        self._hangs: set[asyncio.Task[Any]] = set()

    # --- script -------------------------------------------------------------
    def script(self, behaviours: Iterable[Responder]) -> None:
        """Queue behaviours, one per request, before the default takes over."""
        with self._lock:
            self._queue.extend(behaviours)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def _next(self) -> Responder:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    # --- lifecycle ----------------------------------------------------------
    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._handle)
        app.router.add_post("/chat/completions", self._handle)
        # Azure OpenAI's classic deployment route (?api-version=...).
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._handle)
        return app

    async def before_close(self) -> None:
        for task in list(self._hangs):
            task.cancel()

    # --- handler ------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "request body is not JSON", "invalid_request_error")
        self.requests.append(
            RecordedRequest(request.path, dict(request.headers), body, dict(request.query))
        )
        rejection = self._reject_format(body)
        if rejection is not None:
            return rejection
        behaviour = self._next()
        if callable(behaviour):
            behaviour = behaviour(body)
        self._in_flight += 1
        self.max_concurrent = max(self.max_concurrent, self._in_flight)
        try:
            return await self._perform(behaviour, body, request)
        finally:
            self._in_flight -= 1

    def _reject_format(self, body: dict[str, Any]) -> web.Response | None:
        fmt = body.get("response_format")
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        if kind is None or self.mode == "full":
            return None
        if self.mode == "json_object" and kind == "json_object":
            return None
        return _error(
            400,
            f"Invalid parameter: 'response_format' of type '{kind}' is not supported.",
            "invalid_request_error",
            param="response_format",
        )

    async def _perform(
        self, behaviour: Behaviour, body: dict[str, Any], request: web.Request
    ) -> web.StreamResponse:
        if isinstance(behaviour, Hang):
            task = asyncio.current_task()
            assert task is not None
            self._hangs.add(task)
            try:
                await asyncio.sleep(behaviour.seconds)
            finally:
                self._hangs.discard(task)
            behaviour = Reply({"title": "", "summary": "late", "claims": []})
        if isinstance(behaviour, Drop):
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError  # aiohttp drops the handler quietly
        if isinstance(behaviour, Status):
            headers = {}
            if behaviour.retry_after is not None:
                headers["Retry-After"] = f"{behaviour.retry_after:g}"
            kind = "rate_limit_exceeded" if behaviour.code == 429 else "server_error"
            return _error(
                behaviour.code,
                behaviour.message,
                kind,
                code=behaviour.code_name,
                headers=headers,
            )
        if isinstance(behaviour, ContextTooLong):
            return _error(
                400,
                behaviour.message,
                "invalid_request_error",
                code="context_length_exceeded",
                param="messages",
            )
        if isinstance(behaviour, RejectResponseFormat):
            return _error(400, behaviour.message, "invalid_request_error", param="response_format")
        if isinstance(behaviour, Reply):
            if behaviour.delay:
                await asyncio.sleep(behaviour.delay)
            text = behaviour.text if behaviour.text is not None else json.dumps(behaviour.obj)
            self.answered += 1
            return web.json_response(_completion(body, text, behaviour.finish_reason))
        raise TypeError(f"unknown behaviour {behaviour!r}")


def _prompt_tokens(body: dict[str, Any]) -> int:
    fmt = body.get("response_format")
    schema = None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = fmt.get("json_schema", {}).get("schema")
    return estimate_chat_tokens(body.get("messages", []), schema)


def _completion(body: dict[str, Any], text: str, finish_reason: str) -> dict[str, Any]:
    prompt = _prompt_tokens(body)
    completion = estimate_tokens(text)
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "scripted"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def _error(
    status: int,
    message: str,
    kind: str,
    *,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    payload = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return web.json_response(payload, status=status, headers=headers)


# --- a fake model ------------------------------------------------------------

_ARTICLE = re.compile(r"<<<ARTICLE (\w+)>>>\n(.*?)\n<<<END ARTICLE \1>>>", re.DOTALL)
_SENTENCE = re.compile(r"[^.!?\n]{20,300}[.!?]")


def article_from_request(body: dict[str, Any]) -> str:
    """The article text between the prompt's boundary delimiters ("" if none)."""
    for message in body.get("messages", []):
        match = _ARTICLE.search(str(message.get("content", "")))
        if match:
            return match.group(2)
    return ""


def brief_from_article(body: dict[str, Any]) -> Reply:
    """A schema-valid brief built from the request's own article: up to 4 claims whose
    quotes are sentences copied verbatim from it. Deterministic; good as a default."""
    article = article_from_request(body)
    sentences = [m.group(0).strip() for m in _SENTENCE.finditer(article)]
    claims = [
        {
            "claim": sentence,
            "speaker": "the author",
            "source": "the article",
            "quote": sentence,
            "kind": "claim",
        }
        for sentence in sentences[:4]
    ]
    summary = " ".join(sentences[:2]) or "The article is short."
    first_line = article.strip().splitlines()[0] if article.strip() else ""
    return Reply({"title": first_line[:80], "summary": summary, "claims": claims})
