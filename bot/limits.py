"""Rate limits per person and per channel, and each workspace's daily model-token budget.

Every count lives in the store (``Store.incr_counter``: one atomic upsert), so
limits survive restarts and hold across bot processes sharing a database.

Rate limits use a sliding-window estimate over fixed hourly windows: the
previous hour's count, weighted by how much of it still overlaps the last 60
minutes, plus this hour's count. It needs two counters per key, has no burst
at the top of the hour, and lets us say honestly when one more brief fits.
An attempt is counted first (atomic, so racing requests cannot all squeeze
in) and refunded when refused, so asking again while limited costs nothing.

The token budget is per workspace (Slack team / Discord guild) per UTC day.
It is checked before a model call and charged after it with what the call
used, so it is a soft cap: concurrent briefs may overshoot by one call each.
When it is spent the brief service degrades to the extractive brief with a
note rather than refusing (see ``bot.pipeline.service``). A workspace's spend
is read from the store at most every ``BUDGET_READ_EVERY_S`` (a brief reads it
every time); this process's own charges update that copy at once, so here it
is exact, and another process's charges show within that many seconds.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.errors import ChannelRateLimited, LimitReached, UserRateLimited
from bot.timeutil import Clock, utc_now

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store import Store

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)
DAY = timedelta(days=1)
# Counters older than this are purged (hourly, by whichever check comes first).
KEEP_COUNTERS = timedelta(days=2)
PURGE_EVERY = timedelta(hours=1)
BUDGET_READ_EVERY_S = 2.0
# Store keys are at most 255 characters; platform ids are short, but never trust input.
MAX_PLAIN_KEY = 200


def _key(*parts: str) -> str:
    plain = ":".join(part or "-" for part in parts)
    if len(plain) <= MAX_PLAIN_KEY:
        return plain
    return f"{parts[0]}:sha256:{hashlib.sha256(plain.encode()).hexdigest()}"


def _hour_start(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _day_start(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class WindowUsage:
    """Counts of one key in the previous and current hourly windows, at ``elapsed`` (0..1)."""

    previous: int
    current: int
    elapsed: float

    @property
    def estimate(self) -> float:
        """Requests in the last 60 minutes, assuming the previous hour's were spread evenly."""
        return self.previous * (1 - self.elapsed) + self.current

    def seconds_until_room(self, limit: int) -> float:
        """How long until ``current + 1`` requests fit under ``limit`` if nobody asks meanwhile."""
        window = WINDOW.total_seconds()
        room = limit - self.current - 1
        if room >= 0 and self.previous > 0:
            # Within this window, the previous hour's weight shrinks until one more fits.
            needed = 1 - room / self.previous
            if needed < 1:
                return max(0.0, needed - self.elapsed) * window
        # Next window: this hour's count becomes the fading "previous" one.
        fading = max(0.0, 1 - (limit - 1) / self.current) if self.current else 0.0
        return (1 - self.elapsed + fading) * window


@dataclass(frozen=True, slots=True)
class _Rule:
    key: str
    limit: int
    error: type[UserRateLimited] | type[ChannelRateLimited]


class Limits:
    """Rate limits and token budgets over the store; build one per ``App``."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        budget_read_every_s: float = BUDGET_READ_EVERY_S,
    ) -> None:
        self._store = store
        self.user_per_hour = settings.rate_limit_user_per_hour
        self.channel_per_hour = settings.rate_limit_channel_per_hour
        self.daily_tokens = settings.daily_token_budget
        self._clock = clock
        self._last_purge: datetime | None = None
        self.budget_read_every_s = budget_read_every_s
        # (budget key, day) -> (monotonic expiry, tokens used, version): see tokens_left.
        self._spent: dict[tuple[str, datetime], tuple[float, int, int]] = {}

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the Limits clock must return aware datetimes")
        return now.astimezone(UTC)

    # --- rate limits ----------------------------------------------------------

    async def check_brief(
        self, *, platform: str, team_id: str, channel_id: str, user_id: str
    ) -> None:
        """Count one brief request; raise ``UserRateLimited``/``ChannelRateLimited`` if over.

        A refused request is not counted, so the wait the message names is real.
        """
        now = self._now()
        await self._purge_now_and_then(now)
        rules = []
        if self.user_per_hour:
            key = _key("rate:user", platform, team_id, user_id)
            rules.append(_Rule(key, self.user_per_hour, UserRateLimited))
        if self.channel_per_hour:
            key = _key("rate:channel", platform, team_id, channel_id)
            rules.append(_Rule(key, self.channel_per_hour, ChannelRateLimited))
        counted: list[str] = []
        refusal: LimitReached | None = None
        for rule in rules:
            usage = await self._count(rule.key, now)
            counted.append(rule.key)
            if usage.estimate > rule.limit + 1e-9:  # float weights: 3.0000000001 is 3
                # This attempt is in ``current``; the wait is for the one after it is refunded.
                before = WindowUsage(usage.previous, usage.current - 1, usage.elapsed)
                refusal = rule.error(rule.limit, before.seconds_until_room(rule.limit))
                break
        if refusal is None:
            return
        window = _hour_start(now)
        for key in counted:
            await self._store.incr_counter(key, window, -1)
        log.info("rate limit reached: %s", refusal.kind)
        raise refusal

    async def usage(self, key_kind: str, *parts: str) -> WindowUsage:
        """Current usage of a rate-limit key without counting (for ops and tests)."""
        return await self._count(_key(f"rate:{key_kind}", *parts), self._now(), amount=0)

    async def _count(self, key: str, now: datetime, amount: int = 1) -> WindowUsage:
        window = _hour_start(now)
        current = await self._store.incr_counter(key, window, amount)
        # The previous window is closed: a plain read (no write transaction) is exact.
        previous = await self._store.read_counter(key, window - WINDOW)
        elapsed = (now - window) / WINDOW
        return WindowUsage(previous=previous, current=current, elapsed=elapsed)

    async def _purge_now_and_then(self, now: datetime) -> None:
        if self._last_purge is not None and now - self._last_purge < PURGE_EVERY:
            return
        self._last_purge = now
        try:
            purged = await self._store.purge_counters(before=now - KEEP_COUNTERS)
        except Exception as exc:  # housekeeping must never refuse a brief
            log.warning("could not purge old counters (%s)", type(exc).__name__)
            return
        if purged:
            log.debug("purged %d old counters", purged)

    # --- token budget ------------------------------------------------------------

    def _budget_key(self, platform: str, team_id: str) -> str:
        return _key("tokens", platform, team_id)

    async def tokens_left(self, *, platform: str, team_id: str) -> int | None:
        """Model tokens the workspace may still spend today (UTC); None when unlimited."""
        if not self.daily_tokens:
            return None
        slot = (self._budget_key(platform, team_id), _day_start(self._now()))
        kept = self._spent.get(slot)
        if kept is not None and kept[0] > time.monotonic():
            return max(0, self.daily_tokens - kept[1])
        version = kept[2] if kept is not None else 0
        # A plain read, not an upsert of 0: no write transaction on every brief.
        used = await self._store.read_counter(*slot)
        now = self._spent.get(slot)
        if (now[2] if now is not None else 0) == version:  # no charge landed meanwhile
            self._remember(slot, used, version)
            return max(0, self.daily_tokens - used)
        return max(0, self.daily_tokens - max(used, now[1]))  # type: ignore[index]

    async def spend_tokens(self, *, platform: str, team_id: str, tokens: int) -> None:
        """Charge ``tokens`` to today's budget (recorded even when unlimited, for ops)."""
        if tokens <= 0:
            return
        slot = (self._budget_key(platform, team_id), _day_start(self._now()))
        total = await self._store.incr_counter(*slot, tokens)  # every process's spend today
        kept = self._spent.get(slot)
        self._remember(slot, total, (kept[2] if kept is not None else 0) + 1)

    def _remember(self, slot: tuple[str, datetime], used: int, version: int) -> None:
        if len(self._spent) > 10_000:  # a bound, not an eviction policy: one key per team-day
            self._spent.clear()
        self._spent[slot] = (time.monotonic() + self.budget_read_every_s, used, version)

    def seconds_until_budget_resets(self) -> float:
        now = self._now()
        return (_day_start(now) + DAY - now).total_seconds()

    def budget(self, *, platform: str, team_id: str) -> WorkspaceBudget:
        """The ``TokenBudget`` to hand to ``BriefService.brief_url(..., budget=...)``."""
        return WorkspaceBudget(self, platform, team_id)


@dataclass(frozen=True, slots=True)
class WorkspaceBudget:
    """One workspace's daily allowance (``bot.pipeline.contracts.TokenBudget``)."""

    limits: Limits
    platform: str
    team_id: str

    async def remaining(self) -> int | None:
        return await self.limits.tokens_left(platform=self.platform, team_id=self.team_id)

    async def spend(self, tokens: int) -> None:
        await self.limits.spend_tokens(platform=self.platform, team_id=self.team_id, tokens=tokens)
