"""Model errors in plain words: the model, the server and what it said, against the
scripted chat server over loopback (through the real openai SDK)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import build_app
from bot.errors import LLMUnavailable
from bot.llm.client import ChatClient
from bot.llm.prompts import load_prompts
from bot.llm.schema import SCHEMA_NAME, answer_json_schema, parse_answer
from bot.llm.summarizer import LLMSummarizer
from bot.pipeline.models import Article
from bot.pipeline.service import MODEL_UNUSABLE_WARNING
from tests.app_support import local_settings
from tests.servers.article_server import ArticleServer
from tests.servers.chat_server import ChatServer, ContextTooLong, Reply, Status

KEY = "sk-errors-test-QwErTyUiOpAsDfGhJkL0123456789"


@pytest.fixture
async def chat() -> AsyncIterator[ChatServer]:
    async with ChatServer() as srv:
        yield srv


async def failure(chat: ChatServer, status: Status, model: str = "llama3.1") -> str:
    chat.script([status])
    client = ChatClient(model=model, base_url=chat.base_url, api_key=KEY, max_retries=0)
    try:
        with pytest.raises(LLMUnavailable) as info:
            await client.complete_json(
                "system", "user", answer_json_schema(), SCHEMA_NAME, validate=parse_answer
            )
    finally:
        await client.aclose()
    return str(info.value)


def server_of(chat: ChatServer) -> str:
    return chat.base_url.removesuffix("/v1").removesuffix("/v1/")


async def test_ollama_model_not_pulled_names_model_server_and_the_fix(chat: ChatServer) -> None:
    said = 'model "llama3.1" not found, try pulling it first'
    message = await failure(chat, Status(404, message=said))
    assert message == (
        f"model 'llama3.1' not found on {server_of(chat)} ({said}) — ollama pull llama3.1"
    )


async def test_unknown_model_elsewhere_points_at_the_model_list(chat: ChatServer) -> None:
    said = "The model `gpt-9` does not exist or you do not have access to it."
    message = await failure(chat, Status(404, message=said), model="gpt-9")
    assert message.startswith(f"model 'gpt-9' not found on {server_of(chat)} ({said})")
    assert "LLM_MODEL" in message and "ollama" not in message


async def test_a_server_error_quotes_the_server(chat: ChatServer) -> None:
    message = await failure(chat, Status(500, message="CUDA out of memory"))
    assert message == (
        f"the model server {server_of(chat)} had an error with 'llama3.1' "
        "(500: CUDA out of memory) — try again later"
    )


@pytest.mark.parametrize(
    "status",
    [
        Status(401, message=f"Incorrect API key provided: {KEY}"),
        Status(500, message=f"upstream said no to {KEY[3:20]}***"),
        Status(503, message="bad token Bearer abcdefgh12345"),
    ],
    ids=["401-echo", "500-key-fragment", "503-token-shape"],
)
async def test_the_server_text_is_left_out_when_it_could_carry_the_key(
    chat: ChatServer, status: Status
) -> None:
    message = await failure(chat, status)
    assert KEY[3:11] not in message and "Bearer" not in message
    assert server_of(chat) in message


async def test_llama_cpp_context_error_shrinks_the_input_and_retries_once(
    chat: ChatServer,
) -> None:
    too_long = "the request exceeds the available context size, try increasing it"
    chat.script([ContextTooLong(message=too_long)])
    text = "\n\n".join(
        f"Paragraph {n}: the council said the budget would grow by {n} percent."
        for n in range(1, 80)
    )
    url = "https://example.org/a"
    article = Article(url=url, canonical_url=url, text=text, title="Minutes", site="example.org")
    client = ChatClient(model="m", base_url=chat.base_url, timeout_s=30.0, max_retries=0)
    summarizer = LLMSummarizer(client, load_prompts(), max_input_tokens=4000, max_output_tokens=600)
    try:
        await summarizer.summarize(article)
    finally:
        await client.aclose()
    assert len(chat.requests) == 2
    assert chat.requests[1].prompt_tokens < chat.requests[0].prompt_tokens


async def test_an_unusable_answer_is_not_called_unavailable(
    tmp_path: Path, chat: ChatServer
) -> None:
    chat.script([Reply(text="no json here"), Reply(text="{")])
    settings = local_settings(tmp_path, openai_base_url=chat.base_url, llm_max_retries=0)
    async with ArticleServer(host="127.0.0.2") as pages:
        app = await build_app(settings)
        try:
            brief = await app.service.brief_url(pages.url("/pages/example_article.html"))
        finally:
            await app.aclose()
    assert brief.mode == "extractive"
    assert brief.warnings[0] == MODEL_UNUSABLE_WARNING
    assert "unavailable" not in brief.warnings[0]
