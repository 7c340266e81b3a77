"""Issue 18 on Slack, through the fakes: the fake Web API, signed HTTP requests and Socket
Mode, the article server and the scripted chat server (real openai SDK), real SQLite.

Questions in a brief's thread (a verified answer, an invented quote refused, an absent
topic), Regenerate under a double click (edited once), Delete (refused to a stranger,
allowed to the poster), votes and ``/linkbrief stats`` figures matching what was done.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.followup.render import CONTROLS_BLOCK_ID
from bot.pipeline.urls import canonical_url
from tests.servers.chat_server import Reply
from tests.servers.slack_api import BOT_USER_ID, TEAM_ID
from tests.slack_helpers import PAGE, SlackStack, event_body, message_event, next_ts, signed_headers

CHANNEL = "C0001"
POSTER = "U0001"
ZELENSKY = "Ukrainian land is important, yes, but ultimately, it's just a territory"


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[SlackStack]:
    async with SlackStack(tmp_path) as running:
        yield running


def answer(quote: str, speaker: str, text: str = "The article says so.") -> Reply:
    sentence = {"text": text, "quote": quote, "speaker": speaker, "source": "ISW [8]"}
    return Reply({"found": True, "sentences": [sentence]})


async def post_brief(stack: SlackStack) -> tuple[str, str]:
    """A link posted by POSTER; returns (the link message's ts, the brief's ts)."""
    event = message_event(f"worth a read <{stack.article_url()}>", user=POSTER)
    assert (await stack.post_event(event_body(event)))[0] == 200
    await stack.api.wait_for(lambda: bool(stack.api.calls_to("chat.update")))
    await stack.drain()
    [brief] = [m for m in stack.api.bot_posts() if _controls(m)]
    return event["ts"], brief["ts"]


def _controls(message: dict[str, Any]) -> dict[str, Any] | None:
    return next((b for b in message.get("blocks") or [] if b.get("block_id") == CONTROLS_BLOCK_ID),
                None)  # fmt: skip


async def ask(stack: SlackStack, thread: str, question: str, user: str = "U0003") -> str:
    """Mention the bot in the thread; returns the text of the bot's reply there."""
    before = len(stack.api.calls_to("chat.postMessage"))
    event = {"type": "app_mention", "channel": CHANNEL, "user": user, "ts": next_ts(),
             "thread_ts": thread, "text": f"<@{BOT_USER_ID}> {question}"}  # fmt: skip
    assert (await stack.post_event(event_body(event)))[0] == 200
    await stack.api.wait_for(lambda: len(stack.api.calls_to("chat.postMessage")) > before)
    await stack.drain()
    reply = stack.api.calls_to("chat.postMessage")[-1].params
    assert reply["thread_ts"] == thread
    return str(reply["text"])


def click(brief_ts: str, action: str, user: str, value: str = "0") -> dict[str, Any]:
    return {
        "type": "block_actions", "team": {"id": TEAM_ID}, "user": {"id": user},
        "api_app_id": "A00000001", "token": "legacy", "trigger_id": uuid.uuid4().hex,
        "channel": {"id": CHANNEL}, "container": {"type": "message", "message_ts": brief_ts,
                                                  "channel_id": CHANNEL},
        "message": {"ts": brief_ts, "type": "message"},
        "actions": [{"type": "button", "action_id": f"linkbrief:{action}",
                     "block_id": CONTROLS_BLOCK_ID, "value": value, "action_ts": next_ts()}],
    }  # fmt: skip


async def post_click(stack: SlackStack, payload: dict[str, Any]) -> int:
    raw = urlencode({"payload": json.dumps(payload)})
    headers = signed_headers(raw, {"Content-Type": "application/x-www-form-urlencoded"})
    return (await stack.post_raw(raw, headers))[0]


async def test_questions_in_the_thread_are_answered_from_the_article(stack: SlackStack) -> None:
    thread, _ = await post_brief(stack)
    stack.chat.script([
        answer(ZELENSKY, "Zelensky"),
        answer("Ukraine will cede Crimea to Russia immediately", "Zelensky"),
        Reply({"found": False, "sentences": []}),
    ])  # fmt: skip
    text = await ask(stack, thread, "what did Zelensky say about territory?")
    assert "just a territory" in text and "Zelensky" in text
    text = await ask(stack, thread, "will Ukraine cede Crimea?")
    assert "does not support" in text and "cede Crimea to Russia" not in text
    text = await ask(stack, thread, "what did Putin say about sanctions?")
    assert text.startswith("The article doesn't say.")
    assert stack.articles.hits[PAGE] == 1  # never fetched again
    # The second question carried the first one as thread context.
    assert "what did Zelensky say about territory?" in stack.chat.requests[-1].messages[-1][
        "content"].split("<<<THREAD")[1]  # fmt: skip


async def test_a_mention_in_a_thread_without_a_brief_gets_a_hint(stack: SlackStack) -> None:
    text = await ask(stack, next_ts(), "what does it say?")
    assert "thread of one of my briefs" in text


async def test_regenerate_double_click_edits_once(stack: SlackStack) -> None:
    _, brief_ts = await post_brief(stack)
    edits = len(stack.api.calls_to("chat.update"))
    statuses = await asyncio.gather(*(post_click(stack, click(brief_ts, "regenerate", "U0009"))
                                      for _ in range(2)))  # fmt: skip
    assert statuses == [200, 200]
    await stack.api.wait_for(lambda: len(stack.api.calls_to("chat.update")) > edits)
    await stack.drain()
    await asyncio.sleep(0.2)  # a stray second edit would land by now
    await stack.drain()
    assert len(stack.api.calls_to("chat.update")) == edits + 1
    edited = stack.api.messages[(CHANNEL, brief_ts)]
    assert _controls(edited)["elements"][0]["value"] == "1"  # the next click regenerates again
    assert [e["text"] for e in stack.api.ephemerals("U0009")] == [
        "That brief is already being regenerated; the new one replaces it in place."
    ]
    assert stack.app is not None and stack.app.controls.regenerations == 1


async def test_delete_refused_to_a_stranger_and_allowed_to_the_poster(stack: SlackStack) -> None:
    _, brief_ts = await post_brief(stack)
    assert await post_click(stack, click(brief_ts, "delete", "U0666")) == 200
    await stack.api.wait_for(lambda: bool(stack.api.ephemerals("U0666")))
    await stack.drain()
    assert "Only the person who posted the link" in stack.api.ephemerals("U0666")[0]["text"]
    assert (CHANNEL, brief_ts) in stack.api.messages
    assert await post_click(stack, click(brief_ts, "delete", POSTER)) == 200
    await stack.api.wait_for(lambda: bool(stack.api.calls_to("chat.delete")))
    await stack.drain()
    assert (CHANNEL, brief_ts) not in stack.api.messages


async def test_an_admin_may_delete_a_brief(stack: SlackStack) -> None:
    _, brief_ts = await post_brief(stack)
    stack.api.admins.add("UADMIN")
    assert await post_click(stack, click(brief_ts, "delete", "UADMIN")) == 200
    await stack.api.wait_for(lambda: bool(stack.api.calls_to("chat.delete")))
    assert (CHANNEL, brief_ts) not in stack.api.messages


async def test_votes_and_stats_match_what_happened(stack: SlackStack) -> None:
    thread, brief_ts = await post_brief(stack)
    stack.chat.script([answer(ZELENSKY, "Zelensky")])
    await ask(stack, thread, "what did Zelensky say about territory?")
    for user, action in (("U1", "up"), ("U2", "up"), ("U2", "down"), ("U3", "down")):
        assert await post_click(stack, click(brief_ts, action, user)) == 200
        await stack.api.wait_for(lambda u=user: bool(stack.api.ephemerals(u)))
        await stack.drain()
    assert "👍 1 · 👎 2" in stack.api.ephemerals("U3")[-1]["text"]  # U2 changed their mind
    form = {"command": "/linkbrief", "text": "stats", "channel_id": CHANNEL, "user_id": "U1",
            "team_id": TEAM_ID, "trigger_id": uuid.uuid4().hex,
            "response_url": stack.api.hook_url("cmd")}  # fmt: skip
    raw = urlencode(form)
    status, body = await stack.post_raw(
        raw, signed_headers(raw, {"Content-Type": "application/x-www-form-urlencoded"})
    )
    assert status == 200
    today, week = body.split("Last 7 days")
    assert stack.app is not None
    budget = stack.app.settings.daily_token_budget
    used = budget - (await stack.app.limits.tokens_left(platform="slack", team_id=TEAM_ID) or 0)
    brief = await stack.app.store.get_brief(canonical_url(stack.article_url()), 3600)
    assert brief is not None and used > 0
    withheld = brief.unverified_count
    share = f"{round(100 * withheld / len(brief.claims))}% ({withheld} of {len(brief.claims)})"
    for part, days in ((today, 1), (week, 7)):
        assert "briefs: 1 · questions answered: 1 · links failed: 0" in part
        assert f"model tokens: {used:,} of {budget * days:,}" in part
        assert f"claims withheld: {share}" in part
        assert "feedback: 👍 1 · 👎 2" in part
        assert "domains that failed most: none" in part


@pytest.fixture
async def socket_stack(tmp_path: Path) -> AsyncIterator[SlackStack]:
    async with SlackStack(tmp_path, mode="socket") as running:
        yield running


async def test_socket_mode_question_and_double_click(socket_stack: SlackStack) -> None:
    stack = socket_stack
    await asyncio.wait_for(stack.socket.connected.wait(), 10)
    event = message_event(f"see <{stack.article_url()}>", user=POSTER)
    await stack.socket.send_events_api(event_body(event))
    await stack.api.wait_for(lambda: bool(stack.api.calls_to("chat.update")))
    await stack.drain()
    [brief] = [m for m in stack.api.bot_posts() if _controls(m)]
    stack.chat.script([answer(ZELENSKY, "Zelensky")])
    mention = {"type": "app_mention", "channel": CHANNEL, "user": "U0003", "ts": next_ts(),
               "thread_ts": event["ts"], "text": f"<@{BOT_USER_ID}> and territory?"}  # fmt: skip
    envelope = await stack.socket.send_events_api(event_body(mention))
    await stack.socket.wait_ack(envelope)
    await stack.api.wait_for(lambda: len(stack.api.calls_to("chat.postMessage")) >= 2)
    assert "just a territory" in stack.api.calls_to("chat.postMessage")[-1].params["text"]
    edits = len(stack.api.calls_to("chat.update"))
    for _ in range(2):
        await stack.socket.send_interactive(click(brief["ts"], "regenerate", "U0009"))
    await stack.api.wait_for(lambda: len(stack.api.calls_to("chat.update")) > edits)
    await stack.drain()
    await asyncio.sleep(0.2)
    await stack.drain()
    assert len(stack.api.calls_to("chat.update")) == edits + 1


async def test_a_question_is_answered_where_auto_briefing_is_off(stack: SlackStack) -> None:
    assert (await stack.post_command("auto off"))[0] == 200
    assert (await stack.post_command(f"<{stack.article_url()}>"))[0] == 200
    await stack.api.wait_for(lambda: bool(stack.api.calls_to("chat.update")))
    await stack.drain()
    [brief] = [m for m in stack.api.bot_posts() if _controls(m)]
    assert "thread_ts" not in brief  # a /linkbrief brief starts its own thread
    stack.chat.script([answer(ZELENSKY, "Zelensky")])
    text = await ask(stack, brief["ts"], "what did Zelensky say about territory?")
    assert "just a territory" in text


async def test_regenerate_skips_the_cache_and_pays_from_the_budget(stack: SlackStack) -> None:
    _, brief_ts = await post_brief(stack)
    assert stack.app is not None
    left = await stack.app.limits.tokens_left(platform="slack", team_id=TEAM_ID)
    requests, fetches = len(stack.chat.requests), stack.articles.hits[PAGE]
    assert await post_click(stack, click(brief_ts, "regenerate", "U0009")) == 200
    await stack.api.wait_for(lambda: stack.app is not None and stack.app.controls.regenerations)
    await stack.drain()
    assert len(stack.chat.requests) == requests + 1  # a new model call...
    assert stack.articles.hits[PAGE] == fetches + 1  # ...on a fresh fetch
    after = await stack.app.limits.tokens_left(platform="slack", team_id=TEAM_ID)
    assert left is not None and after is not None and after < left


async def test_stats_name_the_domain_that_failed(stack: SlackStack) -> None:
    bad = stack.articles.url("/status/404")
    assert (await stack.post_event(event_body(message_event(f"<{bad}>"))))[0] == 200
    await stack.api.wait_for(lambda: bool(stack.api.calls_to("chat.update")))
    await stack.drain()
    form = {"command": "/linkbrief", "text": "stats", "channel_id": CHANNEL, "user_id": "U1",
            "team_id": TEAM_ID, "trigger_id": uuid.uuid4().hex,
            "response_url": stack.api.hook_url("cmd")}  # fmt: skip
    raw = urlencode(form)
    _, body = await stack.post_raw(
        raw, signed_headers(raw, {"Content-Type": "application/x-www-form-urlencoded"})
    )
    assert "briefs: 0 · questions answered: 0 · links failed: 1" in body
    assert "domains that failed most: 127.0.0.2 (1)" in body


async def test_after_a_reaction_the_links_poster_may_delete(stack: SlackStack) -> None:
    from tests.slack_helpers import reaction_event

    message = stack.api.add_message(CHANNEL, f"have a look <{stack.article_url()}>", user=POSTER)
    await stack.post_event(event_body(reaction_event(CHANNEL, message["ts"], user="U0002")))
    await stack.api.wait_for(lambda: bool(stack.api.calls_to("chat.update")))
    await stack.drain()
    [brief] = [m for m in stack.api.bot_posts() if _controls(m)]
    assert await post_click(stack, click(brief["ts"], "delete", POSTER)) == 200
    await stack.api.wait_for(lambda: bool(stack.api.calls_to("chat.delete")))
    assert (CHANNEL, brief["ts"]) not in stack.api.messages
