"""Two triggers on both platforms: a link added by editing a message is briefed once
(an edit that keeps the same links posts nothing), and a Slack message that carries
its link only in an attachment (a shared message, a link preview) is seen.

Slack: signed events to the real bolt app, the fake Web API records the posts.
Discord: MESSAGE_UPDATE dispatches from the fake gateway to the real discord.py bot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.discord_helpers import DiscordStack
from tests.fault_support import posts, updates
from tests.slack_helpers import SlackStack, event_body, message_event, next_ts

CHANNEL = "C0001"


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[SlackStack]:
    async with SlackStack(tmp_path, summarizer="extractive", brief_cache_ttl_s=0) as running:
        yield running


def edited(original: dict[str, Any], text: str, **message: Any) -> dict[str, Any]:
    """The ``message_changed`` event Slack sends when ``original`` is edited to ``text``."""
    return {
        "type": "message", "subtype": "message_changed", "hidden": True, "channel": CHANNEL,
        "ts": next_ts(), "event_ts": next_ts(),
        "message": {
            "type": "message", "user": original["user"], "text": text, "ts": original["ts"],
            "edited": {"user": original["user"], "ts": next_ts()}, **message,
        },
        "previous_message": {k: original[k] for k in ("type", "user", "text", "ts")},
    }  # fmt: skip


async def settled(stack: SlackStack, briefs: int) -> None:
    await stack.api.wait_for(lambda: len(updates(stack)) >= briefs, timeout=30)
    await stack.drain()


async def test_slack_an_edit_adding_a_link_briefs_only_that_link_once(slack: SlackStack) -> None:
    first, second = slack.article_url(), slack.article_url("/article")
    original = message_event(f"read <{first}>")
    await slack.post_event(event_body(original))
    await settled(slack, 1)

    edit = edited(original, f"read <{first}> and <{second}>")
    assert (await slack.post_event(event_body(edit)))[0] == 200
    await settled(slack, 2)
    new_posts = posts(slack)[1:]
    assert len(new_posts) == 1 and new_posts[0].params["thread_ts"] == original["ts"]
    assert slack.articles.hits["/article"] == 1

    # Slack's own unfurl arrives as an edit that keeps the text; so does a typo fix.
    now = edit["message"]["text"]
    unfurl = {"original_url": second, "from_url": second, "title": "An article"}
    for again in (
        edited(edit["message"] | {"type": "message"}, now, attachments=[unfurl]),
        edited(edit["message"] | {"type": "message"}, now.replace("read", "Read")),
        edit,  # and Slack delivers the first edit again under a new event id
    ):
        assert (await slack.post_event(event_body(again)))[0] == 200
    await slack.drain()
    assert len(posts(slack)) == 2 and len(updates(slack)) == 2


async def test_slack_an_edit_of_a_message_whose_link_was_briefed_posts_nothing(
    slack: SlackStack,
) -> None:
    url = slack.article_url()
    original = message_event(f"<{url}>")
    await slack.post_event(event_body(original))
    await settled(slack, 1)
    # An edit event whose previous text Slack did not send: the link's lease says "done".
    edit = edited(original, f"<{url}> (fixed)")
    del edit["previous_message"]
    await slack.post_event(event_body(edit))
    await slack.drain()
    assert len(posts(slack)) == 1


async def test_slack_a_shared_message_is_briefed_from_its_attachment(slack: SlackStack) -> None:
    url = slack.article_url()
    permalink = "https://fake.slack.com/archives/C0002/p1700000000000200"
    shared = {
        "is_share": True, "is_msg_unfurl": True, "from_url": permalink,
        "original_url": permalink, "text": f"worth reading <{url}>", "fallback": "[shared]",
    }  # fmt: skip
    event = message_event("", attachments=[shared])
    assert (await slack.post_event(event_body(event)))[0] == 200
    await settled(slack, 1)
    [placeholder] = posts(slack)
    assert placeholder.params["thread_ts"] == event["ts"]
    assert slack.articles.hits["/pages/example_article.html"] == 1


async def test_slack_a_link_in_a_shared_messages_blocks_is_seen(slack: SlackStack) -> None:
    url = slack.article_url("/article")
    link = {"type": "link", "url": url}
    blocks = [
        {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [link]}]}
    ]
    shared = {"is_share": True, "text": "", "message_blocks": [{"message": {"blocks": blocks}}]}
    await slack.post_event(event_body(message_event("look", attachments=[shared])))
    await settled(slack, 1)
    assert slack.articles.hits["/article"] == 1


async def test_discord_an_edit_adding_a_link_briefs_only_that_link_once(tmp_path: Path) -> None:
    async with DiscordStack(tmp_path) as stack:
        fake = stack.fake
        await stack.start_bot()
        first, second = stack.article_url(), stack.article_url("cookie_news.html")
        message = await stack.say(f"read {first}")
        mid = message["id"]
        await stack.edits_in(mid, count=1)

        edit = message | {
            "content": f"read {first} and {second}",
            "edited_timestamp": "2026-12-06T03:00:00+00:00",
        }
        await fake.dispatch("MESSAGE_UPDATE", edit)
        await stack.edits_in(mid, count=2)
        placeholders = fake.calls("POST", rf"/channels/{mid}/messages")
        assert len(placeholders) == 2  # in the message's thread, which already existed
        assert len(fake.calls("POST", r"/channels/\d+/messages/\d+/threads")) <= 2

        # Discord adding link previews (no edited_timestamp), a replay of the edit, and
        # an edit that keeps the links: nothing more.
        previews = edit | {"edited_timestamp": None, "embeds": [{"type": "link", "url": second}]}
        await fake.dispatch("MESSAGE_UPDATE", previews)
        await fake.dispatch("MESSAGE_UPDATE", edit)
        await fake.dispatch(
            "MESSAGE_UPDATE",
            edit
            | {"content": edit["content"] + "!", "edited_timestamp": "2026-12-06T03:01:00+00:00"},
        )
        # Gateway events are handled in order: once a later link is briefed, the
        # updates above were accepted (or refused); stopping gives their work time to end.
        later = await stack.say(f"later {stack.article_url('cookie_news.html')}?x=1")
        await stack.edits_in(later["id"], count=1)
        await stack.stop_bot()
        assert len(fake.calls("POST", rf"/channels/{mid}/messages")) == 2
        edits = [
            r for r in fake.calls("PATCH", rf"/channels/{mid}/messages/\d+") if r.status == 200
        ]
        assert len(edits) == 2
