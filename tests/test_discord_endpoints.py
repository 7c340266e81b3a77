"""``configure_endpoints``: where discord.py keeps Discord's addresses, set and restored;
and start-up failures that are configuration mistakes, said as such."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.adapters.discord.endpoints import (
    DEFAULT_API_BASE,
    DEFAULT_GATEWAY,
    api_base,
    configure_endpoints,
)
from bot.app import build_discord, running_app
from bot.config import load_settings
from bot.errors import ConfigError
from bot.runner import run_front_ends
from tests.discord_helpers import DiscordStack


@pytest.fixture(autouse=True)
def _restore_endpoints() -> object:
    yield
    configure_endpoints(load_settings(None, discord_api_base_url=None, discord_gateway_url=None))


def test_settings_point_discord_py_at_another_server_and_back() -> None:
    configure_endpoints(
        load_settings(
            None,
            discord_api_base_url="http://127.0.0.1:9/api",
            discord_gateway_url="ws://127.0.0.1:9/gateway",
        )
    )
    assert Route("GET", "/users/@me").url == "http://127.0.0.1:9/api/v10/users/@me"
    assert yarl.URL("ws://127.0.0.1:9/gateway") == DiscordWebSocket.DEFAULT_GATEWAY

    configure_endpoints(load_settings(None, discord_api_base_url=None, discord_gateway_url=None))
    assert Route.BASE == DEFAULT_API_BASE == "https://discord.com/api/v10"
    assert DiscordWebSocket.DEFAULT_GATEWAY == DEFAULT_GATEWAY
    assert str(DEFAULT_GATEWAY) == "wss://gateway.discord.gg/"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://h:1/api", "http://h:1/api/v10"),
        ("http://h:1/api/", "http://h:1/api/v10"),
        ("http://h:1/api/v10", "http://h:1/api/v10"),
        ("http://h:1/api/v9/", "http://h:1/api/v9"),
        ("", None),
        (None, None),
    ],
)
def test_api_base_accepts_with_or_without_the_version(given: str | None, expected: str) -> None:
    assert api_base(given) == expected


async def test_a_rejected_token_is_a_config_error(tmp_path: Path) -> None:
    async with DiscordStack(tmp_path) as stack:
        settings = stack.settings(discord_token="not-the-token")
        async with running_app(settings) as app:
            with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
                await build_discord(app).run()
        assert not stack.fake.identifies


async def test_message_content_intent_disabled_in_the_portal_is_a_config_error(
    tmp_path: Path,
) -> None:
    async with DiscordStack(tmp_path) as stack:
        stack.fake.message_content_enabled = False
        async with running_app(stack.settings()) as app:
            with pytest.raises(ConfigError, match="Message Content"):
                await build_discord(app).run()


async def test_linkbrief_run_starts_discord_and_stops_cleanly(tmp_path: Path) -> None:
    async with DiscordStack(tmp_path) as stack, running_app(stack.settings()) as app:
        task = asyncio.create_task(run_front_ends(app))
        await stack.fake.wait_for(lambda: stack.fake.identifies, timeout=15)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # The bot closed its gateway socket on the way out.
        await stack.fake.wait_for(lambda: not stack.fake.open_sockets)
