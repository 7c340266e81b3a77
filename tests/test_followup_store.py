"""The follow-up tables on every backend (SQLite; PostgreSQL when LINKBRIEF_TEST_PG_URL is
set): article copies expire, one vote per person, a version moves once, thread turns in
order, activity totals per window and team, and housekeeping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.pipeline.models import Article
from bot.store import Store
from bot.store.followups import FollowupStore

POST = {"platform": "slack", "channel_id": "C1", "message_id": "111.1", "thread_id": "100.0",
        "team_id": "T1", "poster_id": "U1", "url": "https://example.org/a"}  # fmt: skip


TURN = {"platform": "slack", "team_id": "T1", "channel_id": "C1", "domain": "e.org", "tokens": 0}


async def test_articles_are_kept_and_expire(store: Store) -> None:
    f = FollowupStore(store)
    article = Article(url="https://e.org/a", canonical_url="https://e.org/a", text="Hello.",
                      title="T", links=["https://e.org/b"])  # fmt: skip
    await f.put_article("https://e.org/a", article)
    assert await f.get_article("https://e.org/a", 60) == article
    assert await f.get_article("https://e.org/a", -1) is None  # expired
    assert await f.get_article("https://e.org/other", 60) is None


async def test_posts_votes_and_versions(store: Store) -> None:
    f = FollowupStore(store)
    await f.record_post(**POST)
    await f.record_post(**POST)  # recorded twice: still one post
    post = await f.post_for_thread("slack", "C1", "100.0")
    assert post is not None and post.version == 0
    assert await f.post_for_thread("slack", "C1", "111.1") == post  # the brief's own thread
    assert await f.post_for_thread("slack", "C2", "100.0") is None
    moved = await asyncio.gather(f.bump_version(post), f.bump_version(post))
    assert sorted(moved) == [False, True]  # one caller moves a version
    for user, vote in (("U1", 1), ("U2", 1), ("U2", -1)):
        await f.vote(post, user, vote)
    assert await f.votes(post) == (1, 1)
    await f.mark_deleted(post)
    assert await f.post_for_thread("slack", "C1", "100.0") is None


async def test_turns_come_back_oldest_first(store: Store) -> None:
    f = FollowupStore(store)
    for i in range(5):
        await f.record_question(**TURN, thread_id="t", question=f"q{i}", answer=f"a{i}")
    await f.record_question(**TURN, thread_id="other", question="x", answer="y")
    turns = await f.recent_turns("slack", "C1", "t", 3)
    assert [t.question for t in turns] == ["q2", "q3", "q4"]


async def test_activity_totals_per_team_and_window(store: Store) -> None:
    f = FollowupStore(store)
    now = datetime.now(UTC)
    old = now - timedelta(days=3)
    rows = [
        ("T1", "brief", "a.org", 100, 4, 1, now), ("T1", "brief", "b.org", 50, 2, 2, old),
        ("T1", "question", "a.org", 10, 0, 0, now), ("T1", "failure", "bad.org", 0, 0, 0, now),
        ("T1", "failure", "bad.org", 0, 0, 0, old), ("T1", "failure", "x.org", 0, 0, 0, old),
        ("T2", "brief", "a.org", 999, 9, 9, now),
    ]  # fmt: skip
    for team, kind, domain, tokens, total, withheld, at in rows:
        await f.record_activity(platform="slack", team_id=team, kind=kind, domain=domain,
                                tokens=tokens, claims_total=total, claims_withheld=withheld,
                                at=at)  # fmt: skip
    today = await f.totals("slack", "T1", now - timedelta(hours=1))
    week = await f.totals("slack", "T1", now - timedelta(days=7))
    assert (today.briefs, today.questions, today.failures, today.tokens) == (1, 1, 1, 110)
    assert (today.claims_total, today.claims_withheld) == (4, 1)
    assert (week.briefs, week.failures, week.tokens) == (2, 3, 160)
    assert (week.claims_total, week.claims_withheld) == (6, 3)
    assert week.failed_domains == (("bad.org", 2), ("x.org", 1))


async def test_housekeeping_drops_only_what_is_old(store: Store) -> None:
    f = FollowupStore(store)
    await f.put_article("k", Article(url="k", canonical_url="k", text="t"))
    await f.record_question(**TURN, thread_id="t", question="q", answer="a")
    await f.record_post(**POST)
    await f.record_activity(platform="slack", team_id="T1", kind="brief",
                            at=datetime.now(UTC) - timedelta(days=31))  # fmt: skip
    dropped = await f.purge(article_ttl_s=3600)
    assert dropped == {"articles": 0, "turns": 0, "brief_posts": 0, "feedback": 0, "activity": 1}
    # (the question's own activity row is new: kept)
    dropped = await f.purge(article_ttl_s=-1)
    assert dropped["articles"] == 1
