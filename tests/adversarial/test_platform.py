"""Platform-level attacks: the bot's own briefs coming back (bot loops), Slack request
signature tampering and replays, and Discord gateway duplicates."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.discord_helpers import DiscordStack
from tests.servers.slack_api import BOT_ID, BOT_USER_ID
from tests.slack_helpers import PAGE, SlackStack, event_body, message_event, signed_headers

pytestmark = pytest.mark.asyncio(loop_scope="module")
JSON = {"Content-Type": "application/json"}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def slack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SlackStack]:
    async with SlackStack(tmp_path_factory.mktemp("slack"), summarizer="extractive") as stack:
        yield stack


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def discord_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DiscordStack]:
    async with DiscordStack(tmp_path_factory.mktemp("discord")) as stack:
        await stack.start_bot()
        yield stack


def _counts(slack: SlackStack) -> tuple[int, int, int]:
    return (
        len(slack.api.calls_to("chat.postMessage")),
        len(slack.api.calls_to("chat.update")),
        slack.articles.total_hits,
    )


async def _brief_once(slack: SlackStack, path: str) -> dict[str, Any]:
    """A person's link, briefed; returns the brief's chat.update arguments."""
    before = len(slack.api.calls_to("chat.update"))
    await slack.post_event(event_body(message_event(f"<{slack.article_url(path)}>")))
    await slack.api.wait_for(lambda: len(slack.api.calls_to("chat.update")) > before)
    await slack.drain()
    return slack.api.calls_to("chat.update")[-1].params


# --- bot loops ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "echo",
    [
        {"subtype": "bot_message", "bot_id": BOT_ID},  # how Slack echoes a bot's post
        {"subtype": "bot_message", "bot_id": BOT_ID, "user": BOT_USER_ID},
        {"bot_id": BOT_ID, "user": BOT_USER_ID},  # a post made with the bot token
        {"subtype": "message_changed", "bot_id": BOT_ID},  # our chat.update coming back
    ],
    ids=["bot-message", "bot-message-with-user", "bot-id-only", "our-update"],
)
async def test_slack_ignores_its_own_brief_containing_the_link(
    slack: SlackStack, echo: dict[str, Any]
) -> None:
    brief = await _brief_once(slack, f"{PAGE}?loop={len(echo)}{echo.get('subtype', '')}")
    assert slack.article_url() in brief["text"] or "Is Russia" in brief["text"]
    before = _counts(slack)
    # The brief's own text (it links the article) as Slack would deliver it back to us.
    echoed = message_event(f"{brief['text']} <{slack.article_url(PAGE)}>", **echo)
    echoed.setdefault("user", None)
    if echoed["user"] is None:
        del echoed["user"]
    status, _ = await slack.post_event(event_body(echoed))
    await slack.drain()
    assert status == 200
    assert _counts(slack) == before  # nothing posted, nothing updated, nothing fetched


async def test_discord_ignores_its_own_brief_containing_the_link(
    discord_stack: DiscordStack,
) -> None:
    fake = discord_stack.fake
    url = discord_stack.article_url()
    first = await discord_stack.say(f"see {url}")
    [edit] = await discord_stack.edits_in(first["id"])
    requests_before = len(fake.requests)
    hits_before = discord_stack.articles.total_hits
    # The brief as Discord delivers it back: author is the bot, content and embed link the page.
    echo = fake.p.bot_message(fake.p.channel_id, {"content": f"Brief of {url}", **edit.json})
    await fake.dispatch("MESSAGE_CREATE", echo)
    # A person's message afterwards is answered, so the echo had its chance to be handled.
    sentinel = await discord_stack.say(f"and {discord_stack.article_url('cookie_news.html')}")
    await discord_stack.edits_in(sentinel["id"])
    new = fake.requests[requests_before:]
    assert all(sentinel["id"] in r.path for r in new), [r.path for r in new]
    assert discord_stack.articles.total_hits == hits_before + 1  # the sentinel's page only


# --- Slack signatures and replays ------------------------------------------------------


def _signed_event(slack: SlackStack) -> tuple[str, dict[str, str]]:
    raw = json.dumps(event_body(message_event(f"<{slack.article_url('/article')}>")))
    return raw, signed_headers(raw, JSON)


def _tamper_body(raw: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    return raw.replace("/article", "/pages/plain.txt"), headers


def _wrong_secret(raw: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    return raw, signed_headers(raw, JSON, secret="not-the-signing-secret-000000000")


def _no_signature(raw: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    return raw, {k: v for k, v in headers.items() if k != "X-Slack-Signature"}


def _no_timestamp(raw: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    return raw, {k: v for k, v in headers.items() if k != "X-Slack-Request-Timestamp"}


def _no_headers(raw: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    return raw, dict(JSON)


def _old_timestamp(raw: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    # Correctly signed, but 6 minutes old: outside Slack's 5-minute replay window.
    return raw, signed_headers(raw, JSON, timestamp=int(time.time()) - 6 * 60)


def _timestamp_swapped(raw: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    # A fresh timestamp on an old signature: the signature covers the timestamp.
    return raw, {**headers, "X-Slack-Request-Timestamp": str(int(time.time()) + 1)}


TAMPERING = {
    "body-changed-after-signing": _tamper_body,
    "wrong-secret": _wrong_secret,
    "missing-signature": _no_signature,
    "missing-timestamp": _no_timestamp,
    "missing-both-headers": _no_headers,
    "timestamp-older-than-5-minutes": _old_timestamp,
    "timestamp-changed-after-signing": _timestamp_swapped,
}


@pytest.mark.parametrize("name", list(TAMPERING))
async def test_slack_refuses_a_tampered_request(slack: SlackStack, name: str) -> None:
    raw, headers = _signed_event(slack)
    raw, headers = TAMPERING[name](raw, headers)
    before = _counts(slack)
    status, _ = await slack.post_raw(raw, headers)
    await slack.drain()
    assert status == 401
    assert _counts(slack) == before


async def test_slack_replay_within_the_window_posts_once(slack: SlackStack) -> None:
    """The same signed request sent again (still fresh): accepted, but the event id is
    remembered, so nothing is posted a second time."""
    raw, headers = _signed_event(slack)
    posts, updates, _ = _counts(slack)
    assert (await slack.post_raw(raw, headers))[0] == 200
    await slack.api.wait_for(lambda: len(slack.api.calls_to("chat.update")) > updates)
    await slack.drain()
    for _ in range(3):
        assert (await slack.post_raw(raw, headers))[0] == 200
    await slack.drain()
    assert _counts(slack)[:2] == (posts + 1, updates + 1)


async def test_slack_replay_with_a_new_event_id_of_the_same_message_posts_once(
    slack: SlackStack,
) -> None:
    """A forged redelivery under a fresh event id still names the same message: its
    link claim (channel, ts, link) is taken, so nothing is posted twice."""
    event = message_event(f"<{slack.article_url('/pages/cookie_news.html')}>")
    posts, updates, _ = _counts(slack)
    await slack.post_event(event_body(event))
    await slack.api.wait_for(lambda: len(slack.api.calls_to("chat.update")) > updates)
    await slack.post_event(event_body(event))  # same message, new event_id
    await slack.drain()
    assert _counts(slack)[:2] == (posts + 1, updates + 1)


# --- Discord gateway duplicates -----------------------------------------------------------


async def test_discord_duplicate_message_create_gets_one_reply(
    discord_stack: DiscordStack,
) -> None:
    fake = discord_stack.fake
    message = fake.p.user_message(f"see {discord_stack.article_url('paywall.html')}")
    first_seq = await fake.dispatch("MESSAGE_CREATE", message)
    second_seq = await fake.dispatch("MESSAGE_CREATE", message)  # at-least-once delivery
    assert second_seq == first_seq + 1
    await discord_stack.edits_in(message["id"])
    # A later person's message is answered, so both duplicates were handled by then.
    sentinel = await discord_stack.say(f"see {discord_stack.article_url('consent_wall.html')}")
    await discord_stack.edits_in(sentinel["id"])
    assert len(fake.calls("POST", rf"/channels/\d+/messages/{message['id']}/threads")) == 1
    assert len(fake.calls("POST", rf"/channels/{message['id']}/messages")) == 1
    assert len(fake.calls("PATCH", rf"/channels/{message['id']}/messages/\d+")) == 1


async def test_discord_burst_of_duplicates_at_once_gets_one_reply(
    discord_stack: DiscordStack,
) -> None:
    fake = discord_stack.fake
    message = fake.p.user_message(f"see {discord_stack.article_url('empty.html')}")
    await asyncio.gather(*(fake.dispatch("MESSAGE_CREATE", message) for _ in range(5)))
    await discord_stack.edits_in(message["id"])
    sentinel = await discord_stack.say(f"see {discord_stack.article_url('injection.html')}")
    await discord_stack.edits_in(sentinel["id"])
    assert len(fake.calls("POST", rf"/channels/{message['id']}/messages")) == 1
    assert len(fake.calls("PATCH", rf"/channels/{message['id']}/messages/\d+")) == 1
