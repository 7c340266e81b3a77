"""Every SSRF form through every front end: Slack, Discord, the console, the CLI and
the digest ``add`` command. Each is refused with its friendly message, and the
canary server (127.0.0.1, the "private network") never sees a request.

One stack per front end is shared by the module (module-scoped fixtures on the
module's event loop); rate limits are off so twenty refusals in a row stay
refusals of the link, not of the person.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.adapters.console import run_console
from bot.app import App, build_app
from bot.config import load_settings
from bot.pipeline.urls import canonical_url
from tests.adversarial.conftest import SSRF_FORMS, SSRF_IDS, SsrfForm
from tests.discord_helpers import DiscordStack
from tests.servers.article_server import ArticleServer
from tests.slack_helpers import SlackStack, event_body, message_event

pytestmark = pytest.mark.asyncio(loop_scope="module")
ROOT = Path(__file__).resolve().parents[2]
NO_LIMITS = {"rate_limit_user_per_hour": 0, "rate_limit_channel_per_hour": 0}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def canary() -> AsyncIterator[ArticleServer]:
    async with ArticleServer(host="127.0.0.1") as srv:
        yield srv


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def articles() -> AsyncIterator[ArticleServer]:
    async with ArticleServer(host="127.0.0.2") as srv:
        yield srv


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def slack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SlackStack]:
    async with SlackStack(tmp_path_factory.mktemp("slack"), **NO_LIMITS) as stack:
        yield stack


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def discord_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DiscordStack]:
    async with DiscordStack(tmp_path_factory.mktemp("discord")) as stack:
        await stack.start_bot(**NO_LIMITS)
        yield stack


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def console_app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[App]:
    db = tmp_path_factory.mktemp("console") / "lb.db"
    settings = load_settings(
        None,
        database_url=f"sqlite+aiosqlite:///{db}",
        fetch_allowed_private_hosts="127.0.0.2",
        summarizer="extractive",
    )
    app = await build_app(settings)
    yield app
    await app.aclose()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def cli_output(
    canary: ArticleServer, articles: ArticleServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, str, str]:
    """``linkbrief run`` (the console) as a real process, fed every form on stdin at once."""
    tmp = tmp_path_factory.mktemp("cli")
    lines = [f"case {f.name}: {_url(f, canary, articles)}" for f in SSRF_FORMS]
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "OPENAI_"))
    }
    env |= {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'cli.db'}",
        "FETCH_ALLOWED_PRIVATE_HOSTS": "127.0.0.2",
        "SUMMARIZER": "extractive",
        "MAX_LINKS_PER_MESSAGE": "1",
        "PYTHONPATH": str(ROOT),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, cwd=tmp, env=env,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate("\n".join(lines).encode() + b"\n"), 120)
    return proc.returncode or 0, out.decode(), err.decode()


def _url(form: SsrfForm, canary: ArticleServer, articles: ArticleServer) -> str:
    return form.url(port=canary.port, articles=articles.base_url)


@pytest.mark.parametrize("form", SSRF_FORMS, ids=SSRF_IDS)
async def test_slack_message_refuses(
    slack: SlackStack, canary: ArticleServer, form: SsrfForm
) -> None:
    url = _url(form, canary, slack.articles)
    posts_before = len(slack.api.calls_to("chat.postMessage"))
    updates_before = len(slack.api.calls_to("chat.update"))
    event = message_event(f"look <{url}>")
    await slack.post_event(event_body(event))
    await slack.api.wait_for(lambda: len(slack.api.calls_to("chat.update")) > updates_before)
    await slack.drain()

    new_posts = slack.api.calls_to("chat.postMessage")[posts_before:]
    [update] = slack.api.calls_to("chat.update")[updates_before:]
    assert len(new_posts) == 1 and new_posts[0].params["thread_ts"] == event["ts"]
    assert form.expected in update.params["text"]
    assert canary.total_hits == 0
    assert slack.chat.requests == []  # refused before any model call


@pytest.mark.parametrize("form", SSRF_FORMS, ids=SSRF_IDS)
async def test_discord_message_refuses(
    discord_stack: DiscordStack, canary: ArticleServer, form: SsrfForm
) -> None:
    url = _url(form, canary, discord_stack.articles)
    message = await discord_stack.say(f"look {url}")
    [edit] = await discord_stack.edits_in(message["id"])
    assert form.expected in edit.json["content"]
    assert edit.json["embeds"] == []
    placeholders = discord_stack.fake.calls("POST", rf"/channels/{message['id']}/messages")
    assert len(placeholders) == 1
    assert canary.total_hits == 0


@pytest.mark.parametrize("form", SSRF_FORMS, ids=SSRF_IDS)
async def test_console_refuses(
    console_app: App, canary: ArticleServer, articles: ArticleServer, form: SsrfForm
) -> None:
    url = _url(form, canary, articles)
    out = io.StringIO()
    await run_console(console_app, io.StringIO(f"please read {url}\n"), out)
    link, message = out.getvalue().split("\n", 1)
    assert link == canonical_url(url)
    assert form.expected in message
    assert canary.total_hits == 0


@pytest.mark.parametrize("form", SSRF_FORMS, ids=SSRF_IDS)
async def test_cli_run_refuses(
    cli_output: tuple[int, str, str], canary: ArticleServer, articles: ArticleServer, form: SsrfForm
) -> None:
    status, out, err = cli_output
    assert status == 0, err
    assert "Traceback" not in err
    lines = out.splitlines()
    link = canonical_url(_url(form, canary, articles))
    index = lines.index(link)  # the console prints the link, then its outcome
    assert form.expected in lines[index + 1]
    assert canary.total_hits == 0


@pytest.mark.parametrize("form", SSRF_FORMS, ids=SSRF_IDS)
async def test_digest_add_refuses(slack: SlackStack, canary: ArticleServer, form: SsrfForm) -> None:
    url = _url(form, canary, slack.articles)
    channel = "CDIGEST01"
    hooks_before = len(slack.api.hooks)
    status, _ = await slack.post_command(f"digest add <{url}>", channel=channel)
    assert status == 200
    await slack.api.wait_for(lambda: len(slack.api.hooks) > hooks_before)
    await slack.drain()
    [answer] = slack.api.hooks[hooks_before:]
    assert form.expected in answer["text"]
    assert answer["response_type"] == "ephemeral"
    # Nothing was followed: the channel still has no digest at all.
    await slack.post_command("digest list", channel=channel)
    await slack.api.wait_for(lambda: len(slack.api.hooks) > hooks_before + 1)
    await slack.drain()
    assert "has no digest" in slack.api.hooks[-1]["text"]
    assert canary.total_hits == 0
