"""The article's picture reaches chat as the reply's thumbnail, end to end: the real
Slack (HTTP mode) and Discord front ends against their fakes, the article server and
a real SQLite store. The bot hands the https URL to the platform; it never fetches it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.discord_helpers import DiscordStack
from tests.render_checks import assert_safe_discord, assert_safe_slack
from tests.slack_helpers import SlackStack, event_body, message_event

PAGE = "/pages/water_report.html"
IMAGE = "https://eastvale.example/img/trench.jpg"


async def test_the_slack_reply_shows_the_article_image_as_a_thumbnail(tmp_path: Path) -> None:
    async with SlackStack(tmp_path) as stack:
        url = stack.article_url(PAGE)
        await stack.post_event(event_body(message_event(f"lead pipes <{url}>")))
        await stack.api.wait_for(lambda: len(stack.api.calls_to("chat.update")) >= 1)
        await stack.drain()
        [update] = stack.api.calls_to("chat.update")
        blocks: Any = update.params.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        images = [b["accessory"] for b in blocks if "accessory" in b]
        assert [(i["type"], i["image_url"]) for i in images] == [("image", IMAGE)]
        assert_safe_slack({"text": update.params.get("text", ""), "blocks": blocks}, url, IMAGE)
        # only the page was fetched; the image is Slack's to load
        assert stack.articles.hits[PAGE] == 1
        assert not any("trench" in path for path in stack.articles.hits)


async def test_the_discord_reply_shows_the_article_image_as_a_thumbnail(tmp_path: Path) -> None:
    async with DiscordStack(tmp_path) as stack:
        await stack.start_bot()
        url = stack.article_url("water_report.html")
        message = await stack.say(f"lead pipes: {url}")
        [edit] = await stack.edits_in(message["id"])
        [embed] = edit.json["embeds"]
        assert embed["thumbnail"] == {"url": IMAGE}
        assert_safe_discord(edit.json, url, IMAGE)


def test_the_safety_checks_still_refuse_any_other_image() -> None:
    url = "https://eastvale.example/report"
    payload = {
        "text": "t",
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "x", "verbatim": True},
                "accessory": {"type": "image", "image_url": IMAGE, "alt_text": "x"},
            }
        ],
    }
    assert_safe_slack(payload, url, IMAGE)
    for expected in ("", "https://elsewhere.example/tracker.gif"):
        with pytest.raises(AssertionError):
            assert_safe_slack(payload, url, expected)
    with pytest.raises(AssertionError):
        assert_safe_discord({"content": "", "embeds": [{"thumbnail": {"url": IMAGE}}]}, url)
