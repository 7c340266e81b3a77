"""The Slack front end in Socket Mode, end to end over a real WebSocket on loopback.

``apps.connections.open`` (on the fake Web API, called with the app token)
hands out the ``ws://127.0.0.1`` URL of the fake Socket Mode server, which
pushes ``events_api`` envelopes and records the bot's acknowledgements.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.app import build_app, build_slack
from tests.render_checks import assert_safe_slack
from tests.servers.slack_api import APP_TOKEN
from tests.slack_helpers import SlackStack, event_body, message_event, poisoned_model

CHANNEL = "C0001"


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[SlackStack]:
    async with SlackStack(tmp_path, mode="socket") as running:
        await running.socket.connected.wait()
        yield running


async def test_connects_with_the_app_token_through_the_configured_api(stack: SlackStack) -> None:
    [open_call] = stack.api.calls_to("apps.connections.open")
    assert open_call.headers["Authorization"] == f"Bearer {APP_TOKEN}"
    assert stack.socket.connections == 1


async def test_an_events_api_envelope_is_acked_and_briefed_in_the_thread(
    stack: SlackStack,
) -> None:
    stack.chat.script([poisoned_model])
    url = stack.article_url()
    event = message_event(f"read this: <{url}|the article>")
    envelope_id = await stack.socket.send_events_api(event_body(event))
    ack = await stack.socket.wait_ack(envelope_id)
    assert ack == {"envelope_id": envelope_id}

    await stack.api.wait_for(lambda: len(stack.api.calls_to("chat.update")) == 1)
    await stack.drain()
    [placeholder] = stack.api.calls_to("chat.postMessage")
    assert placeholder.params["thread_ts"] == event["ts"]
    assert placeholder.params["unfurl_links"] is False
    assert placeholder.params["unfurl_media"] is False
    [update] = stack.api.calls_to("chat.update")
    assert update.params["ts"] in {ts for (_, ts) in stack.api.messages}
    brief = {"text": update.params["text"], "blocks": update.params["blocks"]}
    assert any(block["type"] == "header" for block in brief["blocks"])
    assert_safe_slack(brief, url)
    assert "evil.example" not in str(brief)


async def test_a_redelivered_envelope_is_acked_but_not_briefed_again(stack: SlackStack) -> None:
    body = event_body(message_event(f"<{stack.article_url()}>"))
    first = await stack.socket.send_events_api(body)
    await stack.socket.wait_ack(first)
    await stack.api.wait_for(lambda: len(stack.api.calls_to("chat.update")) == 1)

    again = await stack.socket.send_events_api(body, retry_attempt=1)
    assert await stack.socket.wait_ack(again) == {"envelope_id": again}
    await stack.drain()
    assert len(stack.api.calls_to("chat.postMessage")) == 1


async def test_a_redelivery_after_a_restart_is_not_briefed_again(stack: SlackStack) -> None:
    body = event_body(message_event(f"<{stack.article_url()}>"))
    await stack.socket.wait_ack(await stack.socket.send_events_api(body))
    await stack.api.wait_for(lambda: len(stack.api.calls_to("chat.update")) == 1)
    await stack.drain()

    stack.socket.connected.clear()
    await stack.restart()
    await stack.socket.connected.wait()
    assert stack.socket.connections == 2
    again = await stack.socket.send_events_api(body, retry_attempt=1)
    await stack.socket.wait_ack(again)
    await stack.drain()
    assert len(stack.api.calls_to("chat.postMessage")) == 1


async def test_run_slack_runs_until_cancelled_then_closes_the_socket(tmp_path: Path) -> None:
    async with SlackStack(tmp_path, mode="socket") as running:
        await running.stop_bot()  # the front end below is the only bot
        await _wait(lambda: not running.socket.client_connected)
        before = running.socket.connections
        app = await build_app(running.settings())
        try:
            task = asyncio.create_task((await build_slack(app)).run())
            await _wait(lambda: running.socket.client_connected)
            assert running.socket.connections == before + 1
            assert not task.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await _wait(lambda: not running.socket.client_connected)
        finally:
            await app.aclose()


async def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)
