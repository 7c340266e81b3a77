"""The Slack front end in HTTP mode, end to end over loopback HTTP.

Real bolt app, real signature checks, the fake Slack Web API recording every
call, the article server, the scripted chat server as the model, and a real
SQLite store (restarts are new ``App`` instances on the same file).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.slack.surface import event_key, message_key, place
from bot.delivery import LinkJob, Request
from tests.render_checks import assert_safe_slack
from tests.servers.slack_api import ApiCall
from tests.slack_helpers import (
    PAGE,
    SlackStack,
    event_body,
    message_event,
    poisoned_model,
    reaction_event,
    signed_headers,
)

CHANNEL = "C0001"


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[SlackStack]:
    async with SlackStack(tmp_path) as running:
        yield running


def posts(stack: SlackStack) -> list[ApiCall]:
    return stack.api.calls_to("chat.postMessage")


def updates(stack: SlackStack) -> list[ApiCall]:
    return stack.api.calls_to("chat.update")


def message_payload(call: ApiCall) -> dict[str, Any]:
    """What a person sees: the text and blocks of a post or update."""
    blocks = call.params.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return {"text": call.params.get("text", ""), "blocks": blocks}


def all_text(call: ApiCall) -> str:
    return json.dumps(message_payload(call), ensure_ascii=False)


async def brief_posted(stack: SlackStack, count: int = 1) -> None:
    await stack.api.wait_for(lambda: len(updates(stack)) >= count)
    await stack.drain()


async def test_a_link_gets_a_placeholder_then_the_brief_in_its_thread(stack: SlackStack) -> None:
    url = stack.article_url()
    event = message_event(f"worth a read <{url}>")
    status, _ = await stack.post_event(event_body(event))
    assert status == 200
    await brief_posted(stack)

    [placeholder] = posts(stack)
    assert placeholder.params["channel"] == CHANNEL
    assert placeholder.params["thread_ts"] == event["ts"]
    assert placeholder.params["unfurl_links"] is False
    assert placeholder.params["unfurl_media"] is False
    assert "Reading 127.0.0.2" in placeholder.params["text"]

    [update] = updates(stack)
    assert update.params["channel"] == CHANNEL
    assert update.params["ts"] == stack.api.messages[(CHANNEL, update.params["ts"])]["ts"]
    assert update.params["unfurl_links"] is False
    assert update.params["unfurl_media"] is False
    brief = message_payload(update)
    assert any(block["type"] == "header" for block in brief["blocks"])
    assert_safe_slack(brief, url)
    # The placeholder the update replaced is the one posted in the thread.
    posted = stack.api.messages[(CHANNEL, update.params["ts"])]
    assert posted["thread_ts"] == event["ts"]
    assert stack.chat.requests, "the brief came from the scripted model"


async def test_a_slack_retry_of_the_same_event_posts_nothing_more(stack: SlackStack) -> None:
    body = event_body(message_event(f"<{stack.article_url()}>"))
    assert (await stack.post_event(body))[0] == 200
    await brief_posted(stack)
    status, _ = await stack.post_event(body, retry_num=1)
    assert status == 200
    await stack.drain()
    assert len(posts(stack)) == 1
    assert len(updates(stack)) == 1


async def test_a_retry_after_a_restart_posts_nothing_twice(stack: SlackStack) -> None:
    body = event_body(message_event(f"<{stack.article_url()}>"))
    await stack.post_event(body)
    await brief_posted(stack)
    await stack.restart()  # a new App on the same SQLite file
    status, _ = await stack.post_event(body, retry_num=1)
    assert status == 200
    # A new event for the same message and link (a redelivery with a fresh id) too.
    again = event_body(body["event"])
    assert (await stack.post_event(again, retry_num=2))[0] == 200
    await stack.drain()
    assert len(posts(stack)) == 1
    assert len(updates(stack)) == 1


async def test_work_accepted_before_a_crash_is_done_once_after_the_restart(
    stack: SlackStack,
) -> None:
    # What a process leaves behind when it dies right after acknowledging: the event
    # accepted (pending in the store), nothing claimed for posting, nothing posted.
    body = event_body(message_event(f"<{stack.article_url()}>"))
    event = body["event"]
    job = LinkJob(
        key=message_key(CHANNEL, event["ts"], stack.article_url()), url=stack.article_url()
    )
    request = Request(event_key(body["event_id"]), [job], place=place(CHANNEL, event["ts"]))
    assert stack.front is not None
    assert await stack.front.delivery.accept(request)
    assert posts(stack) == []

    await stack.restart()
    await brief_posted(stack)
    [placeholder] = posts(stack)
    assert placeholder.params["thread_ts"] == event["ts"]
    assert (await stack.post_event(body, retry_num=1))[0] == 200
    await stack.restart()  # finished work is not resumed again
    await stack.drain()
    assert len(posts(stack)) == 1
    assert len(updates(stack)) == 1


async def test_work_interrupted_after_its_claim_is_briefed_once_after_the_restart(
    stack: SlackStack,
) -> None:
    body = event_body(message_event(f"<{stack.article_url()}>"))
    # The placeholder post is rate-limited for 30 s: the job holds the link's lease and
    # is sleeping when the process stops. The next process looks in the thread for a
    # placeholder of this link (none: the post was refused), then posts it, once.
    stack.api.rate_limit("chat.postMessage", times=1, retry_after=30)
    await stack.post_event(body)
    await stack.api.wait_for(lambda: any(c.status == 429 for c in stack.api.calls))
    await stack.restart()
    assert (await stack.post_event(body, retry_num=1))[0] == 200
    await stack.drain()
    assert len(posts(stack)) == 1
    assert len(updates(stack)) == 1
    assert stack.app is not None
    assert await stack.app.store.pending() == []


async def test_bad_signature_and_stale_timestamp_are_refused_with_401(stack: SlackStack) -> None:
    raw = json.dumps(event_body(message_event(f"<{stack.article_url()}>")))
    headers = signed_headers(raw, {"Content-Type": "application/json"})
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    assert (await stack.post_raw(raw, headers))[0] == 401

    stale = signed_headers(
        raw, {"Content-Type": "application/json"}, timestamp=int(time.time()) - 6 * 60
    )
    assert (await stack.post_raw(raw, stale))[0] == 401

    wrong_secret = signed_headers(raw, {"Content-Type": "application/json"}, secret="nope" * 8)
    assert (await stack.post_raw(raw, wrong_secret))[0] == 401
    await stack.drain()
    assert posts(stack) == []
    assert stack.articles.total_hits == 0


async def test_url_verification_is_answered_with_the_challenge(stack: SlackStack) -> None:
    body = {"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification"}  # fmt: skip
    status, text = await stack.post_raw(
        json.dumps(body), signed_headers(json.dumps(body), {"Content-Type": "application/json"})
    )
    assert status == 200
    assert body["challenge"] in text


@pytest.mark.parametrize(
    "extra",
    [
        {"bot_id": "B0OTHER", "subtype": "bot_message"},
        {"subtype": "bot_message"},
        {"bot_id": "BBOT00001"},
        {"subtype": "message_changed"},
        {"subtype": "message_deleted"},
        {"subtype": "channel_join"},
        {"user": "UBOT00001"},
    ],
    ids=["other-bot", "bot-subtype", "own-bot-id", "edit", "delete", "join", "own-user"],
)
async def test_bots_edits_deletions_and_joins_are_ignored(
    stack: SlackStack, extra: dict[str, Any]
) -> None:
    event = message_event(f"<{stack.article_url()}>", **extra)
    assert (await stack.post_event(event_body(event)))[0] == 200
    # A person's message afterwards is briefed, so the ignored one had its chance.
    await stack.post_event(event_body(message_event(f"<{stack.article_url('/article')}>")))
    await brief_posted(stack)
    assert len(posts(stack)) == 1
    assert stack.articles.hits[PAGE] == 0
    assert stack.articles.hits["/article"] == 1


async def test_links_into_slack_itself_are_not_briefed(stack: SlackStack) -> None:
    permalink = "https://fake.slack.com/archives/C0001/p1700000000000100"
    await stack.post_event(event_body(message_event(f"see <{permalink}>")))
    await stack.post_event(event_body(message_event(f"<{stack.article_url()}>")))
    await brief_posted(stack)
    assert len(posts(stack)) == 1


async def test_auto_off_is_respected_and_survives_a_restart(stack: SlackStack) -> None:
    status, text = await stack.post_command("auto off")
    assert status == 200
    assert "*off*" in text
    await stack.restart()
    await stack.post_event(event_body(message_event(f"<{stack.article_url()}>")))
    await stack.drain()
    assert posts(stack) == []
    assert stack.articles.total_hits == 0

    await stack.post_command("auto on")
    await stack.post_event(event_body(message_event(f"<{stack.article_url()}>")))
    await brief_posted(stack)
    assert len(posts(stack)) == 1


async def test_the_channel_language_sets_the_brief_labels(stack: SlackStack) -> None:
    status, text = await stack.post_command("language de")
    assert status == 200 and text == "Die Sprache dieses Kanals ist jetzt Deutsch (de)."
    status, text = await stack.post_command("language")
    assert text == "Die Sprache dieses Kanals ist Deutsch (de)."
    status, text = await stack.post_command("language xx")
    assert "Unbekannte Sprache" in text and "en, de, fr, es, ru" in text
    await stack.post_event(event_body(message_event(f"<{stack.article_url()}>")))
    await brief_posted(stack)
    payload = message_payload(updates(stack)[0])
    shown = json.dumps(payload, ensure_ascii=False)
    assert "KI-Zusammenfassung" in shown or "Auszug, ohne KI" in shown
    assert "AI summary" not in shown and "extractive summary" not in shown


async def test_the_command_briefs_a_link_in_the_channel(stack: SlackStack) -> None:
    url = stack.article_url()
    status, text = await stack.post_command(url)
    assert status == 200
    assert text == ""  # acknowledged at once, nothing ephemeral to show
    await brief_posted(stack)
    [placeholder] = posts(stack)
    assert placeholder.params["channel"] == CHANNEL
    assert "thread_ts" not in placeholder.params or placeholder.params["thread_ts"] is None
    assert placeholder.params["unfurl_links"] is False
    assert_safe_slack(message_payload(updates(stack)[0]), url)


async def test_help_and_unknown_commands_answer_ephemerally(stack: SlackStack) -> None:
    for text in ("help", "", "frobnicate", "auto maybe"):
        status, body = await stack.post_command(text)
        assert status == 200
        assert "/linkbrief auto" in body
    await stack.drain()
    assert posts(stack) == []


async def test_the_command_in_a_channel_the_bot_is_not_in_answers_privately(
    stack: SlackStack,
) -> None:
    await stack.post_command(stack.article_url(), channel="CNOTIN01")
    await stack.api.wait_for(lambda: len(stack.api.hooks) == 1)
    await stack.drain()
    assert stack.api.hooks[0]["response_type"] == "ephemeral"
    assert "/invite" in stack.api.hooks[0]["text"]
    assert stack.articles.total_hits == 0


async def test_a_reaction_briefs_the_message_once(stack: SlackStack) -> None:
    await stack.post_command("auto off")
    url = stack.article_url()
    message = stack.api.add_message(CHANNEL, f"have a look <{url}>", user="U0001")
    await stack.post_event(event_body(message_event(f"have a look <{url}>", ts=message["ts"])))
    await stack.post_event(event_body(reaction_event(CHANNEL, message["ts"], reaction="eyes")))
    await stack.drain()
    assert posts(stack) == []

    await stack.post_event(event_body(reaction_event(CHANNEL, message["ts"])))
    await brief_posted(stack)
    [placeholder] = posts(stack)
    assert placeholder.params["thread_ts"] == message["ts"]
    history = stack.api.calls_to("conversations.history")
    assert history and history[0].params["latest"] == message["ts"]
    # Somebody else reacts too: still one brief.
    await stack.post_event(event_body(reaction_event(CHANNEL, message["ts"], user="U0003")))
    await stack.drain()
    assert len(posts(stack)) == 1


async def test_a_reaction_on_a_thread_reply_briefs_it_in_that_thread(stack: SlackStack) -> None:
    parent = stack.api.add_message(CHANNEL, "a thread", user="U0001")
    reply = stack.api.add_message(
        CHANNEL, f"<{stack.article_url()}>", user="U0002", thread_ts=parent["ts"]
    )
    await stack.post_command("auto off")
    await stack.post_event(event_body(reaction_event(CHANNEL, reply["ts"])))
    await brief_posted(stack)
    [placeholder] = posts(stack)
    assert placeholder.params["thread_ts"] == parent["ts"]
    assert stack.api.calls_to("conversations.replies")


async def test_auto_mode_and_a_reaction_on_the_same_message_brief_it_once(
    stack: SlackStack,
) -> None:
    message = stack.api.add_message(CHANNEL, f"<{stack.article_url()}>")
    await stack.post_event(event_body(message_event(message["text"], ts=message["ts"])))
    await brief_posted(stack)
    await stack.post_event(event_body(reaction_event(CHANNEL, message["ts"])))
    await stack.drain()
    assert len(posts(stack)) == 1


async def test_a_blocked_link_gets_a_friendly_reply_in_the_thread(stack: SlackStack) -> None:
    event = message_event("look <http://127.0.0.1:1/admin>")
    await stack.post_event(event_body(event))
    await brief_posted(stack)
    [placeholder] = posts(stack)
    assert placeholder.params["thread_ts"] == event["ts"]
    [update] = updates(stack)
    assert "private or local address" in update.params["text"]
    assert stack.chat.requests == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/json", "isn't an article"), ("/pages/paywall.html", "paywall")],
)
async def test_pages_it_cannot_brief_get_a_friendly_reply(
    stack: SlackStack, path: str, expected: str
) -> None:
    await stack.post_event(event_body(message_event(f"<{stack.article_url(path)}>")))
    await brief_posted(stack)
    [update] = updates(stack)
    assert expected in update.params["text"]


async def test_a_rate_limited_post_is_retried_after_retry_after(stack: SlackStack) -> None:
    stack.api.rate_limit("chat.postMessage", times=1, retry_after=1)
    await stack.post_event(event_body(message_event(f"<{stack.article_url()}>")))
    await brief_posted(stack)
    attempts = [c for c in stack.api.calls if c.method == "chat.postMessage"]
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0
    assert len(updates(stack)) == 1


async def test_a_model_answer_with_pings_and_foreign_links_posts_neither(
    stack: SlackStack,
) -> None:
    stack.chat.script([poisoned_model])
    url = stack.article_url()
    await stack.post_event(event_body(message_event(f"<{url}>")))
    await brief_posted(stack)
    assert stack.chat.requests
    for call in posts(stack) + updates(stack):
        assert_safe_slack(message_payload(call), url)
        assert "evil.example" not in all_text(call)
        assert "<!channel>" not in all_text(call)


async def test_several_links_get_one_reply_each(stack: SlackStack) -> None:
    first, second = stack.article_url(), stack.article_url("/article")
    await stack.post_event(event_body(message_event(f"<{first}> and <{second}> and <{first}>")))
    await brief_posted(stack, count=2)
    assert len(posts(stack)) == 2
    assert len(updates(stack)) == 2


async def test_tokens_never_reach_the_logs(
    stack: SlackStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    stack.api.rate_limit("chat.postMessage", times=1, retry_after=1)
    await stack.post_event(event_body(message_event(f"<{stack.article_url()}>")))
    await stack.post_event(event_body(message_event("<http://127.0.0.1:1/x>")))
    await brief_posted(stack, count=2)
    settings = stack.settings()
    assert settings.slack_bot_token is not None
    assert settings.slack_signing_secret is not None
    logged = caplog.text
    assert caplog.records, "the test must see the adapter's logs"
    assert settings.slack_bot_token.get_secret_value() not in logged
    assert settings.slack_signing_secret.get_secret_value() not in logged
