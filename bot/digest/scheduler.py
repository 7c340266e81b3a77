"""The digest scheduler: each channel's digest posted exactly once per delivery day.

For each subscribed channel, on every tick:

1. find the latest delivery time that has passed (the channel's time, zone and
   weekdays rule); a channel subscribed after it waits for the next one;
2. if it is a day or more late (the bot was down), record the day as skipped;
3. otherwise claim the (channel, day) run in one statement: a new row, or a
   row whose holder's lease expired (a crashed process). Whoever gets the row
   builds the digest (or, taking over, reuses the one already built and
   stored), fences again (``begin_posting``: still the owner, lease still
   valid), posts, and marks the run posted with the platform's message id.

What remains (see README, "Daily digests"): a crash after the platform accepted the
post but before ``mark_posted`` leaves the run in "posting"; the next owner
asks the poster's optional ``find_posted`` whether the message is already
there, and posts again only if it cannot tell. Slack's chat.postMessage has
no idempotency key, so that window is narrowed, not closed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from bot.digest.builder import build_digest, digest_window
from bot.digest.models import Digest
from bot.digest.poller import FeedPoller
from bot.store.digests import DigestChannel, DigestStore, RunClaim
from bot.timeutil import utc_now

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

MAX_LATE = timedelta(days=1)
SKIP_LOOKBACK_DAYS = 7
RETRY_AFTER_S = 300.0


class DigestPoster(Protocol):
    async def post_digest(self, channel_id: str, digest: Digest) -> str:
        """Post ``digest`` to the channel; return the platform's message id."""
        ...


@runtime_checkable
class PostFinder(Protocol):
    """Optional: a poster that can tell whether ``digest`` is already in the channel."""

    async def find_posted(self, channel_id: str, digest: Digest) -> str | None: ...


@dataclass(frozen=True, slots=True)
class RunOutcome:
    platform: str
    channel_id: str
    day: str
    status: str  # posted | empty | skipped | held | not_due | no_poster | lost | failed
    message_id: str = ""
    detail: str = ""


def parse_hhmm(value: str) -> time:
    hours, _, minutes = value.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"{value!r} is not a time like 08:30")
    return time(int(hours), int(minutes))


def due_at_on(channel: DigestChannel, day: date) -> datetime:
    """The delivery instant (UTC) of ``day`` in the channel's zone."""
    local = datetime.combine(day, parse_hhmm(channel.delivery_time), ZoneInfo(channel.timezone))
    return local.astimezone(UTC)


def delivers_on(channel: DigestChannel, day: date) -> bool:
    return not channel.weekdays_only or day.weekday() < 5


def latest_due(channel: DigestChannel, now: datetime) -> tuple[date, datetime] | None:
    """The most recent delivery day whose time has passed at ``now``, and that instant."""
    day = now.astimezone(ZoneInfo(channel.timezone)).date()
    for _ in range(SKIP_LOOKBACK_DAYS + 1):
        if delivers_on(channel, day):
            due = due_at_on(channel, day)
            if due <= now:
                return day, due
        day -= timedelta(days=1)
    return None


def make_owner() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class DigestScheduler:
    """Posts due digests; several processes may run one each against one database."""

    def __init__(
        self,
        app: App,
        posters: Mapping[str, DigestPoster],
        *,
        clock: Callable[[], datetime] = utc_now,
        tick_s: float | None = None,
        lease_s: float | None = None,
        owner: str | None = None,
        poll_feeds: bool = True,
    ) -> None:
        self.app = app
        self.posters = dict(posters)
        self.clock = clock
        self.tick_s = tick_s if tick_s is not None else app.settings.digest_tick_s
        self.lease_s = lease_s if lease_s is not None else app.settings.digest_lease_s
        self.owner = owner or make_owner()
        self.poll_feeds = poll_feeds
        self.digests = DigestStore(app.store)
        self.poller = FeedPoller(
            self.digests, app.fetcher, interval_s=app.settings.digest_poll_interval_s, clock=clock
        )
        self._done: set[tuple[str, str, str]] = set()  # runs known finished: no query per tick

    async def run(self) -> None:
        """Tick forever (until cancelled)."""
        while True:
            try:
                await self.run_once(self.clock())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("digest tick failed; trying again next tick")
            await asyncio.sleep(self.tick_s)

    async def run_once(self, now: datetime) -> list[RunOutcome]:
        """One tick at ``now``: poll due feeds, then deliver every due digest."""
        if self.poll_feeds:
            await self.poller.poll_due(now)
        outcomes = []
        for channel in await self.digests.channels():
            outcomes.append(await self.run_channel(channel, now))
        return outcomes

    async def run_channel(
        self, channel: DigestChannel, now: datetime, *, force: bool = False
    ) -> RunOutcome:
        """Deliver the channel's due digest; ``force`` treats ``now`` as today's delivery time."""
        poster = self.posters.get(channel.platform)
        if force:
            day, due_at = now.astimezone(ZoneInfo(channel.timezone)).date(), now
        else:
            found = latest_due(channel, now)
            if found is None or found[1] < channel.created_at:
                return RunOutcome(channel.platform, channel.channel_id, "", "not_due")
            day, due_at = found
        iso = day.isoformat()
        key = (channel.platform, channel.channel_id, iso)
        if key in self._done:
            return RunOutcome(*key, "held", detail="already done")
        if poster is None:
            # Never claim what cannot be posted: a process with that front end will.
            return RunOutcome(*key, "no_poster")
        if not force and now - due_at >= MAX_LATE:
            await self.digests.record_skipped(*key, due_at=due_at, now=now)
            self._done.add(key)
            return RunOutcome(*key, "skipped", detail="more than a day late")
        claim = await self.digests.claim_run(
            *key, due_at=due_at, owner=self.owner, lease_s=self.lease_s, now=now
        )
        if claim is None:
            return RunOutcome(*key, "held")
        await self._skip_missed(channel, day, now)
        outcome = await self._deliver(channel, claim, poster, now)
        if outcome.status in ("posted", "empty"):
            self._done.add(key)
        return outcome

    async def _skip_missed(self, channel: DigestChannel, day: date, now: datetime) -> None:
        """Earlier delivery days with no run at all were missed: record them as skipped."""
        for back in range(1, SKIP_LOOKBACK_DAYS + 1):
            earlier = day - timedelta(days=back)
            if not delivers_on(channel, earlier):
                continue
            due = due_at_on(channel, earlier)
            if due < channel.created_at:
                break
            await self.digests.record_skipped(
                channel.platform, channel.channel_id, earlier.isoformat(), due_at=due, now=now
            )

    async def build(self, channel: DigestChannel, day: date, now: datetime) -> Digest:
        """The channel's digest as of ``now`` (also used by ``preview``; claims nothing)."""
        last = await self.digests.last_posted_until(channel.platform, channel.channel_id)
        return await build_digest(
            self.app,
            channel,
            day=day.isoformat(),
            since=digest_window(channel, last, now),
            until=now,
        )

    async def _deliver(
        self, channel: DigestChannel, claim: RunClaim, poster: DigestPoster, now: datetime
    ) -> RunOutcome:
        key = (claim.platform, claim.channel_id, claim.day)
        if claim.payload is None:
            try:
                digest = await self.build(channel, date.fromisoformat(claim.day), now)
            except Exception as exc:
                log.exception("building the digest for %s failed", ":".join(key))
                await self.digests.retry_later(claim, self.owner, now=now, retry_s=RETRY_AFTER_S)
                return RunOutcome(*key, "failed", detail=str(exc)[:200])
            saved = await self.digests.save_built(
                claim,
                self.owner,
                digest.model_dump(mode="json"),
                since=digest.since,
                until=digest.until,
                now=now,
                lease_s=self.lease_s,
            )
            if not saved:
                return RunOutcome(*key, "lost", detail="lease lost while building")
        else:
            # Taking over a built run: post exactly what was built.
            digest = Digest.model_validate(claim.payload)
        if claim.state == "posting" and isinstance(poster, PostFinder):
            found = await poster.find_posted(claim.channel_id, digest)
            if found:
                await self.digests.mark_posted(claim, self.owner, found, now=now)
                return RunOutcome(*key, "posted", found, detail="found already posted")
        if not await self.digests.begin_posting(claim, self.owner, now=now, lease_s=self.lease_s):
            return RunOutcome(*key, "lost", detail="lease lost before posting")
        if digest.empty:
            await self.digests.mark_posted(claim, self.owner, "", now=now)
            return RunOutcome(*key, "empty")
        try:
            message_id = await poster.post_digest(claim.channel_id, digest)
        except Exception as exc:
            log.warning("posting the digest for %s failed: %s", ":".join(key), exc)
            await self.digests.retry_later(claim, self.owner, now=now, retry_s=RETRY_AFTER_S)
            return RunOutcome(*key, "failed", detail=str(exc)[:200])
        # As soon as the platform answers: the only window for a double post is this line.
        await self.digests.mark_posted(claim, self.owner, message_id or "", now=now)
        return RunOutcome(*key, "posted", message_id or "")
