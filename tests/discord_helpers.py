"""Discord-shaped payloads for the fake Discord, and a helper that runs the real bot.

``Payloads`` builds the objects Discord sends (users, a guild with channels and
threads, messages, interactions) in the documented v10 shapes, with ids that grow
like snowflakes. ``DiscordStack`` starts every real part on loopback and runs
the real bot against the fake Discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from asyncio import FIRST_COMPLETED
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.adapters.discord import configure_endpoints
from bot.app import App, build_app, build_discord
from bot.config import Settings, load_settings
from tests.servers.article_server import ArticleServer
from tests.servers.chat_server import ChatServer, brief_from_article

if TYPE_CHECKING:
    from tests.servers.discord_fake import Recorded

DISCORD_EPOCH_MS = 1_420_070_400_000
TEXT, DM, THREAD, FORUM = 0, 1, 11, 15
# View Channel, Send Messages, Embed Links, Read Message History, Create Public
# Threads, Send Messages in Threads: what docs/discord.md asks the invite for.
MANAGE_CHANNELS = 1 << 4
BOT_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 35) | (1 << 38)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Payloads:
    """One guild with: a text channel, a second text channel, a thread in the first,
    a forum with a post; plus a DM channel, a human and another bot."""

    def __init__(self) -> None:
        self._seq = itertools.count(1)
        self.app_id = self.snowflake()
        self.guild_id = self.snowflake()
        self.channel_id = self.snowflake()
        self.other_channel_id = self.snowflake()
        self.thread_id = self.snowflake()
        self.forum_id = self.snowflake()
        self.forum_post_id = self.snowflake()
        self.dm_channel_id = self.snowflake()
        self.bot_user = self._user(self.app_id, "linkbrief", bot=True)
        self.human = self._user(self.snowflake(), "alice")
        self.other_bot = self._user(self.snowflake(), "otherbot", bot=True)
        self._interaction_channels: dict[str, int] = {}
        self._originals: dict[str, int] = {}

    def snowflake(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._seq) & 0x3FFFFF)

    @staticmethod
    def _user(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
        return {
            "id": str(user_id),
            "username": name,
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": bot,
            "flags": 0,
            "public_flags": 0,
        }

    def application(self) -> dict[str, Any]:
        return {
            "id": str(self.app_id),
            "name": "linkbrief",
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.human,
            "verify_key": "0" * 64,
            "flags": 0,
            "team": None,
            "summary": "",
        }

    # --- guild ---------------------------------------------------------------
    def _channel(self, channel_id: int, name: str, kind: int = TEXT) -> dict[str, Any]:
        return {
            "id": str(channel_id),
            "type": kind,
            "guild_id": str(self.guild_id),
            "name": name,
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
            "available_tags": [],
        }

    def thread(
        self, thread_id: int, parent_id: int, name: str, auto_archive: int = 1440
    ) -> dict[str, Any]:
        return {
            "id": str(thread_id),
            "type": THREAD,
            "guild_id": str(self.guild_id),
            "parent_id": str(parent_id),
            "owner_id": str(self.app_id),
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "flags": 0,
            "total_message_sent": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": auto_archive,
                "archive_timestamp": _now(),
                "locked": False,
            },
        }

    def _member(self, user: dict[str, Any]) -> dict[str, Any]:
        return {
            "user": user,
            "roles": [],
            "joined_at": _now(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
            "avatar": None,
            "pending": False,
        }

    def guild(self) -> dict[str, Any]:
        everyone = {
            "id": str(self.guild_id),
            "name": "@everyone",
            "permissions": str(BOT_PERMISSIONS),
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        return {
            "id": str(self.guild_id),
            "name": "Test guild",
            "icon": None,
            "owner_id": self.human["id"],
            "roles": [everyone],
            "emojis": [],
            "stickers": [],
            "features": [],
            "member_count": 3,
            "large": False,
            "unavailable": False,
            "joined_at": _now(),
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "system_channel_flags": 0,
            "preferred_locale": "en-US",
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "members": [self._member(self.bot_user), self._member(self.human)],
            "channels": [
                self._channel(self.channel_id, "general"),
                self._channel(self.other_channel_id, "locked-down"),
                self._channel(self.forum_id, "forum", FORUM),
            ],
            "threads": [
                self.thread(self.thread_id, self.channel_id, "a thread"),
                self.thread(self.forum_post_id, self.forum_id, "a forum post"),
            ],
        }

    def channel_known(self, channel_id: int, created_threads: dict[int, Any]) -> bool:
        known = {
            self.channel_id,
            self.other_channel_id,
            self.thread_id,
            self.forum_post_id,
            self.dm_channel_id,
        }
        return channel_id in known or channel_id in created_threads

    def channel_allows_threads(self, channel_id: int) -> bool:
        return channel_id in (self.channel_id, self.other_channel_id)

    # --- messages ------------------------------------------------------------
    def _message(self, channel_id: int, author: dict[str, Any], **fields: Any) -> dict[str, Any]:
        return {
            "id": str(self.snowflake()),
            "channel_id": str(channel_id),
            "author": author,
            "content": "",
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
            "components": [],
            **fields,
        }

    def user_message(
        self,
        content: str,
        *,
        channel_id: int | None = None,
        author: dict[str, Any] | None = None,
        dm: bool = False,
    ) -> dict[str, Any]:
        """A MESSAGE_CREATE payload, as Discord sends it for a guild channel or a DM."""
        author = author or self.human
        if dm:
            return self._message(self.dm_channel_id, author, content=content)
        # In a guild, MESSAGE_CREATE carries a partial member without "user" beside the author.
        member = {"roles": [], "joined_at": _now(), "deaf": False, "mute": False, "flags": 0}
        return self._message(
            channel_id or self.channel_id,
            author,
            content=content,
            guild_id=str(self.guild_id),
            member=member,
        )

    def bot_message(
        self, channel_id: int, body: dict[str, Any], *, webhook: bool = False
    ) -> dict[str, Any]:
        """The message object Discord returns for a bot's create-message request."""
        extra: dict[str, Any] = {
            "content": body.get("content") or "",
            "embeds": [_as_received(e) for e in body.get("embeds") or []],
            "flags": int(body.get("flags") or 0),
        }
        if channel_id != self.dm_channel_id:
            extra["guild_id"] = str(self.guild_id)
        if ref := body.get("message_reference"):
            extra |= {"type": 19, "message_reference": ref}
        if webhook:
            extra |= {"webhook_id": str(self.app_id), "application_id": str(self.app_id)}
        return self._message(channel_id, self.bot_user, **extra)

    # --- interactions --------------------------------------------------------
    def interaction(
        self,
        name: str,
        options: list[dict[str, Any]],
        *,
        channel_id: int | None = None,
        manager: bool = True,
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload for a slash command used in a guild channel,
        by a member who manages the channel unless ``manager`` is false."""
        member_permissions = BOT_PERMISSIONS | (MANAGE_CHANNELS if manager else 0)
        channel_id = channel_id or self.channel_id
        token = "aW50ZXJhY3Rpb24" + secrets.token_hex(24)
        self._interaction_channels[token] = channel_id
        return {
            "id": str(self.snowflake()),
            "application_id": str(self.app_id),
            "type": 2,
            "token": token,
            "version": 1,
            "guild_id": str(self.guild_id),
            "channel_id": str(channel_id),
            "channel": self._channel(channel_id, "general"),
            "member": self._member(self.human) | {"permissions": str(member_permissions)},
            "data": {"id": str(self.snowflake()), "name": name, "type": 1, "options": options},
            "app_permissions": str(BOT_PERMISSIONS),
            "locale": "en-US",
            "guild_locale": "en-US",
            "attachment_size_limit": 8_388_608,
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild_id)},
            "context": 0,
        }

    def component_interaction(
        self, custom_id: str, message: dict[str, Any], user: dict[str, Any], permissions: int
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload for a button click on ``message`` (issue 18)."""
        channel_id = int(message["channel_id"])
        payload = self.interaction("", [], channel_id=channel_id)
        payload.update(type=3, message=message,
                       data={"custom_id": custom_id, "component_type": 2},
                       member=self._member(user) | {"permissions": str(permissions)})  # fmt: skip
        return payload

    def user(self, name: str) -> dict[str, Any]:
        return self._user(self.snowflake(), name)

    def interaction_channel(self, token: str) -> int | None:
        return self._interaction_channels.get(token)

    def set_original(self, token: str, message_id: int) -> None:
        self._originals[token] = message_id

    def original_for(self, token: str) -> int | None:
        return self._originals.get(token)


def _as_received(embed: dict[str, Any]) -> dict[str, Any]:
    return {"type": "rich", **embed}


class DiscordStack:
    """Every real part on loopback: the fake Discord, the article server (127.0.0.2),
    optionally the scripted chat server, a SQLite file that outlives restarts, and
    the real bot started through ``build_discord``."""

    def __init__(
        self,
        tmp_path: Path,
        *,
        llm: bool = False,
        split_frames: bool = False,
        lease_s: float | None = None,
    ) -> None:
        from tests.servers.discord_fake import FakeDiscord  # it imports Payloads from here

        self.db_url = f"sqlite+aiosqlite:///{tmp_path / 'linkbrief.db'}"
        self.fake = FakeDiscord(heartbeat_interval_ms=1_000, split_frames=split_frames)
        self.articles = ArticleServer(host="127.0.0.2")
        self.chat = ChatServer(default=brief_from_article) if llm else None
        self.front_options = {} if lease_s is None else {"lease_s": lease_s}
        self.app: App | None = None
        self._bot_task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> DiscordStack:
        await self.fake.start()
        await self.articles.start()
        if self.chat is not None:
            await self.chat.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop_bot()
        if self.chat is not None:
            await self.chat.close()
        await self.articles.close()
        await self.fake.close()
        # Later tests in this process must not inherit a dead server's address.
        configure_endpoints(
            load_settings(None, discord_api_base_url=None, discord_gateway_url=None)
        )

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "discord_token": self.fake.token,
            "discord_api_base_url": self.fake.api_base_url,
            "discord_gateway_url": self.fake.gateway_url,
            "database_url": self.db_url,
            "fetch_allowed_private_hosts": "127.0.0.2",
            "summarizer": "extractive",
            "brief_cache_ttl_s": 0,
        }
        if self.chat is not None:
            values |= {
                "summarizer": "llm",
                "openai_base_url": self.chat.base_url,
                "openai_api_key": "test-key",
            }
        return load_settings(None, **(values | overrides))

    def article_url(self, name: str = "example_article.html") -> str:
        return self.articles.url(f"/pages/{name}")

    async def start_bot(self, **overrides: Any) -> App:
        """A fresh App (same database) and bot; returns once the gateway is live."""
        self.app = await build_app(self.settings(**overrides))
        live_before = len(self.fake.identifies)
        self._bot_task = asyncio.create_task(
            build_discord(self.app, **self.front_options).run(), name="discord-under-test"
        )
        waiter = asyncio.create_task(
            self.fake.wait_for(lambda: len(self.fake.identifies) > live_before, timeout=60)
        )
        done, _ = await asyncio.wait({self._bot_task, waiter}, return_when=FIRST_COMPLETED)
        if self._bot_task in done:
            waiter.cancel()
            self._bot_task.result()  # surfaces the start-up error
            raise RuntimeError("the bot stopped before the gateway was live")
        waiter.result()
        return self.app

    async def stop_bot(self) -> None:
        if self._bot_task is not None:
            self._bot_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._bot_task
            self._bot_task = None
        if self.app is not None:
            await self.app.aclose()
            self.app = None

    async def say(self, content: str, **kwargs: Any) -> dict[str, Any]:
        """A person posts ``content``; returns the MESSAGE_CREATE payload sent."""
        message = self.fake.p.user_message(content, **kwargs)
        await self.fake.dispatch("MESSAGE_CREATE", message)
        return message

    async def edits_in(self, channel_id: int | str, count: int = 1) -> list[Recorded]:
        """Wait for ``count`` successful message edits in ``channel_id``."""
        pattern = rf"/channels/{channel_id}/messages/\d+"

        def done() -> list[Recorded] | None:
            edits = [r for r in self.fake.calls("PATCH", pattern) if r.status == 200]
            return edits if len(edits) >= count else None

        return await self.fake.wait_for(done)


async def wait_until(predicate: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll ``predicate`` (for things only the bot's logs show) until truthy."""
    async with asyncio.timeout(timeout):
        while not (result := predicate()):
            await asyncio.sleep(0.02)
        return result
