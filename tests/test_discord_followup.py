"""Issue 18 on Discord, through the fake REST API + gateway, the article server and the
scripted chat server: a question in the bot's thread answered with a verified quote, an
invented quote refused, Regenerate under a double click edited once, Delete refused to a
stranger and allowed to the poster, votes and ``/linkbrief stats``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.discord_helpers import BOT_PERMISSIONS, DiscordStack, wait_until
from tests.servers.chat_server import Reply

ZELENSKY = "Ukrainian land is important, yes, but ultimately, it's just a territory"


@pytest.fixture
async def stack(tmp_path: Path) -> Any:
    async with DiscordStack(tmp_path, llm=True) as stack:
        yield stack


async def _brief(stack: DiscordStack) -> tuple[dict[str, Any], dict[str, Any]]:
    """A link posted by the human; returns (their message, the brief message)."""
    await stack.start_bot(brief_cache_ttl_s=3600)
    message = await stack.say(f"worth a read: {stack.article_url()}")
    await stack.edits_in(message["id"])
    brief = await wait_until(lambda: next((m for m in stack.fake.messages.values()
                                           if m.get("components")), None))  # fmt: skip
    return message, brief


async def _ask(stack: DiscordStack, thread: int, text: str) -> str:
    before = len(stack.fake.calls("POST", rf"/channels/{thread}/messages"))
    bot_id = stack.fake.p.bot_user["id"]
    await stack.say(f"<@{bot_id}> {text}", channel_id=thread)
    path = rf"/channels/{thread}/messages"
    calls = await wait_until(
        lambda: (c := stack.fake.calls("POST", path)) and len(c) > before and c
    )
    return str(calls[-1].json["content"])


def _answer(quote: str, speaker: str) -> Reply:
    return Reply(
        {
            "found": True,
            "sentences": [
                {
                    "text": "The article says so.",
                    "quote": quote,
                    "speaker": speaker,
                    "source": "ISW",
                }
            ],
        }
    )


async def _click(stack: DiscordStack, brief: dict[str, Any], action: str, version: int,
                 user: dict[str, Any], permissions: int = BOT_PERMISSIONS) -> None:  # fmt: skip
    payload = stack.fake.p.component_interaction(f"linkbrief:{action}:{version}", brief, user,
                                                 permissions)  # fmt: skip
    await stack.fake.dispatch("INTERACTION_CREATE", payload)


async def test_questions_in_the_bots_thread(stack: DiscordStack) -> None:
    message, brief = await _brief(stack)
    thread = int(brief["channel_id"])
    assert thread == int(message["id"])  # the bot's thread takes the message's id
    assert stack.chat is not None
    stack.chat.script(
        [
            _answer(ZELENSKY, "Zelensky"),
            _answer("Ukraine will cede Crimea to Russia immediately", "Zelensky"),
        ]
    )
    text = await _ask(stack, thread, "what did Zelensky say about territory?")
    assert "just a territory" in text and "Zelensky" in text
    text = await _ask(stack, thread, "will Ukraine cede Crimea?")
    assert "does not support" in text and "Crimea to Russia immediately" not in text


async def test_regenerate_double_click_delete_and_votes(stack: DiscordStack) -> None:
    _, brief = await _brief(stack)
    human = stack.fake.p.human
    stranger = stack.fake.p.user("mallory")
    edits = len(stack.fake.calls("PATCH", r"/channels/\d+/messages/\d+"))
    await _click(stack, brief, "regenerate", 0, stranger)
    await _click(stack, brief, "regenerate", 0, stranger)
    await wait_until(lambda: len(stack.fake.calls("PATCH", r"/channels/\d+/messages/\d+")) > edits)
    busy = await wait_until(
        lambda: [
            m
            for m in stack.fake.messages.values()
            if "already being regenerated" in (m.get("content") or "")
        ]
    )
    assert len(busy) == 1
    assert len(stack.fake.calls("PATCH", r"/channels/\d+/messages/\d+")) == edits + 1
    assert stack.app is not None and stack.app.controls.regenerations == 1
    await _click(stack, brief, "up", 1, stranger)
    await wait_until(lambda: [m for m in stack.fake.messages.values()
                              if "👍 1 · 👎 0" in (m.get("content") or "")])  # fmt: skip
    await _click(stack, brief, "delete", 1, stranger)
    await wait_until(
        lambda: [
            m
            for m in stack.fake.messages.values()
            if "Only the person who posted" in (m.get("content") or "")
        ]
    )
    assert int(brief["id"]) in stack.fake.messages
    await _click(stack, brief, "delete", 1, human)
    await wait_until(lambda: int(brief["id"]) not in stack.fake.messages)


async def test_a_reply_to_a_brief_without_a_thread_and_stats(stack: DiscordStack) -> None:
    await stack.start_bot(brief_cache_ttl_s=3600)
    fake = stack.fake
    message = await stack.say(f"see {stack.article_url()}", channel_id=fake.p.thread_id)
    await stack.edits_in(fake.p.thread_id)  # in a thread already: the brief is a reply
    brief = await wait_until(lambda: next((m for m in fake.messages.values()
                                           if m.get("components")), None))  # fmt: skip
    assert int(brief["channel_id"]) == fake.p.thread_id and message["id"]
    assert stack.chat is not None
    stack.chat.script([_answer(ZELENSKY, "Zelensky")])
    question = fake.p.user_message("and territory?", channel_id=fake.p.thread_id)
    question["message_reference"] = {"message_id": brief["id"], "channel_id": brief["channel_id"]}
    question["referenced_message"] = brief
    question["type"] = 19
    await fake.dispatch("MESSAGE_CREATE", question)
    path = rf"/channels/{fake.p.thread_id}/messages"
    reply = await wait_until(
        lambda: [c for c in fake.calls("POST", path) if "just a territory" in str(c.json)]
    )
    assert reply[0].json["allowed_mentions"]["parse"] == []  # pings nobody
    await _click(stack, brief, "down", 0, fake.p.human)
    await wait_until(lambda: [m for m in fake.messages.values()
                              if "👍 0 · 👎 1" in (m.get("content") or "")])  # fmt: skip
    interaction = fake.p.interaction("linkbrief", [{"type": 1, "name": "stats", "options": []}])
    await fake.dispatch("INTERACTION_CREATE", interaction)
    token = interaction["token"]
    [callback] = await wait_until(
        lambda: fake.calls("POST", rf"/interactions/\d+/{token}/callback")
    )
    text = callback.json["data"]["content"]
    assert callback.json["data"]["flags"] & (1 << 6)  # only the caller sees it
    assert "briefs: 1 · questions answered: 1 · links failed: 0" in text
    assert "feedback: 👍 0 · 👎 1" in text
