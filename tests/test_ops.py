"""/healthz, /metrics and JSON logs, over real HTTP on loopback with real briefs.

Briefs run through the real service: the safe fetcher against the local article
server, the real LLM summarizer against the scripted chat server, real SQLite.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

import bot.ops.http as ops_http
from bot.app import App, build_app
from bot.config import Settings, load_settings
from bot.errors import BlockedAddress, HTTPStatus, UserRateLimited
from bot.logging_setup import setup_logging
from bot.ops import needs_standalone_server, start_ops_for
from bot.ops.http import add_ops_routes, start_ops_server
from bot.store import Store
from bot.store.db import create_engine
from tests.app_support import local_settings
from tests.servers.article_server import PAGES_DIR, ArticleServer
from tests.servers.chat_server import ChatServer, Status

PAGE = "/pages/example_article.html"


def _settings(tmp_path: Path, **extra: Any) -> Settings:
    # In a directory of its own: the health test removes it to make the file vanish.
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'db' / 'lb.db'}",
        "llm_max_retries": 0,
    }
    return local_settings(tmp_path, **(values | extra))


@pytest.fixture
async def llm_app(tmp_path: Path, servers: tuple[ArticleServer, ChatServer]) -> AsyncIterator[App]:
    app = await build_app(
        _settings(tmp_path, openai_base_url=servers[1].base_url, summarizer="llm")
    )
    try:
        yield app
    finally:
        await app.aclose()


async def _get(url: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(url, headers=headers)


async def _serve(app: App) -> Any:
    return await start_ops_server(app.metrics, app.health, host="127.0.0.1", port=0)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page, parsed by prometheus_client's own parser."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


# --- /healthz -------------------------------------------------------------------------


async def test_healthz_is_200_with_json_when_the_database_answers(tmp_path: Path) -> None:
    app = await build_app(_settings(tmp_path))
    server = await _serve(app)
    try:
        response = await _get(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        await server.close()
        await app.aclose()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["status"] == "ok" and body["db"] == "ok"


async def test_healthz_is_503_when_the_sqlite_file_is_gone(tmp_path: Path) -> None:
    app = await build_app(_settings(tmp_path))
    server = await _serve(app)
    try:
        await app.store.engine.dispose()  # no pooled connection to hide the loss
        shutil.rmtree(tmp_path / "db")  # the directory (and so the file) is gone
        response = await _get(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        await server.close()
        await app.aclose()
    assert response.status_code == 503
    assert response.json()["status"] == "fail" and response.json()["db"] == "unreachable"


async def test_healthz_is_503_and_never_shows_the_database_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    password = "pw-canary-5d1f0e"
    store = Store(create_engine(f"postgresql+asyncpg://lb:{password}@127.0.0.1:{port}/lb"))
    metrics_app = await build_app(load_settings(None), store=store)
    server = await _serve(metrics_app)
    try:
        response = await _get(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        await server.close()
        await metrics_app.aclose()
    assert response.status_code == 503
    assert password not in response.text
    assert password not in caplog.text
    assert "database unreachable" in caplog.text


async def test_a_hanging_health_check_answers_503_in_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(ops_http, "HEALTH_TIMEOUT_S", 0.2)
    app = await build_app(_settings(tmp_path))

    async def hangs() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {"status": "ok"}

    server = await start_ops_server(app.metrics, hangs, host="127.0.0.1", port=0)
    try:
        response = await _get(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        await server.close()
        await app.aclose()
    assert response.status_code == 503
    assert response.json() == {"status": "fail", "error": "TimeoutError"}


# --- /metrics --------------------------------------------------------------------------


async def test_metrics_count_briefs_failures_tokens_bytes_and_latency(
    llm_app: App, servers: tuple[ArticleServer, ChatServer]
) -> None:
    pages, _chat = servers
    where = {"platform": "slack", "team_id": "T1", "channel_id": "C1", "user_id": "U1"}
    brief = await llm_app.brief_link(pages.url(PAGE), **where)
    await llm_app.brief_link(pages.url(PAGE) + "?utm_source=x", **where)  # cache hit
    with pytest.raises(BlockedAddress):
        await llm_app.brief_link("http://127.0.0.1:9/private", **where)
    with pytest.raises(HTTPStatus):
        await llm_app.brief_link(pages.url("/status/404"), **where)
    server = await _serve(llm_app)
    try:
        response = await _get(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        await server.close()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = _samples(response.text)

    assert _value(samples, "linkbrief_briefs_total", mode="llm", platform="slack") == 2
    assert _value(samples, "linkbrief_brief_cache_hits_total", platform="slack") == 1
    assert _value(samples, "linkbrief_failures_total", kind="blocked_address") == 1
    assert _value(samples, "linkbrief_failures_total", kind="http_status") == 1
    assert _value(samples, "linkbrief_failures_total", kind="llm_unavailable") == 0
    assert brief.stats.prompt_tokens > 0 and brief.stats.completion_tokens > 0
    assert _value(samples, "linkbrief_model_tokens_total", type="prompt") == (
        brief.stats.prompt_tokens
    )
    assert _value(samples, "linkbrief_model_tokens_total", type="completion") == (
        brief.stats.completion_tokens
    )
    page_bytes = len((PAGES_DIR / "example_article.html").read_bytes())
    assert _value(samples, "linkbrief_fetch_bytes_total") == page_bytes
    assert _value(samples, "linkbrief_brief_latency_seconds_count") == 2
    assert _value(samples, "linkbrief_fetch_latency_seconds_count") == 1
    assert _value(samples, "linkbrief_model_latency_seconds_count") == 1
    assert _value(samples, "linkbrief_model_calls_total", outcome="ok") == 1
    latency_sum = _value(samples, "linkbrief_brief_latency_seconds_sum")
    assert latency_sum > 0
    assert _value(samples, "linkbrief_brief_latency_seconds_bucket", le="+Inf") == 2


async def test_a_model_failure_and_a_rate_limit_are_counted_by_kind(
    tmp_path: Path, servers: tuple[ArticleServer, ChatServer]
) -> None:
    pages, chat = servers
    chat.script([Status(500)])
    settings = _settings(
        tmp_path, openai_base_url=chat.base_url, summarizer="llm", rate_limit_user_per_hour=1
    )
    app = await build_app(settings)
    where = {"platform": "discord", "team_id": "G1", "channel_id": "C1", "user_id": "U1"}
    try:
        brief = await app.brief_link(pages.url(PAGE), **where)
        with pytest.raises(UserRateLimited):
            await app.brief_link(pages.url(PAGE), **where)
        body, _ = app.metrics.exposition()
    finally:
        await app.aclose()
    assert brief.mode == "extractive"  # the fallback covered the outage
    samples = _samples(body.decode())
    assert _value(samples, "linkbrief_failures_total", kind="llm_unavailable") == 1
    assert _value(samples, "linkbrief_failures_total", kind="user_rate_limited") == 1
    assert _value(samples, "linkbrief_model_calls_total", outcome="failed") == 1
    assert _value(samples, "linkbrief_briefs_total", mode="extractive", platform="discord") == 1


async def test_openmetrics_is_served_when_the_scraper_asks_for_it(llm_app: App) -> None:
    server = await _serve(llm_app)
    try:
        response = await _get(
            f"http://127.0.0.1:{server.port}/metrics",
            Accept="application/openmetrics-text; version=1.0.0",
        )
    finally:
        await server.close()
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")
    assert "linkbrief_failures_total" in response.text


async def test_each_app_has_its_own_registry(
    tmp_path: Path, servers: tuple[ArticleServer, ChatServer]
) -> None:
    pages, _ = servers
    first = await build_app(_settings(tmp_path / "a"))
    second = await build_app(_settings(tmp_path / "b"))
    try:
        await first.service.brief_url(pages.url(PAGE), platform="cli")
        assert (
            first.metrics.value("linkbrief_briefs_total", {"mode": "extractive", "platform": "cli"})
            == 1
        )
        assert (
            second.metrics.value(
                "linkbrief_briefs_total", {"mode": "extractive", "platform": "cli"}
            )
            == 0
        )
    finally:
        await first.aclose()
        await second.aclose()


async def test_the_routes_share_the_slack_http_server(tmp_path: Path) -> None:
    from slack_bolt.async_app import AsyncApp

    from bot.adapters.slack import build_http_app

    app = await build_app(_settings(tmp_path))
    # Unsigned requests are refused before bolt would ever call Slack with the token.
    bolt_app = AsyncApp(signing_secret="ops-test-signing-secret", token="xoxb-ops-test")
    http_app = build_http_app(bolt_app)
    add_ops_routes(http_app, app.metrics, app.health)
    runner = web.AppRunner(http_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        health = await _get(f"http://127.0.0.1:{port}/healthz")
        metrics = await _get(f"http://127.0.0.1:{port}/metrics")
        async with httpx.AsyncClient() as client:
            unsigned = await client.post(f"http://127.0.0.1:{port}/slack/events", content="{}")
    finally:
        await runner.cleanup()
        await app.aclose()
    assert health.status_code == 200 and metrics.status_code == 200
    assert unsigned.status_code == 401  # Slack's route is still there, still checking


def test_a_standalone_server_runs_only_when_asked_and_not_already_covered() -> None:
    assert not needs_standalone_server(load_settings(None))
    assert needs_standalone_server(load_settings(None, ops_http_port=9100))
    slack_http = {
        "slack_bot_token": "xoxb-ops-test", "slack_signing_secret": "ops-test-secret",
        "slack_mode": "http", "slack_http_port": 3000,
    }  # fmt: skip
    assert not needs_standalone_server(load_settings(None, ops_http_port=3000, **slack_http))
    assert needs_standalone_server(load_settings(None, ops_http_port=9100, **slack_http))


async def test_start_ops_for_serves_on_the_configured_port(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = await build_app(_settings(tmp_path, ops_http_port=port, ops_http_host="127.0.0.1"))
    server = await start_ops_for(app)
    assert server is not None
    try:
        assert server.port == port
        response = await _get(f"http://127.0.0.1:{port}/healthz")
    finally:
        await server.close()
        await app.aclose()
    assert response.status_code == 200


# --- JSON logs ----------------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "openai")}
    try:
        yield
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        for name, lvl in noisy.items():
            logging.getLogger(name).setLevel(lvl)


async def test_with_log_format_json_every_line_is_json(
    restore_logging: None, llm_app: App, servers: tuple[ArticleServer, ChatServer]
) -> None:
    pages, chat = servers
    stream = io.StringIO()
    with redirect_stderr(stream):  # the handler keeps the stream it was built with
        setup_logging("DEBUG", "json", llm_app.settings.secrets())
    chat.script([Status(503)])
    await llm_app.service.brief_url(pages.url(PAGE))  # model fails: a warning is logged
    with pytest.raises(BlockedAddress):
        await llm_app.service.brief_url("http://10.0.0.1/admin")
    log = logging.getLogger("tests.ops")
    log.info('two\nlines and "quotes" and ünïcode')
    try:
        raise ValueError("boom\nwith a second line")
    except ValueError:
        log.exception("an exception with its traceback")

    lines = stream.getvalue().splitlines()
    assert len(lines) >= 4
    records = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    assert all({"ts", "level", "logger", "msg"} <= record.keys() for record in records)
    assert any(r["level"] == "WARNING" and "model failed" in r["msg"] for r in records)
    multi = next(r for r in records if r["msg"].startswith("two"))
    assert multi["msg"] == 'two\nlines and "quotes" and ünïcode'
    failure = next(r for r in records if r["msg"] == "an exception with its traceback")
    assert failure["level"] == "ERROR" and "ValueError: boom" in failure["exc"]
