"""Hostile servers behind an allowed host, through the Slack front end and the digest
``add`` command: redirect chains into private space, slow drip, gzip and brotli
bombs, an endless body, a lying ``Content-Length``, things that are not articles,
and proxy variables in the environment (which the fetcher must ignore).

The article server (127.0.0.2) is allow-listed; what it redirects to is not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import pytest_asyncio

from tests.adversarial.conftest import PRIVATE, USERINFO
from tests.discord_helpers import DiscordStack
from tests.servers.article_server import ArticleServer, brotli_bomb, gzip_bomb
from tests.slack_helpers import SlackStack, event_body, message_event

pytestmark = pytest.mark.asyncio(loop_scope="module")
# The slow drip must run into the fetch deadline; every other case must be refused for
# what it is (too large, private, not an article) long before a deadline could matter,
# even with both cores busy: those run on a bot whose deadline load cannot reach.
DEADLINE_S = 1.5
GENEROUS_DEADLINE_S = 120.0
CAP = 1_000_000
TOO_LARGE = "larger than 1 MB"
NOT_ARTICLE = "isn't an article"


@dataclass(frozen=True, slots=True)
class Hostile:
    name: str
    path: Callable[[str, str], str]  # (articles base URL, canary base URL) -> path
    expected: str  # the chat reply for a link
    feed_expected: str  # the reply to `digest add`

    def url(self, articles: ArticleServer, canary: ArticleServer) -> str:
        return articles.base_url + self.path(articles.base_url, canary.base_url)


def _to(target: str, status: int = 302) -> str:
    return f"/redirect-to?status={status}&url={quote(target, safe='')}"


HOSTILE = [
    Hostile("redirect-to-loopback", lambda a, c: _to(f"{c}/canary/r1"), PRIVATE, PRIVATE),
    Hostile(
        "redirect-chain-of-two-into-loopback",
        lambda a, c: _to(a + _to(f"{c}/canary/r2", 301), 303),
        PRIVATE,
        PRIVATE,
    ),
    Hostile(
        "307-to-cloud-metadata",
        lambda a, c: _to("http://169.254.169.254/latest/meta-data/", 307),
        PRIVATE,
        PRIVATE,
    ),
    Hostile(
        "308-to-decimal-loopback",
        lambda a, c: _to("http://2130706433:1/canary/r3", 308),
        PRIVATE,
        PRIVATE,
    ),
    Hostile(
        "redirect-to-ipv4-mapped",
        lambda a, c: _to("http://[::ffff:7f00:1]:1/canary/r4"),
        PRIVATE,
        PRIVATE,
    ),
    Hostile(
        "redirect-to-userinfo", lambda a, c: _to("http://a@127.0.0.2:1/r5"), USERINFO, USERINFO
    ),
    Hostile(
        "redirect-to-file-scheme",
        lambda a, c: _to("file:///etc/passwd"),
        "not file links",
        "not file links",
    ),
    Hostile(
        "six-redirects",
        lambda a, c: "/redirect/6",
        "redirects more than 5 times",
        "redirects more than 5 times",
    ),
    Hostile(
        "slow-drip",
        lambda a, c: "/drip?interval=0.2",
        f"longer than {DEADLINE_S:g} s",
        f"longer than {DEADLINE_S:g} s",
    ),
    Hostile("gzip-bomb", lambda a, c: "/gzip-bomb", TOO_LARGE, TOO_LARGE),
    Hostile("brotli-bomb", lambda a, c: "/brotli-bomb", TOO_LARGE, TOO_LARGE),
    Hostile("endless-body", lambda a, c: "/endless", TOO_LARGE, TOO_LARGE),
    Hostile("lying-content-length", lambda a, c: "/lying-length", TOO_LARGE, TOO_LARGE),
    Hostile("json", lambda a, c: "/json", f"{NOT_ARTICLE} (application/json)", "feed I can read"),
    Hostile(
        "image",
        lambda a, c: "/image.png",
        f"{NOT_ARTICLE} (image/png)",
        f"{NOT_ARTICLE} (image/png)",
    ),
    Hostile("binary-without-type", lambda a, c: "/no-type?kind=binary", NOT_ARTICLE, NOT_ARTICLE),
]
IDS = [h.name for h in HOSTILE]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def canary() -> AsyncIterator[ArticleServer]:
    # The bombs are built (about a second each, far more on a busy machine) before
    # any fetch deadline starts, so the test measures the fetcher, not the builder.
    gzip_bomb(), brotli_bomb()
    async with ArticleServer(host="127.0.0.1") as srv:
        yield srv


@pytest.fixture(scope="module", autouse=True)
def _bombs_built() -> None:
    """The bombs take a second or more to build: build them before any fetch deadline runs."""
    gzip_bomb(), brotli_bomb()


async def _stack(tmp_path: Path, deadline_s: float) -> SlackStack:
    return SlackStack(
        tmp_path,
        fetch_timeout_s=deadline_s,
        fetch_max_bytes=CAP,
        rate_limit_user_per_hour=0,
        rate_limit_channel_per_hour=0,
    )


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def patient(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SlackStack]:
    async with await _stack(tmp_path_factory.mktemp("slack"), GENEROUS_DEADLINE_S) as stack:
        yield stack


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def hasty(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SlackStack]:
    async with await _stack(tmp_path_factory.mktemp("slack-drip"), DEADLINE_S) as stack:
        yield stack


@pytest.fixture
def slack(request: pytest.FixtureRequest, case: Hostile) -> SlackStack:
    """The bot with the short deadline for the slow drip, the patient one for the rest."""
    return request.getfixturevalue("hasty" if case.name == "slow-drip" else "patient")


@pytest.mark.parametrize("case", HOSTILE, ids=IDS)
async def test_slack_link_to_a_hostile_server_is_refused(
    slack: SlackStack, canary: ArticleServer, case: Hostile
) -> None:
    updates_before = len(slack.api.calls_to("chat.update"))
    posts_before = len(slack.api.calls_to("chat.postMessage"))
    await slack.post_event(event_body(message_event(f"<{case.url(slack.articles, canary)}>")))
    await slack.api.wait_for(lambda: len(slack.api.calls_to("chat.update")) > updates_before)
    await slack.drain()
    [update] = slack.api.calls_to("chat.update")[updates_before:]
    assert case.expected in update.params["text"]
    assert len(slack.api.calls_to("chat.postMessage")) == posts_before + 1
    assert canary.total_hits == 0
    assert slack.chat.requests == []  # nothing reached the model


@pytest.mark.parametrize("case", HOSTILE, ids=IDS)
async def test_digest_add_of_a_hostile_server_is_refused(
    slack: SlackStack, canary: ArticleServer, case: Hostile
) -> None:
    hooks_before = len(slack.api.hooks)
    await slack.post_command(f"digest add <{case.url(slack.articles, canary)}>", channel="CFEEDS")
    await slack.api.wait_for(lambda: len(slack.api.hooks) > hooks_before)
    await slack.drain()
    [answer] = slack.api.hooks[hooks_before:]
    assert case.feed_expected in answer["text"]
    assert canary.total_hits == 0


PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                   "all_proxy")  # fmt: skip


async def test_proxy_variables_in_the_environment_are_not_used_for_fetching(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy named in the environment never sees the article request.

    Through Discord (discord.py ignores proxy variables too) with the extractive
    summarizer, so every request the proxy could see would be the fetcher's.
    The Slack SDK and the OpenAI client do honour proxy variables, on purpose:
    that is how an operator reaches Slack or a model from behind a proxy.
    """
    async with ArticleServer(host="127.0.0.1") as proxy:
        for name in PROXY_VARIABLES:
            monkeypatch.setenv(name, proxy.base_url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with DiscordStack(tmp_path) as stack:
            await stack.start_bot()
            url = stack.article_url()
            message = await stack.say(f"see {url}")
            [edit] = await stack.edits_in(message["id"])
            [embed] = edit.json["embeds"]
            assert embed["url"] == url
            assert stack.articles.hits["/pages/example_article.html"] == 1
        assert proxy.total_hits == 0, [r.path for r in proxy.requests]
