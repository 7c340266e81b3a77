"""No secret leaks from the chat front ends: Slack (HTTP and Socket Mode) and Discord
flows at DEBUG with every secret set to a canary (``tests.canaries``).

Searched for the canaries afterwards: the captured logs, everything the fake Slack,
the fake Discord (REST and gateway) and the model server received — bodies, query
strings and headers, except the one header that must carry a token
(``Authorization``; and the gateway's IDENTIFY ``token``) — and the posted text.
Each flow covers a brief, a refused link, a page error and a model error that
echoes the API key.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from bot.config import load_settings
from tests.canaries import CANARIES, assert_texts_clean, canary_settings, captured_logs
from tests.discord_helpers import DiscordStack, wait_until
from tests.servers.chat_server import ChatServer, Status
from tests.slack_helpers import SlackStack, event_body, message_event, signed_headers

KEY = CANARIES["openai_api_key"]
MODEL_ECHO = Status(401, message=f"Incorrect API key provided: {KEY}", code_name="invalid_api_key")


def _model_seen(chat: ChatServer) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []
    for i, request in enumerate(chat.requests):
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        seen += [(f"model request {i}", json.dumps(request.body)), (f"model headers {i}", headers)]
    return seen


def _slack_seen(stack: SlackStack) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []
    for call in stack.api.calls:
        headers = {k: v for k, v in call.headers.items() if k.lower() != "authorization"}
        seen += [
            (f"slack {call.method} params", call.params),
            (f"slack {call.method} headers", headers),
        ]
    seen += [("slack response_url answers", stack.api.hooks)]
    return seen


def _slack_stack(tmp_path: Path, mode: str) -> SlackStack:
    stack = SlackStack(tmp_path, mode=mode, **canary_settings())
    # The fake Slack accepts only the configured tokens, so the flow is real.
    stack.api.bot_token = CANARIES["slack_bot_token"]
    stack.api.app_token = CANARIES["slack_app_token"]
    return stack


def _links(stack: SlackStack) -> list[str]:
    return [
        stack.article_url(),  # a brief (the model answers below with an echo of the key)
        "http://127.0.0.1:9/admin",  # refused by the SSRF guard
        stack.article_url("/status/404"),  # a page error
    ]


async def _assert_flow_clean(stack: SlackStack, logs: Any) -> None:
    assert logs.raw, "DEBUG logging must have captured the flow"
    assert len(stack.api.calls_to("chat.update")) == 3
    assert stack.chat.requests, "the model was asked (and echoed the key back)"
    assert stack.chat.requests[0].headers.get("Authorization") == f"Bearer {KEY}"
    assert_texts_clean([("logs", logs.text)])
    assert_texts_clean(_slack_seen(stack))
    assert_texts_clean(_model_seen(stack.chat))


async def test_no_canary_leaves_the_slack_http_flow(tmp_path: Path) -> None:
    stack = _slack_stack(tmp_path, "http")
    settings = load_settings(None, **canary_settings())
    secret = CANARIES["slack_signing_secret"]
    with captured_logs(settings) as logs:
        async with stack:
            stack.chat.script([MODEL_ECHO])
            for link in _links(stack):
                raw = json.dumps(event_body(message_event(f"<{link}>")))
                status, _ = await stack.post_raw(
                    raw, signed_headers(raw, {"Content-Type": "application/json"}, secret=secret)
                )
                assert status == 200
            bad = json.dumps(event_body(message_event("<https://x.example/>")))
            assert (await stack.post_raw(bad, signed_headers(bad, secret="wrong" * 8)))[0] == 401
            await stack.api.wait_for(lambda: len(stack.api.calls_to("chat.update")) == 3)
            await stack.drain()
            await _assert_flow_clean(stack, logs)


async def test_no_canary_leaves_the_slack_socket_mode_flow(tmp_path: Path) -> None:
    stack = _slack_stack(tmp_path, "socket")
    settings = load_settings(None, **canary_settings())
    with captured_logs(settings) as logs:
        async with stack:
            stack.chat.script([MODEL_ECHO])
            await wait_until(lambda: stack.socket.client_connected)
            for link in _links(stack):
                envelope = await stack.socket.send_events_api(
                    event_body(message_event(f"<{link}>"))
                )
                await stack.socket.wait_ack(envelope)
            await stack.api.wait_for(lambda: len(stack.api.calls_to("chat.update")) == 3)
            await stack.drain()
            await _assert_flow_clean(stack, logs)
            opened = stack.api.calls_to("apps.connections.open")
            assert opened and opened[0].headers["Authorization"].endswith(
                CANARIES["slack_app_token"]
            )


async def test_no_canary_leaves_the_discord_flow(tmp_path: Path) -> None:
    settings = load_settings(None, **canary_settings())
    with captured_logs(settings) as logs:
        async with DiscordStack(tmp_path, llm=True) as stack:
            assert stack.chat is not None
            stack.fake.token = CANARIES["discord_token"]
            stack.chat.script([MODEL_ECHO])
            await stack.start_bot(**canary_settings())
            fake = stack.fake
            for link in (stack.article_url(), "http://127.0.0.1:9/admin",
                         stack.articles.url("/status/404")):  # fmt: skip
                message = await stack.say(f"see {link}")
                await stack.edits_in(message["id"])
            await asyncio.sleep(0)
            assert fake.identifies and fake.identifies[0]["token"] == CANARIES["discord_token"]
            assert stack.chat.requests, "the model was asked (and echoed the key back)"
            rest = [(f"discord {r.method} {r.path}", [r.json, r.query]) for r in fake.requests]
            gateway = [
                ("gateway payload", {**p, "d": {k: v for k, v in p["d"].items() if k != "token"}})
                if isinstance(p.get("d"), dict) else ("gateway payload", p)
                for p in fake.received
            ]  # fmt: skip
            posted = [r for r in fake.requests if r.method in ("POST", "PATCH")]
            assert len(posted) >= 6  # threads, placeholders and edits were all searched
            model = _model_seen(stack.chat)
    assert logs.raw
    assert_texts_clean([("logs", logs.text)])
    assert_texts_clean(rest)
    assert_texts_clean(gateway)
    assert_texts_clean(model)
