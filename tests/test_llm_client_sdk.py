"""ChatClient on the stock SDK (``chat.completions.create`` over httpx2), over loopback.

What a server sees and what a user is told: the same request as a plain
``create`` call, settings' timeouts and retries, the unreachable-vs-slow
wording, odd answers (gzip, no usage, unreadable), env proxies (the SDK's
own behaviour), closing, Azure deployments and LLM_EXTRA_HEADERS.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import json
import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from aiohttp import web

from bot.config import load_settings
from bot.errors import ConfigError, LLMBadOutput, LLMUnavailable
from bot.llm.client import ChatClient
from bot.llm.schema import SCHEMA_NAME, answer_json_schema, parse_answer
from bot.llm.tokens import estimate_chat_tokens, estimate_tokens
from tests.servers.chat_server import ChatServer, Drop, Hang, Reply, Status
from tests.servers.loopback import LoopbackServer
from tests.test_llm_client import GOOD

KEY = "sk-transport-test-0123456789"


class OddChatServer(LoopbackServer):
    """Answers every chat request with whatever ``answer(body)`` builds, and records bodies."""

    thread_name = "odd-chat-server"

    def __init__(self, answer: Callable[[dict[str, Any]], web.Response]) -> None:
        super().__init__("127.0.0.1")
        self.answer = answer
        self.bodies: list[dict[str, Any]] = []

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.bodies.append(body)
        return self.answer(body)


def completion(text: Any, *, usage: bool = True) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
    }
    if usage:
        payload["usage"] = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    return payload


@pytest.fixture
async def server() -> AsyncIterator[ChatServer]:
    async with ChatServer() as srv:
        yield srv


def client_for(base_url: str, **kw: Any) -> ChatClient:
    options: dict[str, Any] = {"api_key": KEY, "timeout_s": 5.0, "max_retries": 0}
    options.update(kw)
    return ChatClient(model="test-model", base_url=base_url, **options)


async def ask(client: ChatClient) -> Any:
    return await client.complete_json(
        "system text", "user text", answer_json_schema(), SCHEMA_NAME, validate=parse_answer
    )


async def test_request_matches_what_chat_completions_create_sends(server: ChatServer) -> None:
    server.script([Reply(GOOD), Reply(GOOD)])
    client = client_for(server.base_url)
    await ask(client)
    reference = openai.AsyncOpenAI(
        base_url=server.base_url,
        api_key=KEY,
        timeout=openai.Timeout(5.0, connect=5.0),
        max_retries=0,
    )
    await reference.chat.completions.create(
        model="test-model",
        messages=[
            {"role": "system", "content": "system text"},
            {"role": "user", "content": "user text"},
        ],
        max_tokens=client.max_output_tokens,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": SCHEMA_NAME, "schema": answer_json_schema(), "strict": True},
        },
    )
    ours, theirs = server.requests
    assert ours.path == theirs.path == "/v1/chat/completions"
    assert ours.body == theirs.body
    assert list(ours.body) == list(theirs.body)  # same key order, so the same bytes
    assert ours.headers == theirs.headers  # auth, user agent, x-stainless-*, length
    await reference.close()
    await client.aclose()


async def test_a_hang_times_out_on_every_attempt(server: ChatServer) -> None:
    server.script([Hang(seconds=30), Hang(seconds=30)])
    client = client_for(server.base_url, timeout_s=0.5, max_retries=1)
    # wait_for only guards against a hang of the test itself; the client must give up first.
    with pytest.raises(LLMUnavailable) as info:
        await asyncio.wait_for(ask(client), timeout=20)
    assert "too long" in str(info.value)
    assert len(server.requests) == 2  # the SDK's retry went out too
    await client.aclose()


async def test_an_answer_slower_than_connect_but_within_the_timeout_arrives(
    server: ChatServer,
) -> None:
    server.script([Reply(GOOD, delay=0.4)])
    # The connect timeout is min(timeout, 10 s); the read one is the whole timeout_s.
    client = client_for(server.base_url, timeout_s=3.0)
    result = await ask(client)
    assert result.data == GOOD
    await client.aclose()


async def test_a_refused_connection_says_unreachable_not_slow() -> None:
    async with ChatServer() as srv:
        base_url = srv.base_url
    client = client_for(base_url, timeout_s=2.0)
    with pytest.raises(LLMUnavailable) as info:
        await ask(client)
    assert "couldn't reach" in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None
    await client.aclose()


async def test_a_dropped_connection_says_unreachable_not_slow(server: ChatServer) -> None:
    server.script([Drop()])
    client = client_for(server.base_url)
    with pytest.raises(LLMUnavailable) as info:
        await ask(client)
    assert "couldn't reach" in str(info.value)
    await client.aclose()


async def test_a_gzip_answer_is_decoded() -> None:
    def gzipped(body: dict[str, Any]) -> web.Response:
        raw = gzip.compress(json.dumps(completion(json.dumps(GOOD))).encode())
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return web.Response(body=raw, headers=headers)

    async with OddChatServer(gzipped) as srv:
        client = client_for(srv.base_url)
        result = await ask(client)
        assert result.data == GOOD
        assert (result.prompt_tokens, result.completion_tokens) == (11, 7)
        await client.aclose()


async def test_missing_usage_falls_back_to_our_estimates() -> None:
    answer = json.dumps(GOOD)

    async with OddChatServer(
        lambda body: web.json_response(completion(answer, usage=False))
    ) as srv:
        client = client_for(srv.base_url)
        result = await ask(client)
        sent = srv.bodies[0]
        schema = sent["response_format"]["json_schema"]["schema"]
        assert result.prompt_tokens == estimate_chat_tokens(sent["messages"], schema) > 0
        assert result.completion_tokens == estimate_tokens(answer) > 0
        await client.aclose()


@pytest.mark.parametrize(
    "answer",
    [
        web.Response(text="<html>proxy error page</html>", content_type="text/html"),
        web.json_response({"choices": []}),
        web.json_response({"object": "chat.completion"}),
        web.json_response(completion([{"type": "text", "text": "{}"}])),
    ],
    ids=["not-json", "no-choices", "no-choices-key", "content-not-text"],
)
async def test_an_unreadable_answer_is_bad_output(answer: web.Response) -> None:
    async with OddChatServer(lambda body: answer) as srv:
        client = client_for(srv.base_url)
        with pytest.raises(LLMBadOutput) as info:
            await ask(client)
        assert "couldn't read" in str(info.value)
        await client.aclose()


async def test_http_proxy_from_the_environment_is_used(
    server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.root_url)
    server.script([Reply(GOOD)])
    # Nothing listens on 127.0.0.3:9: only a request through the proxy can succeed.
    client = client_for("http://127.0.0.3:9/v1")
    result = await ask(client)
    assert result.data == GOOD
    assert server.requests[0].headers["Host"] == "127.0.0.3:9"
    await client.aclose()


async def test_no_proxy_sends_the_request_directly(
    server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.root_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.3")
    client = client_for("http://127.0.0.3:9/v1", timeout_s=2.0)
    with pytest.raises(LLMUnavailable) as info:
        await ask(client)
    assert "couldn't reach" in str(info.value)
    assert server.requests == []
    await client.aclose()


async def test_keep_alive_reuses_one_connection_and_aclose_closes_it(
    server: ChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.script([Reply(GOOD)] * 3)
    client = client_for(server.base_url)
    for _ in range(3):
        await ask(client)
    assert len(open_connections(server)) == 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await client.aclose()
        del client
        gc.collect()  # an unclosed client would complain here
    unclosed = [str(w.message) for w in caught if "nclosed" in str(w.message)]
    assert unclosed == []
    assert "Unclosed" not in caplog.text
    for _ in range(200):  # the server notices the close on its next loop turns
        if not open_connections(server):
            break
        await asyncio.sleep(0.01)
    assert open_connections(server) == []


async def test_a_closed_client_can_be_closed_again_and_never_opened_one_too() -> None:
    unused = client_for("http://127.0.0.1:9/v1")
    await unused.aclose()
    await unused.aclose()


def open_connections(server: ChatServer) -> list[Any]:
    runner = server._runner  # the test server's own aiohttp runner
    assert runner is not None and runner.server is not None
    return runner.server.connections


# --- settings: retries, timeouts, Azure, extra headers --------------------------------------


async def test_retries_come_from_the_settings(server: ChatServer) -> None:
    server.script([Status(503, retry_after=0.01)] * 3 + [Reply(GOOD)])
    settings = load_settings(
        None, openai_base_url=server.base_url, llm_max_retries=3, llm_timeout_s=5
    )
    client = ChatClient.from_settings(settings)
    result = await ask(client)
    assert result.data == GOOD
    assert len(server.requests) == 4  # the SDK's own retry loop: one try plus three retries
    await client.aclose()


async def test_extra_headers_go_with_every_request(server: ChatServer) -> None:
    server.script([Reply(GOOD)])
    settings = load_settings(
        None,
        openai_base_url=server.base_url,
        openai_api_key=KEY,
        llm_extra_headers='{"X-Gateway-Key": "gw-secret-42", "X-Team": "news"}',
    )
    client = ChatClient.from_settings(settings)
    await ask(client)
    headers = {name.lower(): value for name, value in server.requests[0].headers.items()}
    assert headers["x-gateway-key"] == "gw-secret-42"
    assert headers["x-team"] == "news"
    assert headers["authorization"] == f"Bearer {KEY}"
    assert "gw-secret-42" in settings.secrets()  # redacted from logs like a key
    await client.aclose()


@pytest.mark.parametrize(
    "raw", ["not json", "[1, 2]", '{"Bad Name": "x"}', '{"X-A": 3}', '{"X-A": "a\\r\\nb"}']
)
def test_bad_extra_headers_fail_at_start(raw: str) -> None:
    with pytest.raises(ConfigError, match="LLM_EXTRA_HEADERS"):
        load_settings(None, llm_extra_headers=raw)


async def test_azure_deployment_is_called_with_its_api_version_and_key(
    server: ChatServer,
) -> None:
    server.script([Reply(GOOD)])
    settings = load_settings(
        None,
        azure_openai_endpoint=server.root_url,
        azure_openai_api_key="azure-key-0123",
        azure_openai_api_version="2024-10-21",
        azure_openai_deployment="briefs-gpt4o",
        llm_max_retries=0,
    )
    assert settings.llm_enabled
    client = ChatClient.from_settings(settings)
    result = await ask(client)
    assert result.data == GOOD
    (request,) = server.requests
    assert request.path == "/openai/deployments/briefs-gpt4o/chat/completions"
    assert request.query == {"api-version": "2024-10-21"}
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert headers["api-key"] == "azure-key-0123"
    assert "authorization" not in headers
    await client.aclose()


def test_the_model_client_uses_no_private_sdk_api() -> None:
    source = (Path(__file__).resolve().parent.parent / "bot" / "llm" / "client.py").read_text()
    assert "._sdk.post(" not in source and "http_client=" not in source
    assert "chat.completions.create(" in source
