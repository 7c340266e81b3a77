"""Rate limits and the daily token budget over a real SQLite store, with an injected clock.

The budget tests run real briefs: the safe fetcher against the local article
server and the real LLM summarizer against the scripted chat server.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, build_app, build_summarizer
from bot.config import Settings
from bot.errors import BudgetExhausted, ChannelRateLimited, LimitReached, UserRateLimited
from bot.limits import Limits, WindowUsage
from bot.pipeline.service import BUDGET_SPENT_WARNING, BriefService
from bot.store import Store
from tests.app_support import local_settings
from tests.servers.article_server import ArticleServer
from tests.servers.chat_server import ChatServer

PAGE = "/pages/example_article.html"


class Clock:
    """A settable clock: the windows roll over without sleeping."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _settings(tmp_path: Path, **extra: Any) -> Settings:
    limits: dict[str, Any] = {"rate_limit_user_per_hour": 3, "rate_limit_channel_per_hour": 5}
    return local_settings(tmp_path, **(limits | extra))


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 10, 12, tzinfo=UTC))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(_settings(tmp_path).database_url)
    try:
        yield store
    finally:
        await store.close()


def _ask(limits: Limits, user: str = "U1", channel: str = "C1", team: str = "T1") -> Any:
    return limits.check_brief(platform="slack", team_id=team, channel_id=channel, user_id=user)


def _minutes_in(message: str) -> int:
    match = re.search(r"try again in (\d+) minutes?", message)
    assert match, message
    return int(match.group(1))


# --- rate limits -------------------------------------------------------------------


async def test_the_user_limit_refuses_with_a_message_that_names_the_wait(
    tmp_path: Path, store: Store, clock: Clock
) -> None:
    limits = Limits(store, _settings(tmp_path), clock=clock)
    for _ in range(3):
        await _ask(limits)
    with pytest.raises(UserRateLimited) as refused:
        await _ask(limits)
    message = str(refused.value)
    assert message.startswith("You've asked for 3 briefs in the last hour")
    assert isinstance(refused.value, LimitReached) and refused.value.kind == "user_rate_limited"
    wait = _minutes_in(message)
    # The wait is the truth: a minute earlier is still refused, at the named time it fits.
    clock.advance(minutes=wait - 1)
    with pytest.raises(UserRateLimited):
        await _ask(limits)
    clock.advance(minutes=1)
    await _ask(limits)


async def test_the_channel_limit_counts_everyone_in_the_channel(
    tmp_path: Path, store: Store, clock: Clock
) -> None:
    limits = Limits(store, _settings(tmp_path), clock=clock)
    for user in ("U1", "U2", "U3", "U4", "U5"):
        await _ask(limits, user=user)
    with pytest.raises(ChannelRateLimited) as refused:
        await _ask(limits, user="U6")
    assert str(refused.value).startswith("This channel has had 5 briefs in the last hour")
    assert _minutes_in(str(refused.value)) >= 1
    # The refused person's own attempt was refunded, and other channels are unaffected.
    assert (await limits.usage("user", "slack", "T1", "U6")).current == 0
    await _ask(limits, user="U6", channel="C2")


async def test_refused_attempts_are_not_counted(tmp_path: Path, store: Store, clock: Clock) -> None:
    limits = Limits(store, _settings(tmp_path), clock=clock)
    for _ in range(3):
        await _ask(limits)
    for _ in range(5):
        with pytest.raises(UserRateLimited):
            await _ask(limits)
    usage = await limits.usage("user", "slack", "T1", "U1")
    assert usage.current == 3
    assert (await limits.usage("channel", "slack", "T1", "C1")).current == 3


async def test_people_teams_and_platforms_are_counted_apart(
    tmp_path: Path, store: Store, clock: Clock
) -> None:
    limits = Limits(store, _settings(tmp_path, rate_limit_channel_per_hour=0), clock=clock)
    for _ in range(3):
        await _ask(limits, user="U1")
    await _ask(limits, user="U2")
    await _ask(limits, user="U1", team="T2")
    await limits.check_brief(platform="discord", team_id="T1", channel_id="C1", user_id="U1")
    with pytest.raises(UserRateLimited):
        await _ask(limits, user="U1")


async def test_counters_survive_a_restart(tmp_path: Path, clock: Clock) -> None:
    settings = _settings(tmp_path)
    first = await Store.open(settings.database_url)
    try:
        for _ in range(3):
            await _ask(Limits(first, settings, clock=clock))
    finally:
        await first.close()
    second = await Store.open(settings.database_url)  # a new process on the same file
    try:
        with pytest.raises(UserRateLimited):
            await _ask(Limits(second, settings, clock=clock))
    finally:
        await second.close()


async def test_the_window_slides_and_rolls_over(tmp_path: Path, store: Store, clock: Clock) -> None:
    clock.now = datetime(2026, 3, 2, 10, 59, tzinfo=UTC)
    limits = Limits(store, _settings(tmp_path), clock=clock)
    for _ in range(3):
        await _ask(limits)
    # Six minutes later a new hourly window has begun, but the last hour still holds 3.
    clock.advance(minutes=6)
    with pytest.raises(UserRateLimited):
        await _ask(limits)
    clock.advance(hours=1)
    for _ in range(3):
        await _ask(limits)


async def test_concurrent_requests_from_two_processes_cannot_exceed_the_limit(
    tmp_path: Path, clock: Clock
) -> None:
    settings = _settings(tmp_path, rate_limit_user_per_hour=7, rate_limit_channel_per_hour=0)
    stores = [await Store.open(settings.database_url) for _ in range(2)]
    try:
        limits = [Limits(s, settings, clock=clock) for s in stores]
        results = await asyncio.gather(
            *(_ask(limits[i % 2]) for i in range(20)), return_exceptions=True
        )
    finally:
        for s in stores:
            await s.close()
    assert sum(r is None for r in results) == 7
    assert all(r is None or isinstance(r, UserRateLimited) for r in results)


async def test_zero_means_no_limit(tmp_path: Path, store: Store, clock: Clock) -> None:
    settings = _settings(tmp_path, rate_limit_user_per_hour=0, rate_limit_channel_per_hour=0)
    limits = Limits(store, settings, clock=clock)
    for _ in range(25):
        await _ask(limits)


def test_the_wait_is_when_the_estimate_drops_under_the_limit() -> None:
    # 10 last hour, 2 this hour, 15 minutes in, limit 10: 10*0.75 + 2 = 9.5; one more is 10.5.
    usage = WindowUsage(previous=10, current=2, elapsed=0.25)
    wait = usage.seconds_until_room(10)
    later = WindowUsage(10, 2, 0.25 + wait / 3600)
    assert later.estimate + 1 == pytest.approx(10)
    # Nothing last hour but the limit used up now: wait past the top of the hour.
    assert WindowUsage(0, 4, 0.5).seconds_until_room(4) == pytest.approx(1800 + 900)


async def test_old_counters_are_purged(tmp_path: Path, store: Store, clock: Clock) -> None:
    limits = Limits(store, _settings(tmp_path), clock=clock)
    await _ask(limits)
    clock.advance(days=3)
    await _ask(limits)  # purges what is older than two days
    assert await store.purge_counters(before=clock.now - timedelta(days=1)) == 0


# --- token budget -----------------------------------------------------------------------


async def test_the_budget_is_per_team_and_resets_at_midnight_utc(
    tmp_path: Path, store: Store, clock: Clock
) -> None:
    limits = Limits(store, _settings(tmp_path, daily_token_budget=1000), clock=clock)
    assert await limits.tokens_left(platform="slack", team_id="T1") == 1000
    await limits.spend_tokens(platform="slack", team_id="T1", tokens=600)
    await limits.spend_tokens(platform="slack", team_id="T1", tokens=600)
    assert await limits.tokens_left(platform="slack", team_id="T1") == 0
    assert await limits.tokens_left(platform="discord", team_id="T1") == 1000
    assert limits.seconds_until_budget_resets() == pytest.approx((13 * 60 + 48) * 60)
    clock.now = datetime(2026, 3, 3, 0, 0, 1, tzinfo=UTC)
    assert await limits.tokens_left(platform="slack", team_id="T1") == 1000


async def test_the_spend_is_read_at_most_every_few_seconds_and_own_charges_are_exact(
    tmp_path: Path, store: Store, clock: Clock
) -> None:
    settings = _settings(tmp_path, daily_token_budget=1000)
    here = Limits(store, settings, clock=clock, budget_read_every_s=0.3)
    there = Limits(store, settings, clock=clock, budget_read_every_s=0.3)  # another process
    assert await here.tokens_left(platform="slack", team_id="T1") == 1000
    assert await there.tokens_left(platform="slack", team_id="T1") == 1000
    await here.spend_tokens(platform="slack", team_id="T1", tokens=300)
    assert await here.tokens_left(platform="slack", team_id="T1") == 700  # exact at once
    assert await there.tokens_left(platform="slack", team_id="T1") == 1000  # its copy
    await asyncio.sleep(0.4)
    assert await there.tokens_left(platform="slack", team_id="T1") == 700  # read again
    # A charge here reports every process's spend (the counter's new total).
    await there.spend_tokens(platform="slack", team_id="T1", tokens=100)
    await here.spend_tokens(platform="slack", team_id="T1", tokens=50)
    assert await here.tokens_left(platform="slack", team_id="T1") == 550


async def test_a_charge_landing_during_a_budget_read_is_not_overwritten(
    tmp_path: Path, store: Store, clock: Clock
) -> None:
    limits = Limits(store, _settings(tmp_path, daily_token_budget=1000), clock=clock)
    read_done, charged = asyncio.Event(), asyncio.Event()
    real_read = store.read_counter

    async def late_read(key: str, window: datetime) -> int:
        value = await real_read(key, window)  # read before the charge...
        read_done.set()
        await charged.wait()  # ...answered after it
        return value

    store.read_counter = late_read  # type: ignore[method-assign]
    reading = asyncio.create_task(limits.tokens_left(platform="slack", team_id="T1"))
    await read_done.wait()
    await limits.spend_tokens(platform="slack", team_id="T1", tokens=400)
    charged.set()
    assert await reading == 600  # the charge it missed is counted
    store.read_counter = real_read  # type: ignore[method-assign]
    assert await limits.tokens_left(platform="slack", team_id="T1") == 600  # not the stale 0


async def test_no_budget_means_unlimited(tmp_path: Path, store: Store, clock: Clock) -> None:
    limits = Limits(store, _settings(tmp_path, daily_token_budget=0), clock=clock)
    await limits.spend_tokens(platform="slack", team_id="T1", tokens=10**9)
    assert await limits.tokens_left(platform="slack", team_id="T1") is None


async def _llm_app(tmp_path: Path, chat: ChatServer, clock: Clock, budget: int) -> App:
    settings = _settings(
        tmp_path,
        openai_base_url=chat.base_url,
        summarizer="llm",
        llm_max_retries=0,
        daily_token_budget=budget,
        rate_limit_user_per_hour=0,
        rate_limit_channel_per_hour=0,
    )
    return await build_app(settings, clock=clock)


def _brief(app: App, url: str, team: str) -> Any:
    return app.brief_link(url, platform="slack", team_id=team, channel_id="C1", user_id="U1")


async def test_briefs_spend_the_budget_then_degrade_to_extractive_with_a_note(
    tmp_path: Path, servers: tuple[ArticleServer, ChatServer], clock: Clock
) -> None:
    pages, chat = servers
    app = await _llm_app(tmp_path, chat, clock, budget=100)  # less than one brief costs
    try:
        first = await _brief(app, pages.url(PAGE), "T1")
        assert first.mode == "llm" and len(chat.requests) == 1
        cost = first.stats.prompt_tokens + first.stats.completion_tokens
        assert cost > 100
        assert await app.limits.tokens_left(platform="slack", team_id="T1") == 0

        # Spent: a new link is briefed without the model, and says why.
        other = pages.url(PAGE + "?v=2")
        degraded = await _brief(app, other, "T1")
        assert degraded.mode == "extractive" and len(chat.requests) == 1
        assert degraded.warnings[0] == BUDGET_SPENT_WARNING
        assert "midnight UTC" in BUDGET_SPENT_WARNING
        assert degraded.claims  # still a real brief

        # The cached LLM brief costs nothing, so a spent team still gets it.
        again = await _brief(app, pages.url(PAGE), "T1")
        assert again.mode == "llm" and len(chat.requests) == 1

        # The degraded brief was not cached: another team gets the model's brief.
        fresh = await _brief(app, other, "T2")
        assert fresh.mode == "llm" and len(chat.requests) == 2
        assert BUDGET_SPENT_WARNING not in fresh.warnings

        # After midnight UTC the team has its budget again.
        clock.now = datetime(2026, 3, 3, 0, 5, tzinfo=UTC)
        renewed = await _brief(app, pages.url(PAGE + "?v=3"), "T1")
        assert renewed.mode == "llm" and len(chat.requests) == 3
    finally:
        await app.aclose()


async def test_a_link_shared_by_several_teams_at_once_is_charged_once(
    tmp_path: Path, servers: tuple[ArticleServer, ChatServer], clock: Clock
) -> None:
    pages, chat = servers
    app = await _llm_app(tmp_path, chat, clock, budget=1_000_000)
    teams = [f"T{i}" for i in range(6)]
    try:
        briefs = await asyncio.gather(*(_brief(app, pages.url(PAGE), t) for t in teams))
        left = [await app.limits.tokens_left(platform="slack", team_id=t) for t in teams]
    finally:
        await app.aclose()
    assert len(chat.requests) == 1 and pages.hits[PAGE] == 1
    cost = briefs[0].stats.prompt_tokens + briefs[0].stats.completion_tokens
    assert cost > 0
    assert sorted(1_000_000 - x for x in left if x is not None) == [0] * 5 + [cost]


async def test_without_a_fallback_a_spent_budget_refuses(
    tmp_path: Path, servers: tuple[ArticleServer, ChatServer], clock: Clock
) -> None:
    pages, chat = servers
    app = await _llm_app(tmp_path, chat, clock, budget=10)
    try:
        await app.limits.spend_tokens(platform="slack", team_id="T1", tokens=10)
        # A service with no extractive fallback cannot degrade.
        service = BriefService(
            fetcher=app.fetcher, summarizer=build_summarizer(app.settings), cache=app.store
        )
        budget = app.limits.budget(platform="slack", team_id="T1")
        with pytest.raises(BudgetExhausted) as refused:
            await service.brief_url(pages.url(PAGE), budget=budget)
    finally:
        await app.aclose()
    assert "today's model budget" in str(refused.value)
    assert len(chat.requests) == 0
