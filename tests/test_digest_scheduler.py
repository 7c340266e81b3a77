"""The scheduler on real databases: delivery times and zones, weekdays, missed digests,
and exactly once — across tasks, across OS processes, and across a SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App
from bot.digest.commands import handle_digest_command
from bot.digest.models import Digest
from bot.digest.scheduler import DigestScheduler, due_at_on, latest_due
from bot.store.digests import DigestChannel, DigestStore
from tests.digest_support import (
    ROOT,
    FilePoster,
    RecordingPoster,
    items,
    make_app,
)
from tests.servers.feed_server import RSS, FeedServer, rss_feed

MON = datetime(2026, 11, 23, tzinfo=UTC)  # Monday 00:00 UTC, winter time in Berlin


def at(day: int, hh: int, mm: int = 0) -> datetime:
    """Day 0 = Monday 23 November 2026, in UTC."""
    return MON + timedelta(days=day, hours=hh, minutes=mm)


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as srv:
        srv.set_feed(
            "a", rss_feed("Outlet A", srv.url("/"), items("a", 3, at(0, 6)), srv.base_url), RSS
        )
        yield srv


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[App]:
    a = await make_app(db_url)
    try:
        yield a
    finally:
        await a.aclose()


async def subscribe(app: App, srv: FeedServer, when: datetime, *extra: str) -> None:
    reply = await handle_digest_command(
        app, "slack", "C1", f"add {srv.url('/feeds/a')}", clock=lambda: when
    )
    assert reply.ok, reply.text
    for command in extra:
        reply = await handle_digest_command(app, "slack", "C1", command, clock=lambda: when)
        assert reply.ok, reply.text


def scheduler(app: App, poster: object, **kw: object) -> DigestScheduler:
    return DigestScheduler(app, {"slack": poster}, **kw)  # type: ignore[dict-item, arg-type]


def statuses(outcomes: list) -> list[str]:  # type: ignore[type-arg]
    return [o.status for o in outcomes]


# --- when ----------------------------------------------------------------------


def _channel(**kw: object) -> DigestChannel:
    values: dict[str, object] = {
        "platform": "slack",
        "channel_id": "C1",
        "delivery_time": "09:00",
        "timezone": "UTC",
        "weekdays_only": False,
        "max_entries": 10,
        "include_shares": True,
        "created_at": at(-30, 0),
    }
    values.update(kw)
    return DigestChannel(**values)  # type: ignore[arg-type]


def test_berlin_0830_is_0730_utc_in_winter_and_0630_in_summer() -> None:
    berlin = _channel(delivery_time="08:30", timezone="Europe/Berlin")
    assert due_at_on(berlin, date(2026, 11, 25)) == datetime(2026, 11, 25, 7, 30, tzinfo=UTC)
    assert due_at_on(berlin, date(2026, 7, 1)) == datetime(2026, 7, 1, 6, 30, tzinfo=UTC)
    assert latest_due(berlin, at(2, 7, 29)) == (date(2026, 11, 24), at(1, 7, 30))
    assert latest_due(berlin, at(2, 7, 30)) == (date(2026, 11, 25), at(2, 7, 30))
    # Near midnight the local date is not the UTC date.
    tokyo = _channel(delivery_time="08:00", timezone="Asia/Tokyo")
    assert latest_due(tokyo, at(1, 23, 30)) == (date(2026, 11, 25), at(1, 23))


def test_weekdays_only_skips_the_weekend() -> None:
    weekdays = _channel(weekdays_only=True)
    saturday, sunday, monday = at(5, 12), at(6, 12), at(7, 9)
    assert latest_due(weekdays, saturday) == (date(2026, 11, 27), at(4, 9))  # Friday's
    assert latest_due(weekdays, sunday) == (date(2026, 11, 27), at(4, 9))
    assert latest_due(weekdays, monday) == (date(2026, 11, 30), at(7, 9))


# --- delivery -------------------------------------------------------------------


async def test_one_digest_per_channel_per_day_and_only_new_items_the_next_day(
    app: App, server: FeedServer
) -> None:
    await subscribe(app, server, at(0, 20))  # Monday evening
    poster = RecordingPoster()
    sched = scheduler(app, poster)
    assert statuses(await sched.run_once(at(1, 8, 59))) == ["not_due"]
    assert statuses(await sched.run_once(at(1, 9))) == ["posted"]
    assert statuses(await sched.run_once(at(1, 9, 5))) == ["held"]
    # A fresh process (nothing in memory) does not post it again either.
    assert statuses(await scheduler(app, RecordingPoster()).run_once(at(1, 17))) == ["held"]
    assert len(poster.posted) == 1
    first = poster.posted[0][1]
    assert first.day == "2026-11-24" and len(first.entries) == 3

    new = items("a", 3, at(0, 6)) + items("new", 1, at(1, 12))
    server.set_feed("a", rss_feed("Outlet A", server.url("/"), new, server.base_url), RSS)
    assert statuses(await sched.run_once(at(2, 9))) == ["posted"]
    second = poster.posted[1][1]
    assert second.day == "2026-11-25"
    assert second.since == first.until
    assert [e.url for e in second.entries] == [server.url("/articles/new-0")]
    runs = await DigestStore(app.store).runs("slack", "C1")
    assert [(r.day, r.state, r.message_id) for r in runs] == [
        ("2026-11-24", "posted", "msg-1"),
        ("2026-11-25", "posted", "msg-2"),
    ]


async def test_berlin_time_through_the_command(app: App, server: FeedServer) -> None:
    await subscribe(app, server, at(0, 20), "time 08:30 Europe/Berlin")
    poster = RecordingPoster()
    sched = scheduler(app, poster)
    assert statuses(await sched.run_once(at(1, 7, 29))) == ["not_due"]
    assert statuses(await sched.run_once(at(1, 7, 30))) == ["posted"]
    assert poster.posted[0][1].day == "2026-11-24"


async def test_weekdays_only_posts_friday_and_monday_not_the_weekend(
    app: App, server: FeedServer
) -> None:
    fresh = items("a", 3, at(3, 18))  # published Thursday: new enough for Friday's digest
    server.set_feed("a", rss_feed("Outlet A", server.url("/"), fresh, server.base_url), RSS)
    await subscribe(app, server, at(3, 20), "days weekdays")  # Thursday evening
    poster = RecordingPoster()
    sched = scheduler(app, poster)
    await sched.run_once(at(4, 9, 1))
    weekend = fresh + items("weekend", 1, at(5, 8))  # a story on Saturday morning
    server.set_feed("a", rss_feed("Outlet A", server.url("/"), weekend, server.base_url), RSS)
    for when in (at(5, 9, 30), at(6, 9, 30), at(6, 23), at(7, 9)):
        await sched.run_once(when)
    assert [d.day for _, d in poster.posted] == ["2026-11-27", "2026-11-30"]
    assert [e.url for e in poster.posted[1][1].entries] == [server.url("/articles/weekend-0")]


async def test_a_missed_digest_is_sent_once_if_less_than_a_day_late(
    app: App, server: FeedServer
) -> None:
    await subscribe(app, server, at(0, 8))  # Monday 08:00; then the bot is down until Wed 15:00
    poster = RecordingPoster()
    assert statuses(await scheduler(app, poster).run_once(at(2, 15))) == ["posted"]
    assert statuses(await scheduler(app, poster).run_once(at(2, 16))) == ["held"]
    runs = await DigestStore(app.store).runs("slack", "C1")
    assert [(r.day, r.state) for r in runs] == [
        ("2026-11-23", "skipped"),
        ("2026-11-24", "skipped"),
        ("2026-11-25", "posted"),
    ]
    assert len(poster.posted) == 1


async def test_a_digest_more_than_a_day_late_is_skipped(app: App, server: FeedServer) -> None:
    await subscribe(app, server, at(3, 20), "days weekdays")
    poster = RecordingPoster()
    # Down from Thursday night until Saturday 10:00: Friday's is 25 hours late.
    assert statuses(await scheduler(app, poster).run_once(at(5, 10))) == ["skipped"]
    assert poster.posted == []
    runs = await DigestStore(app.store).runs("slack", "C1")
    assert [(r.day, r.state) for r in runs] == [("2026-11-27", "skipped")]


async def test_a_failed_post_is_retried_later_and_posted_once(app: App, server: FeedServer) -> None:
    await subscribe(app, server, at(0, 20))
    poster = RecordingPoster()
    poster.fail_next = 1
    sched = scheduler(app, poster)
    assert statuses(await sched.run_once(at(1, 9))) == ["failed"]
    assert statuses(await sched.run_once(at(1, 9, 1))) == ["held"]  # waiting to retry
    assert statuses(await scheduler(app, poster).run_once(at(1, 9, 6))) == ["posted"]
    assert len(poster.posted) == 1


async def test_nothing_new_posts_nothing(app: App, server: FeedServer) -> None:
    server.set_feed("a", rss_feed("Outlet A", server.url("/"), [], server.base_url), RSS)
    await subscribe(app, server, at(0, 20))
    poster = RecordingPoster()
    assert statuses(await scheduler(app, poster).run_once(at(1, 9))) == ["empty"]
    assert statuses(await scheduler(app, poster).run_once(at(1, 10))) == ["held"]
    assert poster.posted == []


async def test_a_process_without_the_platform_never_claims_the_run(
    app: App, server: FeedServer
) -> None:
    await subscribe(app, server, at(0, 20))
    discord_only = DigestScheduler(app, {"discord": RecordingPoster()})
    assert statuses(await discord_only.run_once(at(1, 9))) == ["no_poster"]
    poster = RecordingPoster()
    assert statuses(await scheduler(app, poster).run_once(at(1, 9, 1))) == ["posted"]


async def test_many_schedulers_at_once_post_exactly_one_digest(
    db_url: str, server: FeedServer
) -> None:
    apps = [await make_app(db_url) for _ in range(3)]
    try:
        await subscribe(apps[0], server, at(0, 20))
        poster = RecordingPoster()
        scheds = [scheduler(a, poster) for a in apps for _ in range(2)]
        results = await asyncio.gather(*(s.run_once(at(1, 9)) for s in scheds))
    finally:
        for a in apps:
            await a.aclose()
    assert sorted(o.status for r in results for o in r) == ["held"] * 5 + ["posted"]
    assert len(poster.posted) == 1


# --- across OS processes ------------------------------------------------------------

CHILD = """
import asyncio, json, sys
from datetime import datetime
from pathlib import Path
from bot.digest.scheduler import DigestScheduler
from tests.digest_support import FilePoster, make_app

class StallingPoster:
    '''Announces it is about to post, then waits to be killed.'''
    async def post_digest(self, channel_id, digest):
        print("posting", flush=True)
        await asyncio.sleep(3600)
        return "never"

async def main(db_url, now, out, label, mode):
    app = await make_app(db_url)
    poster = StallingPoster() if mode == "stall" else FilePoster(Path(out), label)
    sched = DigestScheduler(app, {"slack": poster}, poll_feeds=False)
    print("ready", flush=True)
    sys.stdin.readline()  # wait for "go", so the processes race
    outcomes = await sched.run_once(datetime.fromisoformat(now))
    print(json.dumps([o.status for o in outcomes]), flush=True)
    await app.aclose()

asyncio.run(main(*sys.argv[1:]))
"""


async def _spawn(db_url: str, now: datetime, out: Path, label: str, mode: str):  # type: ignore[no-untyped-def]
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        db_url,
        now.isoformat(),
        str(out),
        label,
        mode,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


async def _line(proc) -> bytes:  # type: ignore[no-untyped-def]
    return (await asyncio.wait_for(proc.stdout.readline(), 60)).strip()


def _posted(out: Path) -> list[dict]:  # type: ignore[type-arg]
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines()]


async def test_two_processes_at_the_same_due_time_post_exactly_one_digest(
    app: App, db_url: str, server: FeedServer, tmp_path: Path
) -> None:
    await subscribe(app, server, at(0, 20))
    out = tmp_path / "posted.jsonl"
    procs = [await _spawn(db_url, at(1, 9), out, f"p{i}", "post") for i in range(2)]
    try:
        for p in procs:
            assert await _line(p) == b"ready"
        for p in procs:
            p.stdin.write(b"go\n")
            await p.stdin.drain()
        results = [json.loads(await _line(p)) for p in procs]
        for p in procs:
            assert await asyncio.wait_for(p.wait(), 60) == 0
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
    assert sorted(r[0] for r in results) == ["held", "posted"]
    posted = _posted(out)
    assert len(posted) == 1 and posted[0]["channel"] == "C1"
    assert posted[0]["digest"]["day"] == "2026-11-24"


async def test_a_process_killed_between_building_and_posting_is_posted_once_after_restart(
    app: App, db_url: str, server: FeedServer, tmp_path: Path
) -> None:
    await subscribe(app, server, at(0, 20))
    out = tmp_path / "posted.jsonl"
    proc = await _spawn(db_url, at(1, 9), out, "doomed", "stall")
    try:
        assert await _line(proc) == b"ready"
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
        assert await _line(proc) == b"posting"  # built, fenced, about to call the platform
        proc.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(proc.wait(), 60) == -signal.SIGKILL
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    runs = await DigestStore(app.store).runs("slack", "C1")
    assert [(r.state, r.owner.split(":")[1]) for r in runs] == [("posting", str(proc.pid))]

    # Restarted: while the dead process's lease runs, nobody posts; after it, exactly once.
    lease = app.settings.digest_lease_s
    restarted = scheduler(app, FilePoster(out, "restarted"))
    assert statuses(await restarted.run_once(at(1, 9, 1))) == ["held"]
    after = at(1, 9) + timedelta(seconds=lease + 1)
    assert statuses(await restarted.run_once(after)) == ["posted"]
    assert statuses(await scheduler(app, FilePoster(out, "other")).run_once(after)) == ["held"]
    posted = _posted(out)
    assert len(posted) == 1 and posted[0]["by"] == "restarted"
    # The digest that was built before the kill, not a new one.
    digest = Digest.model_validate(posted[0]["digest"])
    assert digest.until == at(1, 9)
    assert len(digest.entries) == 3
    (run,) = await DigestStore(app.store).runs("slack", "C1")
    assert (run.state, run.message_id, run.attempts) == ("posted", "restarted-2026-11-24", 2)
