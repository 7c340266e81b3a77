"""Slash commands end to end: INTERACTION_CREATE over the fake gateway, answers over
its REST API (interaction callback, webhook follow-up), and the explicit sync."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.discord import sync_commands
from bot.app import running_app
from tests.discord_helpers import DiscordStack, wait_until
from tests.render_checks import assert_safe_discord

DEFERRED_CHANNEL_MESSAGE = 5
CHANNEL_MESSAGE = 4


EPHEMERAL = 1 << 6


@pytest.fixture
async def stack(tmp_path: Path) -> Any:
    async with DiscordStack(tmp_path) as stack:
        yield stack


def _auto(mode: str) -> list[dict[str, Any]]:
    return [{"type": 1, "name": "auto", "options": [{"type": 3, "name": "mode", "value": mode}]}]


async def _run_command(stack: DiscordStack, name: str, options: list[dict[str, Any]]) -> str:
    """Send the interaction; returns its token once its callback has been answered."""
    interaction = stack.fake.p.interaction(name, options)
    await stack.fake.dispatch("INTERACTION_CREATE", interaction)
    token = interaction["token"]
    await stack.fake.wait_for(
        lambda: stack.fake.calls("POST", rf"/interactions/\d+/{token}/callback")
    )
    return token


async def test_a_member_who_does_not_manage_the_channel_may_ask_stats_not_change_settings(
    stack: DiscordStack,
) -> None:
    fake = stack.fake
    await stack.start_bot()
    refused = fake.p.interaction("linkbrief", _auto("off"), manager=False)
    await fake.dispatch("INTERACTION_CREATE", refused)
    token = refused["token"]
    await fake.wait_for(lambda: fake.calls("POST", rf"/interactions/\d+/{token}/callback"))
    [answer] = fake.calls("POST", rf"/interactions/\d+/{token}/callback")
    assert "Manage Channels" in answer.json["data"]["content"]
    assert answer.json["data"]["flags"] & 64  # only they see it

    stats = fake.p.interaction("linkbrief", [{"type": 1, "name": "stats", "options": []}],
                               manager=False)  # fmt: skip
    await fake.dispatch("INTERACTION_CREATE", stats)
    token = stats["token"]
    await fake.wait_for(lambda: fake.calls("POST", rf"/interactions/\d+/{token}/callback"))
    [answer] = fake.calls("POST", rf"/interactions/\d+/{token}/callback")
    assert "stats" in answer.json["data"]["content"]
    assert answer.json["data"]["flags"] & 64


async def test_summarize_defers_then_follows_up_with_the_brief(stack: DiscordStack) -> None:
    fake = stack.fake
    await stack.start_bot()
    url = stack.article_url()
    token = await _run_command(stack, "summarize", [{"type": 3, "name": "url", "value": url}])

    [followup] = await fake.wait_for(lambda: fake.calls("POST", rf"/webhooks/\d+/{token}"))

    [callback] = fake.calls("POST", rf"/interactions/\d+/{token}/callback")
    assert callback.json["type"] == DEFERRED_CHANNEL_MESSAGE
    assert fake.requests.index(callback) < fake.requests.index(followup)
    assert followup.json["allowed_mentions"] == {"parse": []}
    [embed] = followup.json["embeds"]
    assert embed["url"] == url
    assert_safe_discord(followup.json, url)


async def test_summarize_of_something_that_is_not_a_link_says_so(stack: DiscordStack) -> None:
    fake = stack.fake
    await stack.start_bot()
    token = await _run_command(stack, "summarize", [{"type": 3, "name": "url", "value": "hello"}])

    [followup] = await fake.wait_for(lambda: fake.calls("POST", rf"/webhooks/\d+/{token}"))

    assert "http" in followup.json["content"]
    assert followup.json["embeds"] == []
    assert followup.json["allowed_mentions"] == {"parse": []}


async def test_auto_off_stops_briefing_and_survives_a_restart(
    stack: DiscordStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.adapters.discord")
    fake = stack.fake
    await stack.start_bot()
    url = stack.article_url()
    token = await _run_command(stack, "linkbrief", _auto("off"))
    [answer] = fake.calls("POST", rf"/interactions/\d+/{token}/callback")
    assert answer.json["type"] == CHANNEL_MESSAGE
    assert answer.json["data"]["allowed_mentions"] == {"parse": []}

    def skipped(message: dict[str, Any]) -> bool:
        needle = f"message {message['id']} skipped: auto is off"
        return any(needle in r.getMessage() for r in caplog.records)

    first = await stack.say(f"see {url}")
    await wait_until(lambda: skipped(first))
    await stack.stop_bot()
    await stack.start_bot()  # same database
    second = await stack.say(f"see {url}")
    await wait_until(lambda: skipped(second))
    assert not fake.calls("POST", r"/channels/\d+/messages/\d+/threads")

    await _run_command(stack, "linkbrief", _auto("on"))
    third = await stack.say(f"see {url}")
    await stack.edits_in(third["id"])
    assert len(fake.calls("POST", r"/channels/\d+/messages/\d+/threads")) == 1


async def test_sync_registers_the_commands_on_request(stack: DiscordStack) -> None:
    fake = stack.fake
    async with running_app(stack.settings()) as app:
        count = await sync_commands(app)

    [put] = fake.calls("PUT", rf"/applications/{fake.p.app_id}/commands")
    by_name = {c["name"]: c for c in put.json}
    assert count == len(put.json) == 2
    assert [o["name"] for o in by_name["summarize"]["options"]] == ["url"]
    subcommands = {o["name"]: o for o in by_name["linkbrief"]["options"]}
    assert set(subcommands) == {"auto", "digest", "stats", "language"}  # stats: issue 18
    assert [o["name"] for o in subcommands["language"]["options"]] == ["code"]
    assert [c["value"] for c in subcommands["auto"]["options"][0]["choices"]] == ["on", "off"]
    assert [o["name"] for o in subcommands["digest"]["options"]] == ["command"]
    # Everyone sees /linkbrief (stats is for whoever asks); settings check Manage Channels.
    assert by_name["linkbrief"].get("default_member_permissions") is None
    assert not fake.identifies  # REST only: sync never opens the gateway


async def test_language_is_set_per_channel_and_answered_in_it(stack: DiscordStack) -> None:
    fake = stack.fake
    await stack.start_bot()
    option = [
        {"type": 1, "name": "language", "options": [{"type": 3, "name": "code", "value": "fr"}]}
    ]
    token = await _run_command(stack, "linkbrief", option)
    [answer] = fake.calls("POST", rf"/interactions/\d+/{token}/callback")
    assert answer.json["data"]["content"] == "La langue de ce canal est désormais : Français (fr)."
    assert answer.json["data"]["allowed_mentions"] == {"parse": []}
    shown = [{"type": 1, "name": "language", "options": []}]
    token = await _run_command(stack, "linkbrief", shown)
    [answer] = fake.calls("POST", rf"/interactions/\d+/{token}/callback")
    assert answer.json["data"]["content"] == "La langue de ce canal est : Français (fr)."


async def test_starting_the_bot_does_not_sync(stack: DiscordStack) -> None:
    await stack.start_bot()
    assert not stack.fake.calls("PUT", r"/applications/.*")


async def test_a_replayed_interaction_is_answered_once(stack: DiscordStack) -> None:
    fake = stack.fake
    await stack.start_bot()
    url = stack.article_url()
    interaction = fake.p.interaction("summarize", [{"type": 3, "name": "url", "value": url}])
    await fake.dispatch("INTERACTION_CREATE", interaction)
    await fake.dispatch("INTERACTION_CREATE", interaction)  # re-delivered
    sentinel = await _run_command(stack, "summarize", [{"type": 3, "name": "url", "value": url}])
    token = interaction["token"]
    # Both answers have arrived (in either order) before counting the replayed one's.
    await fake.wait_for(
        lambda: (
            fake.calls("POST", rf"/webhooks/\d+/{sentinel}")
            and fake.calls("POST", rf"/webhooks/\d+/{token}")
        )
    )

    assert len(fake.calls("POST", rf"/interactions/\d+/{token}/callback")) == 1
    assert len(fake.calls("POST", rf"/webhooks/\d+/{token}")) == 1


def _digest(command: str) -> list[dict[str, Any]]:
    return [
        {"type": 1, "name": "digest", "options": [{"type": 3, "name": "command", "value": command}]}
    ]


async def test_digest_commands_answer_only_the_caller(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from tests.digest_support import items
    from tests.servers.feed_server import RSS, FeedServer, rss_feed

    async with FeedServer(host="127.0.0.3") as feeds, DiscordStack(tmp_path) as stack:
        base = feeds.url("/")
        news = items("news", 3, datetime.now(UTC))
        feeds.set_feed("news", rss_feed("Harbour Herald", base, news, base), RSS)
        fake = stack.fake
        await stack.start_bot(fetch_allowed_private_hosts="127.0.0.2,127.0.0.3")
        feed_url = feeds.url("/feeds/news")
        answers = []
        for command in (f"add {feed_url}", "list", "preview"):
            token = await _run_command(stack, "linkbrief", _digest(command))
            [callback] = fake.calls("POST", rf"/interactions/\d+/{token}/callback")
            assert callback.json["type"] == DEFERRED_CHANNEL_MESSAGE
            assert callback.json["data"]["flags"] & EPHEMERAL
            [followup] = await fake.wait_for(
                lambda t=token: fake.calls("POST", rf"/webhooks/\d+/{t}")
            )
            assert followup.json["flags"] & EPHEMERAL
            assert followup.json["allowed_mentions"] == {"parse": []}
            answers.append(followup.json)
        assert "/feeds/news" in answers[1]["content"]
        assert answers[2]["embeds"], answers[2]
        # Nothing went to the channel itself.
        assert not fake.calls("POST", rf"/channels/{fake.p.channel_id}/messages")
