"""End to end: the real discord.py client against the fake Discord, over real sockets.

The fake (tests/servers/discord_fake.py) is a REST API v10 and a gateway v10 on
loopback; its module docstring maps each part to Discord's documented protocol:
HELLO → IDENTIFY → READY (session_id, resume_gateway_url) → GUILD_CREATE, then
dispatches with growing sequence numbers; heartbeats (op 1) acknowledged (op 11);
op 7 RECONNECT or a 4000 close → the client RESUMEs (op 6) on resume_gateway_url
and the server replays what followed the acknowledged sequence, then RESUMED;
every server frame zlib-stream compressed with one context per connection and a
Z_SYNC_FLUSH suffix, as discord.py asks in its query string. Articles come from
the article server on 127.0.0.2; briefs are the real pipeline's, stored in a
real SQLite file that survives bot restarts.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tests.discord_helpers import DiscordStack, wait_until
from tests.render_checks import assert_safe_discord, strings

NOTHING_PARSED = {"parse": []}
SUPPRESS_EMBEDS = 1 << 2
MESSAGE_CONTENT_INTENT = 1 << 15


@pytest.fixture
async def stack(tmp_path: Path) -> Any:
    async with DiscordStack(tmp_path) as stack:
        yield stack


def _skip_count(caplog: pytest.LogCaptureFixture, message_id: str, reason: str) -> int:
    """How often the bot logged that it skipped ``message_id`` for ``reason``."""
    needle = f"message {message_id} skipped: {reason}"
    return sum(needle in r.getMessage() for r in caplog.records)


def _bot_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("bot.")]


def _skipped(caplog: pytest.LogCaptureFixture, message_id: str, reason: str) -> bool:
    return _skip_count(caplog, message_id, reason) > 0


async def test_link_gets_a_thread_a_placeholder_then_the_brief(stack: DiscordStack) -> None:
    fake = stack.fake
    await stack.start_bot()
    url = stack.article_url()
    message = await stack.say(f"worth a read: {url}")
    mid = message["id"]

    [edit] = await stack.edits_in(mid)  # the thread takes the message's id

    [thread] = fake.calls("POST", rf"/channels/{fake.p.channel_id}/messages/{mid}/threads")
    assert thread.json["name"].startswith("Brief: ")
    [placeholder] = fake.calls("POST", rf"/channels/{mid}/messages")
    assert placeholder.json["content"].startswith("Reading ")
    assert placeholder.json["allowed_mentions"] == NOTHING_PARSED
    assert placeholder.json["flags"] & SUPPRESS_EMBEDS
    # The brief replaces the placeholder: one embed, flag cleared so it shows.
    assert edit.json["allowed_mentions"] == NOTHING_PARSED
    assert not edit.json["flags"] & SUPPRESS_EMBEDS
    [embed] = edit.json["embeds"]
    assert embed["url"] == url
    assert embed["title"]
    assert embed.get("description") or embed.get("fields")
    assert_safe_discord(edit.json, url)
    # Nothing was posted in the channel itself, and the gateway was spoken properly.
    assert not fake.calls("POST", rf"/channels/{fake.p.channel_id}/messages")
    assert fake.connect_queries[0] == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
    assert fake.identifies[0]["intents"] & MESSAGE_CONTENT_INTENT
    assert fake.heartbeats >= 1


async def test_several_links_share_one_thread(stack: DiscordStack) -> None:
    fake = stack.fake
    await stack.start_bot(max_links_per_message=2)
    links = [stack.article_url(), stack.article_url("cookie_news.html"), "https://x.test/3"]
    message = await stack.say(" and ".join(links))

    await stack.edits_in(message["id"], count=2)

    assert len(fake.calls("POST", r"/channels/\d+/messages/\d+/threads")) == 1
    posts = fake.calls("POST", rf"/channels/{message['id']}/messages")
    assert [p.json["content"].startswith("Reading ") for p in posts] == [True, True, False]
    assert "1 more skipped" in posts[2].json["content"]


async def test_a_replay_after_resume_posts_nothing_twice(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.adapters.discord")
    # split_frames: every compressed payload arrives in two frames the client must join.
    async with DiscordStack(tmp_path, split_frames=True) as stack:
        fake = stack.fake
        await stack.start_bot()
        message = await stack.say(f"see {stack.article_url()}")
        await stack.edits_in(message["id"])
        seq = fake.session.seq if fake.session else 0

        # Discord re-delivers the MESSAGE_CREATE after the client RESUMEs.
        await fake.force_reconnect("op7", replay_from=seq - 1)
        await fake.wait_for(lambda: fake.resumes)
        await wait_until(lambda: _skipped(caplog, message["id"], "its links were already"))
        # And once more as a fresh dispatch after a resumable close.
        await fake.force_reconnect("close")
        await fake.wait_for(lambda: len(fake.resumes) == 2)
        await fake.dispatch("MESSAGE_CREATE", message)
        await wait_until(lambda: _skip_count(caplog, message["id"], "its links were") == 2)

        assert len(fake.calls("POST", r"/channels/\d+/messages/\d+/threads")) == 1
        assert len(fake.calls("POST", r"/channels/\d+/messages")) == 1
        assert fake.resumes[0]["session_id"] == fake.session.session_id
        assert fake.connect_paths == ["/gateway", "/gateway-resume", "/gateway-resume"]
        assert len(fake.identifies) == 1  # resumed, never re-identified


async def test_an_invalid_session_identifies_again_on_the_configured_gateway(
    stack: DiscordStack,
) -> None:
    fake = stack.fake
    await stack.start_bot()
    fake.invalidate_session()
    await fake.force_reconnect("close")
    await fake.wait_for(lambda: len(fake.identifies) == 2)  # RESUME refused → IDENTIFY

    message = await stack.say(f"still here? {stack.article_url()}")
    await stack.edits_in(message["id"])

    assert not fake.resumes
    assert fake.connect_paths[0] == "/gateway"
    assert all(path.startswith("/gateway") for path in fake.connect_paths)
    assert any(p.get("op") == 6 for p in fake.received)  # the RESUME that was refused


async def test_a_restart_on_the_same_database_posts_nothing_twice(
    stack: DiscordStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.adapters.discord")
    fake = stack.fake
    await stack.start_bot()
    message = await stack.say(f"see {stack.article_url()}")
    await stack.edits_in(message["id"])

    await stack.stop_bot()
    await stack.start_bot()  # a new App, a new gateway session, the same SQLite file
    await fake.dispatch("MESSAGE_CREATE", message)
    await wait_until(lambda: _skipped(caplog, message["id"], "its links were already"))

    assert len(fake.identifies) == 2
    assert len(fake.calls("POST", r"/channels/\d+/messages/\d+/threads")) == 1
    assert len(fake.calls("POST", r"/channels/\d+/messages")) == 1


async def test_bot_authors_are_ignored_including_itself(stack: DiscordStack) -> None:
    fake = stack.fake
    await stack.start_bot()
    url = stack.article_url()
    await stack.say(f"bot says {url}", author=fake.p.other_bot)
    await stack.say(f"I say {url}", author=fake.p.bot_user)
    sentinel = await stack.say(f"a person says {url}")

    await stack.edits_in(sentinel["id"])

    threads = fake.calls("POST", r"/channels/\d+/messages/\d+/threads")
    assert [t.path.split("/")[4] for t in threads] == [sentinel["id"]]


@pytest.mark.parametrize("where", ["thread", "forum_post", "dm"])
async def test_where_threads_are_impossible_the_bot_replies(
    stack: DiscordStack, where: str
) -> None:
    fake = stack.fake
    await stack.start_bot()
    url = stack.article_url()
    if where == "dm":
        message = await stack.say(f"dm {url}", dm=True)
        channel_id = fake.p.dm_channel_id
    else:
        channel_id = fake.p.thread_id if where == "thread" else fake.p.forum_post_id
        message = await stack.say(f"in here {url}", channel_id=channel_id)

    [edit] = await stack.edits_in(channel_id)

    assert not fake.calls("POST", r"/channels/\d+/messages/\d+/threads")
    [reply] = fake.calls("POST", rf"/channels/{channel_id}/messages")
    assert str(reply.json["message_reference"]["message_id"]) == message["id"]
    assert reply.json["message_reference"]["fail_if_not_exists"] is False
    assert reply.json["allowed_mentions"]["parse"] == []
    assert reply.json["allowed_mentions"].get("replied_user") in (None, False)
    assert edit.json["embeds"][0]["url"] == url


async def test_a_blocked_link_gets_a_friendly_reply(stack: DiscordStack) -> None:
    await stack.start_bot()
    message = await stack.say("look at http://127.0.0.1:1/admin")

    [edit] = await stack.edits_in(message["id"])

    assert "private or local address" in edit.json["content"]
    assert edit.json["embeds"] == []
    assert edit.json["allowed_mentions"] == NOTHING_PARSED
    assert edit.json["flags"] & SUPPRESS_EMBEDS


async def test_a_429_waits_retry_after_and_posts_once(stack: DiscordStack) -> None:
    fake = stack.fake
    await stack.start_bot()
    fake.fail("POST", r"/channels/\d+/messages", 429, retry_after=0.2)
    message = await stack.say(f"see {stack.article_url()}")

    await stack.edits_in(message["id"])

    posts = fake.calls("POST", rf"/channels/{message['id']}/messages")
    assert [p.status for p in posts] == [429, 200]
    assert len(fake.messages) == 1  # one placeholder, edited; no duplicate


async def test_a_403_is_logged_once_and_the_channel_left_alone(
    stack: DiscordStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.adapters.discord")
    fake = stack.fake
    locked = fake.p.other_channel_id
    fake.forbidden_channels.add(locked)  # e.g. a permission overwrite added by a moderator
    await stack.start_bot()
    url = stack.article_url()

    first = await stack.say(f"one {url}", channel_id=locked)
    await wait_until(lambda: _bot_warnings(caplog))
    second = await stack.say(f"two {url}", channel_id=locked)
    await wait_until(lambda: _skipped(caplog, second["id"], f"channel {locked} refused"))

    # What we tried to post there (a resumed job may also have read the history once).
    tried = [
        r
        for r in fake.requests
        if r.path.startswith(f"/channels/{locked}/") and r.method == "POST"
    ]
    assert [(r.path.split("/")[-1], r.status) for r in tried] == [
        ("threads", 403),  # start a thread: refused → fall back to a reply
        ("messages", 403),  # reply: refused → stop trying in this channel
    ]
    assert first["id"] in tried[0].path
    warnings = _bot_warnings(caplog)
    assert len(warnings) == 1
    assert str(locked) in warnings[0].getMessage()


async def test_model_answer_cannot_ping_or_add_foreign_links(tmp_path: Path) -> None:
    async with DiscordStack(tmp_path, llm=True) as stack:
        assert stack.chat is not None
        from tests.servers.chat_server import Reply

        stack.chat.script(
            [
                Reply(
                    {
                        "title": "@everyone urgent",
                        "summary": "@everyone @here read https://evil.example/phish now <@1>",
                        "claims": [
                            {
                                "claim": "@everyone go to https://evil.example/x",
                                "speaker": "the author",
                                "source": "[login](https://evil.example/login)",
                                "quote": "@everyone",
                                "kind": "claim",
                            }
                        ],
                    }
                )
            ]
        )
        await stack.start_bot()
        url = stack.article_url()
        message = await stack.say(f"see {url}")

        [edit] = await stack.edits_in(message["id"])

        assert stack.chat.requests, "the scripted model was asked"
        assert_safe_discord(edit.json, url)
        posted = [s for r in stack.fake.requests if r.json for s in strings(r.json)]
        assert not any("@everyone" in s or "@here" in s for s in posted)
        assert not any("https://evil.example" in s or "evil.example/" in s for s in posted)
