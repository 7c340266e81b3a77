"""No secret leaks from the pipeline: every flow at DEBUG with canary tokens configured.

Each flow runs real parts (the safe fetcher against the local article server,
the real LLM client against the scripted chat server, real SQLite) and then
everything it produced is searched for the canaries (``tests.canaries``):
the emitted logs, the exception (with its chain), the prompts the model
server received, and the brief or error as rendered for Markdown, Slack and
Discord. The Slack and Discord flows reuse ``tests.canaries`` the same way.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_app, build_summarizer
from bot.config import Settings, load_settings
from bot.errors import (
    BlockedAddress,
    ConnectFailed,
    HTTPStatus,
    LinkbriefError,
    LLMUnavailable,
)
from bot.pipeline.models import Brief
from bot.pipeline.service import (
    MODEL_UNAVAILABLE_WARNING,
    MODEL_UNUSABLE_WARNING,
    BriefService,
)
from bot.render.discord import render_discord, render_discord_error
from bot.render.markdown import render_error_markdown, render_markdown
from bot.render.slack import render_slack, render_slack_error
from tests.app_support import local_settings
from tests.canaries import (
    CANARIES,
    FRAGMENT,
    assert_no_canaries,
    assert_texts_clean,
    canary_settings,
    captured_logs,
    exception_text,
    find_canaries,
)
from tests.servers.article_server import ArticleServer
from tests.servers.chat_server import ChatServer, Hang, Reply, Status

PAGE = "/pages/example_article.html"
KEY = CANARIES["openai_api_key"]


def _settings(tmp_path: Path, chat: ChatServer) -> Settings:
    return local_settings(
        tmp_path,
        **canary_settings(),
        openai_base_url=chat.base_url,
        summarizer="llm",
        llm_max_retries=0,
        llm_timeout_s=0.5,
        fetch_timeout_s=5,
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.2", 0))
        return probe.getsockname()[1]


@dataclass
class Flow:
    url: Callable[[ArticleServer], str]
    script: list[Any]
    expect: type[LinkbriefError] | None = None  # None: a brief comes back
    model_warning: bool = False


FLOWS: dict[str, Flow] = {
    "success": Flow(lambda s: s.url(PAGE), []),
    "blocked loopback": Flow(lambda s: "http://127.0.0.1:9/admin", [], BlockedAddress),
    "blocked metadata": Flow(
        lambda s: "http://169.254.169.254/latest/meta-data/iam", [], BlockedAddress
    ),
    "http 404": Flow(lambda s: s.url("/status/404"), [], HTTPStatus),
    "connect refused": Flow(lambda s: f"http://127.0.0.2:{_closed_port()}/a", [], ConnectFailed),
    # A server that echoes the key in its error body, as some proxies do.
    "model 500 echoing the key": Flow(
        lambda s: s.url(PAGE),
        [Status(500, message=f"Incorrect API key provided: {KEY} (header 'Bearer {KEY}')")],
        model_warning=True,
    ),
    "model 401 echoing the key": Flow(
        lambda s: s.url(PAGE),
        [Status(401, message=f"Incorrect API key provided: {KEY}", code_name="invalid_api_key")],
        model_warning=True,
    ),
    "model timeout": Flow(lambda s: s.url(PAGE), [Hang(30)], model_warning=True),
    "model bad output twice": Flow(
        lambda s: s.url(PAGE), [Reply(text="no json here"), Reply(text="{")], model_warning=True
    ),
}


def _renders(brief: Brief | None, error: LinkbriefError | None) -> list[tuple[str, Any]]:
    if brief is not None:
        return [
            ("brief json", brief.model_dump_json()),
            ("markdown", render_markdown(brief)),
            ("slack", json.dumps(render_slack(brief))),
            ("discord", json.dumps(render_discord(brief))),
        ]
    assert error is not None
    message = str(error)
    return [
        ("markdown error", render_error_markdown(message)),
        ("slack error", json.dumps(render_slack_error(message))),
        ("discord error", json.dumps(render_discord_error(message))),
    ]


def _model_requests(chat: ChatServer) -> list[tuple[str, Any]]:
    """What the model server received, but the Authorization header (where the key belongs)."""
    seen: list[tuple[str, Any]] = []
    for i, request in enumerate(chat.requests):
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        seen.append((f"model request {i} body", json.dumps(request.body)))
        seen.append((f"model request {i} headers", json.dumps(headers)))
        seen.append((f"model request {i} path", request.path))
    return seen


async def _run(service: BriefService, url: str) -> tuple[Brief | None, LinkbriefError | None]:
    try:
        return await service.brief_url(url), None
    except LinkbriefError as error:
        return None, error


@pytest.mark.parametrize("name", list(FLOWS))
async def test_no_canary_leaves_a_pipeline_flow(
    name: str, tmp_path: Path, servers: tuple[ArticleServer, ChatServer]
) -> None:
    pages, chat = servers
    flow = FLOWS[name]
    chat.script(flow.script)
    settings = _settings(tmp_path, chat)
    with captured_logs(settings) as logs:
        app = await build_app(settings)
        try:
            brief, error = await _run(app.service, flow.url(pages))
        finally:
            await app.aclose()

    # The flow did what it should, so the checks below looked at something real.
    if flow.expect is None:
        assert error is None and brief is not None, error
        warned = {MODEL_UNAVAILABLE_WARNING, MODEL_UNUSABLE_WARNING} & set(brief.warnings)
        assert bool(warned) == flow.model_warning
        assert (brief.mode == "llm") != flow.model_warning
    else:
        assert isinstance(error, flow.expect)
    assert logs.raw, "DEBUG logging must have captured the flow"
    if flow.model_warning or flow.expect is None:
        assert chat.requests and chat.requests[0].headers.get("Authorization") == f"Bearer {KEY}"

    assert_no_canaries(logs.text, where="logs")
    if error is not None:
        assert_no_canaries(exception_text(error), where="the exception")
    assert_texts_clean(_model_requests(chat))
    assert_texts_clean(_renders(brief, error))
    assert_texts_clean([("app repr", repr(app)), ("settings repr", repr(settings))])


async def test_no_canary_leaves_a_model_outage_without_fallback(
    tmp_path: Path, servers: tuple[ArticleServer, ChatServer]
) -> None:
    pages, chat = servers
    chat.script([Status(503, message=f"upstream rejected key {KEY}")])
    settings = _settings(tmp_path, chat)
    with captured_logs(settings, fmt="json") as logs:
        app = await build_app(settings)
        try:
            service = BriefService(fetcher=app.fetcher, summarizer=build_summarizer(settings))
            brief, error = await _run(service, pages.url(PAGE))
        finally:
            await app.aclose()
    assert brief is None and isinstance(error, LLMUnavailable)
    assert logs.raw
    assert_no_canaries(logs.text, where="logs")
    assert_no_canaries(exception_text(error), where="the exception")
    assert_texts_clean(_model_requests(chat))
    assert_texts_clean(_renders(None, error))


async def test_our_own_log_calls_do_not_rely_on_redaction(
    tmp_path: Path, servers: tuple[ArticleServer, ChatServer]
) -> None:
    """Before the redacting filter: no linkbrief logger ever formats a secret at all."""
    pages, chat = servers
    chat.script([Status(500, message=f"Incorrect API key provided: {KEY}")])
    settings = _settings(tmp_path, chat)
    with captured_logs(settings) as logs:
        app = await build_app(settings)
        try:
            await _run(app.service, pages.url(PAGE))
            await _run(app.service, "http://127.0.0.1:9/admin")
        finally:
            await app.aclose()
    ours = [line for line in logs.raw if line.startswith("bot.")]
    assert ours
    assert_no_canaries("\n".join(ours), where="linkbrief's own log records")


def test_the_canary_check_finds_whole_encoded_and_truncated_secrets() -> None:
    bot_token = CANARIES["slack_bot_token"]
    assert find_canaries(f"token={bot_token}") == ["slack_bot_token"]
    assert find_canaries("Authorization: Bearer " + KEY[:20] + "…") == ["openai_api_key"]
    assert find_canaries("key=" + KEY.replace("-", "%2D")) == ["openai_api_key"]  # its tail
    assert find_canaries(KEY[: FRAGMENT - 1]) == []  # a shorter prefix is only a shape
    assert set(find_canaries(json.dumps(CANARIES))) == set(CANARIES)
    assert find_canaries("xoxb-… and sk-… are only shapes") == []


def test_a_leak_through_the_log_handler_would_be_caught(tmp_path: Path) -> None:
    """The capture sees every record, and the app's handler redacts configured secrets."""
    settings = load_settings(None, **canary_settings(), database_url="sqlite+aiosqlite://")
    with captured_logs(settings) as logs:
        logging.getLogger("tests.leak").debug("careless: %s", CANARIES["discord_token"])
    assert find_canaries(logs.raw_text) == ["discord_token"]  # the record carried it
    assert "careless: [redacted]" in logs.text
    assert_no_canaries(logs.text, where="logs")
