"""ChatClient against the scripted chat server over loopback, through the real openai SDK."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.config import load_settings
from bot.errors import LLMBadOutput, LLMUnavailable
from bot.llm.client import ChatClient, ContextTooLong
from bot.llm.schema import SCHEMA_NAME, Answer, answer_json_schema, parse_answer
from tests.servers.chat_server import (
    ChatServer,
    Drop,
    Hang,
    Reply,
    Status,
)
from tests.servers.chat_server import (
    ContextTooLong as ContextTooLongReply,
)

GOOD = {
    "title": "Is Russia pulling back?",
    "summary": "ISW says the withdrawal is a redeployment.",
    "claims": [
        {
            "claim": "Russia said it would reduce activity near Kyiv.",
            "speaker": "Alexander Fomin",
            "source": "ISW report [1]",
            "quote": "drastically reduce military activity in the Kyiv and Chernihiv directions",
            "kind": "claim",
        }
    ],
}
SECRET = "sk-test-DO-NOT-LEAK-1234567890"


@pytest.fixture
async def server() -> AsyncIterator[ChatServer]:
    async with ChatServer() as srv:
        yield srv


def make_client(srv: ChatServer, **overrides: Any) -> ChatClient:
    values: dict[str, Any] = {
        "openai_base_url": srv.base_url,
        "openai_api_key": SECRET,
        "llm_model": "test-model",
        "llm_timeout_s": 5.0,
        "llm_max_retries": 0,
    }
    values.update(overrides)
    return ChatClient.from_settings(load_settings(env_file=None, **values))


async def ask(client: ChatClient) -> Any:
    return await client.complete_json(
        "system text", "user text", answer_json_schema(), SCHEMA_NAME, validate=parse_answer
    )


async def test_schema_mode_sends_strict_json_schema(server: ChatServer) -> None:
    server.script([Reply(GOOD)])
    client = make_client(server)
    result = await ask(client)
    assert isinstance(result.value, Answer)
    assert result.value.claims[0].speaker == "Alexander Fomin"
    assert result.mode == "json_schema"
    sent = server.requests[0].body
    assert sent["model"] == "test-model"
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["strict"] is True
    assert sent["response_format"]["json_schema"]["name"] == SCHEMA_NAME
    assert sent["response_format"]["json_schema"]["schema"] == answer_json_schema()
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert server.requests[0].headers["Authorization"] == f"Bearer {SECRET}"
    await client.aclose()


async def test_usage_tokens_are_reported(server: ChatServer) -> None:
    server.script([Reply(GOOD)])
    client = make_client(server)
    result = await ask(client)
    assert result.prompt_tokens == server.requests[0].prompt_tokens > 0
    assert result.completion_tokens > 0
    assert result.requests == 1
    await client.aclose()


async def test_json_object_only_server_falls_back_and_is_remembered() -> None:
    async with ChatServer(mode="json_object") as srv:
        srv.script([Reply(GOOD), Reply(GOOD)])
        client = make_client(srv)
        first = await ask(client)
        assert first.mode == "json_object"
        assert [r.response_format_type for r in srv.requests] == ["json_schema", "json_object"]
        second = await ask(client)
        assert second.mode == "json_object"
        # Remembered: the second call goes straight to json_object.
        assert [r.response_format_type for r in srv.requests[2:]] == ["json_object"]
        await client.aclose()


async def test_text_only_server_falls_back_to_fenced_json_and_is_remembered() -> None:
    async with ChatServer(mode="text") as srv:
        fenced = "Here you go:\n```json\n" + json.dumps(GOOD) + "\n```\nAnything else?"
        srv.script([Reply(text=fenced), Reply(text="Sure. " + json.dumps(GOOD) + " Done.")])
        client = make_client(srv)
        first = await ask(client)
        assert first.mode == "text"
        assert first.data == GOOD
        assert [r.response_format_type for r in srv.requests] == [
            "json_schema",
            "json_object",
            None,
        ]
        second = await ask(client)
        assert second.data == GOOD
        assert [r.response_format_type for r in srv.requests[3:]] == [None]
        await client.aclose()


async def test_invalid_json_then_valid_uses_one_repair_round(server: ChatServer) -> None:
    server.script([Reply(text='{"title": "x", "summary": '), Reply(GOOD)])
    client = make_client(server)
    result = await ask(client)
    assert result.data == GOOD
    assert result.requests == 2
    assert len(server.requests) == 2
    repair = server.requests[1].messages
    assert [m["role"] for m in repair] == ["system", "user", "assistant", "user"]
    assert repair[2]["content"] == '{"title": "x", "summary": '
    assert "invalid JSON" in repair[3]["content"]
    assert result.prompt_tokens == sum(r.prompt_tokens for r in server.requests)
    await client.aclose()


async def test_schema_violation_is_named_in_the_repair_message(server: ChatServer) -> None:
    bad = {**GOOD, "claims": [{**GOOD["claims"][0], "kind": "rumour"}]}
    server.script([Reply(bad), Reply(GOOD)])
    client = make_client(server)
    result = await ask(client)
    assert result.value.claims[0].kind == "claim"
    assert "claims.0.kind" in server.requests[1].messages[3]["content"]
    await client.aclose()


async def test_invalid_twice_raises_bad_output(server: ChatServer) -> None:
    server.script([Reply(text="no json here"), Reply({"title": "only a title"})])
    client = make_client(server)
    with pytest.raises(LLMBadOutput):
        await ask(client)
    assert len(server.requests) == 2
    await client.aclose()


async def test_hang_becomes_unavailable_with_a_short_timeout(server: ChatServer) -> None:
    server.script([Hang(seconds=30)])
    client = make_client(server, llm_timeout_s=1.0, llm_max_retries=0)
    with pytest.raises(LLMUnavailable) as info:
        await ask(client)
    assert "too long" in str(info.value)
    await client.aclose()


async def test_503_becomes_unavailable_after_the_retries(server: ChatServer) -> None:
    server.script([Status(503, retry_after=0.01)] * 2)
    client = make_client(server, llm_max_retries=1)
    with pytest.raises(LLMUnavailable) as info:
        await ask(client)
    assert "503" in str(info.value)
    assert len(server.requests) == 2
    await client.aclose()


async def test_429_with_retry_after_is_retried_then_unavailable(server: ChatServer) -> None:
    server.script([Status(429, retry_after=0.05)] * 3)
    client = make_client(server, llm_max_retries=2)
    with pytest.raises(LLMUnavailable) as info:
        await ask(client)
    assert "429" in str(info.value)
    assert len(server.requests) == 3
    await client.aclose()


async def test_429_then_success_recovers_within_retries(server: ChatServer) -> None:
    server.script([Status(429, retry_after=0.05), Reply(GOOD)])
    client = make_client(server, llm_max_retries=2)
    result = await ask(client)
    assert result.data == GOOD
    await client.aclose()


async def test_dropped_connection_becomes_unavailable(server: ChatServer) -> None:
    server.script([Drop()])
    client = make_client(server)
    with pytest.raises(LLMUnavailable):
        await ask(client)
    await client.aclose()


async def test_refused_connection_becomes_unavailable() -> None:
    async with ChatServer() as srv:
        base_url = srv.base_url
    client = ChatClient(model="m", base_url=base_url, timeout_s=2.0, max_retries=0)
    with pytest.raises(LLMUnavailable):
        await ask(client)
    await client.aclose()


async def test_auth_error_names_the_setting_but_never_the_key(server: ChatServer) -> None:
    server.script([Status(401, message=f"Incorrect API key provided: {SECRET}")])
    client = make_client(server)
    with pytest.raises(LLMUnavailable) as info:
        await ask(client)
    assert "OPENAI_API_KEY" in str(info.value)
    assert SECRET not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert SECRET not in repr(client)
    await client.aclose()


async def test_max_tokens_rejection_switches_to_max_completion_tokens(server: ChatServer) -> None:
    rejection = "Unsupported parameter: 'max_tokens' is not supported with this model."
    server.script([Status(400, message=rejection), Reply(GOOD), Reply(GOOD)])
    client = make_client(server, max_output_tokens=321)
    result = await ask(client)
    assert result.data == GOOD
    assert result.mode == "json_schema"  # not a structured-output rejection
    first, second = server.requests
    assert first.body["max_tokens"] == 321 and "max_completion_tokens" not in first.body
    assert second.body["max_completion_tokens"] == 321 and "max_tokens" not in second.body
    await ask(client)  # remembered for later calls
    assert server.requests[2].body["max_completion_tokens"] == 321
    await client.aclose()


async def test_context_length_error_is_its_own_error(server: ChatServer) -> None:
    server.script([ContextTooLongReply()])
    client = make_client(server)
    with pytest.raises(ContextTooLong):
        await ask(client)
    # A context error is not a structured-output rejection: the mode stays.
    assert client.mode == "json_schema"
    await client.aclose()


async def test_concurrency_limit_is_respected(server: ChatServer) -> None:
    server.default = Reply(GOOD, delay=0.2)
    client = make_client(server, llm_concurrency=2)
    results = await asyncio.gather(*(ask(client) for _ in range(6)))
    assert len(results) == 6
    assert server.max_concurrent == 2
    await client.aclose()


async def test_placeholder_key_when_only_a_base_url_is_set(server: ChatServer) -> None:
    server.script([Reply(GOOD)])
    client = ChatClient(model="llama3", base_url=server.base_url, timeout_s=5.0, max_retries=0)
    await ask(client)
    assert server.requests[0].headers["Authorization"] == "Bearer not-needed"
    await client.aclose()


def test_server_in_a_thread_serves_sync_callers() -> None:
    srv = ChatServer()
    base_url = srv.start_in_thread()
    try:
        srv.script([Status(503), Reply(GOOD)])

        async def twice() -> tuple[str, dict[str, Any]]:
            client = ChatClient(model="m", base_url=base_url, timeout_s=5.0, max_retries=0)
            try:
                with pytest.raises(LLMUnavailable):
                    await ask(client)
                return "ok", (await ask(client)).data
            finally:
                await client.aclose()

        assert asyncio.run(twice()) == ("ok", GOOD)
        assert len(srv.requests) == 2
    finally:
        srv.stop()
