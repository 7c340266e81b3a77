"""The SQL of talking to a brief: article cache, brief posts, votes, thread turns, activity.

``FollowupStore(store)`` runs every statement through ``Store.write``/``read``
(one transaction each, retried like the rest of the store). Decisions that must
hold across processes are single statements: a vote is one upsert, a version
bump is ``UPDATE … WHERE version = seen`` (at most one caller moves it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, and_, case, delete, func, or_, select, update

from bot.pipeline.models import Article
from bot.store.db import insert_for
from bot.store.followup_tables import (
    ActivityRow,
    ArticleRow,
    BriefPostRow,
    FeedbackRow,
    TurnRow,
)
from bot.store.retry import retrying
from bot.store.store import Store
from bot.store.tables import digest

MAX_TURN_CHARS = 4000  # what a stored question or answer keeps
# Questions and answers are people's words: kept only as context for the thread's next
# question. Brief posts (their controls), votes and activity serve /linkbrief stats (7 days).
TURNS_KEPT = timedelta(days=7)
RECORDS_KEPT = timedelta(days=30)
MAX_DOMAIN = 255


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class BriefPost:
    platform: str
    channel_id: str
    message_id: str
    thread_id: str
    team_id: str
    poster_id: str
    url: str
    version: int
    deleted: bool


@dataclass(frozen=True, slots=True)
class Turn:
    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class ActivityTotals:
    """One workspace's activity over one window."""

    briefs: int = 0
    questions: int = 0
    failures: int = 0
    tokens: int = 0
    claims_total: int = 0
    claims_withheld: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    failed_domains: tuple[tuple[str, int], ...] = ()


class FollowupStore:
    """Everything issue 18 keeps, over the shared ``Store``."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # --- the article behind a brief ------------------------------------------------

    @retrying
    async def put_article(self, key: str, article: Article) -> None:
        """Keep ``article`` under the canonical link ``key``, replacing an older copy."""
        values = {
            "url_hash": digest(key),
            "canonical_url": key,
            "data": _article_data(article),
            "created_at": _now(),
        }

        def put(conn: Connection) -> None:
            stmt = insert_for(conn, ArticleRow).values(**values)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[ArticleRow.url_hash],
                    set_={"data": stmt.excluded.data, "created_at": stmt.excluded.created_at},
                )
            )

        await self._store.write(put)

    @retrying
    async def get_article(self, key: str, max_age_s: float) -> Article | None:
        """The article kept under ``key`` if younger than ``max_age_s``."""
        cutoff = _ago(max_age_s)
        query = select(ArticleRow.data).where(
            ArticleRow.url_hash == digest(key), ArticleRow.created_at > cutoff
        )
        data = await self._store.read(lambda conn: conn.execute(query).scalar_one_or_none())
        if data is None:
            return None
        try:
            return Article(**data)
        except (TypeError, ValidationError):
            return None  # written by another version: a miss, the page is fetched again

    # --- posted briefs ----------------------------------------------------------------

    @retrying
    async def record_post(
        self,
        *,
        platform: str,
        channel_id: str,
        message_id: str,
        thread_id: str,
        team_id: str,
        poster_id: str,
        url: str,
    ) -> None:
        """Remember a brief we posted (a second record of the same message changes nothing)."""
        now = _now()
        values = {
            "platform": platform, "channel_id": channel_id, "message_id": message_id,
            "thread_id": thread_id or message_id, "team_id": team_id, "poster_id": poster_id,
            "url": url, "version": 0, "deleted": False, "created_at": now, "updated_at": now,
        }  # fmt: skip

        def put(conn: Connection) -> None:
            stmt = insert_for(conn, BriefPostRow).values(**values)
            conn.execute(stmt.on_conflict_do_nothing())

        await self._store.write(put)

    @retrying
    async def get_post(self, platform: str, channel_id: str, message_id: str) -> BriefPost | None:
        query = select(BriefPostRow).where(
            BriefPostRow.platform == platform,
            BriefPostRow.channel_id == channel_id,
            BriefPostRow.message_id == message_id,
        )
        row = await self._store.read(lambda conn: conn.execute(query).first())
        return _post(row) if row is not None else None

    @retrying
    async def post_for_thread(
        self, platform: str, channel_id: str, thread_id: str
    ) -> BriefPost | None:
        """The latest live brief in a thread (or the brief that starts it)."""
        query = (
            select(BriefPostRow)
            .where(
                BriefPostRow.platform == platform,
                BriefPostRow.channel_id == channel_id,
                or_(BriefPostRow.thread_id == thread_id, BriefPostRow.message_id == thread_id),
                BriefPostRow.deleted.is_(False),
            )
            .order_by(BriefPostRow.created_at.desc())
            .limit(1)
        )
        row = await self._store.read(lambda conn: conn.execute(query).first())
        return _post(row) if row is not None else None

    @retrying
    async def bump_version(self, post: BriefPost) -> bool:
        """Move the post from the version it had to the next; False if someone else did."""
        stmt = (
            update(BriefPostRow)
            .where(*_post_key(post), BriefPostRow.version == post.version)
            .values(version=post.version + 1, updated_at=_now())
        )
        return await self._store.write(lambda conn: conn.execute(stmt).rowcount == 1)

    @retrying
    async def mark_deleted(self, post: BriefPost) -> None:
        stmt = update(BriefPostRow).where(*_post_key(post)).values(deleted=True, updated_at=_now())
        await self._store.write(lambda conn: conn.execute(stmt))

    # --- feedback -----------------------------------------------------------------------

    @retrying
    async def vote(self, post: BriefPost, user_id: str, vote: int) -> None:
        """One vote per person per brief; voting again replaces it."""
        values = {
            "platform": post.platform, "channel_id": post.channel_id,
            "message_id": post.message_id, "user_id": user_id, "team_id": post.team_id,
            "vote": 1 if vote > 0 else -1, "voted_at": _now(),
        }  # fmt: skip

        def put(conn: Connection) -> None:
            stmt = insert_for(conn, FeedbackRow).values(**values)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[
                        FeedbackRow.platform,
                        FeedbackRow.channel_id,
                        FeedbackRow.message_id,
                        FeedbackRow.user_id,
                    ],
                    set_={"vote": stmt.excluded.vote, "voted_at": stmt.excluded.voted_at},
                )
            )

        await self._store.write(put)

    @retrying
    async def votes(self, post: BriefPost) -> tuple[int, int]:
        """(thumbs up, thumbs down) on one brief."""
        query = select(
            func.count().filter(FeedbackRow.vote > 0), func.count().filter(FeedbackRow.vote < 0)
        ).where(
            FeedbackRow.platform == post.platform,
            FeedbackRow.channel_id == post.channel_id,
            FeedbackRow.message_id == post.message_id,
        )
        row = await self._store.read(lambda conn: conn.execute(query).one())
        return int(row[0] or 0), int(row[1] or 0)

    # --- thread turns ------------------------------------------------------------------

    @retrying
    async def recent_turns(
        self, platform: str, channel_id: str, thread_id: str, limit: int
    ) -> list[Turn]:
        """The thread's last ``limit`` turns, oldest first."""
        query = (
            select(TurnRow.question, TurnRow.answer)
            .where(
                TurnRow.platform == platform,
                TurnRow.channel_id == channel_id,
                TurnRow.thread_id == thread_id,
            )
            .order_by(TurnRow.id.desc())
            .limit(limit)
        )
        rows = await self._store.read(lambda conn: conn.execute(query).all())
        return [Turn(q, a) for q, a in reversed(rows)]

    @retrying
    async def record_question(
        self,
        *,
        platform: str,
        team_id: str,
        channel_id: str,
        thread_id: str,
        question: str,
        answer: str,
        domain: str,
        tokens: int,
    ) -> None:
        """The thread's new turn and its activity row, in one transaction."""
        now = _now()
        turn = {
            "platform": platform, "channel_id": channel_id, "thread_id": thread_id,
            "question": question[:MAX_TURN_CHARS], "answer": answer[:MAX_TURN_CHARS],
            "asked_at": now,
        }  # fmt: skip
        activity = {
            "platform": platform, "team_id": team_id, "kind": "question",
            "domain": domain[:MAX_DOMAIN], "error_kind": "", "tokens": tokens,
            "claims_total": 0, "claims_withheld": 0, "at": now,
        }  # fmt: skip

        def write(conn: Connection) -> None:
            conn.execute(insert_for(conn, TurnRow).values(turn))
            conn.execute(insert_for(conn, ActivityRow).values(activity))

        await self._store.write(write)

    # --- activity and stats ---------------------------------------------------------------

    @retrying
    async def record_activity(
        self,
        *,
        platform: str,
        team_id: str,
        kind: str,
        domain: str = "",
        error_kind: str = "",
        tokens: int = 0,
        claims_total: int = 0,
        claims_withheld: int = 0,
        at: datetime | None = None,
    ) -> None:
        values = {
            "platform": platform, "team_id": team_id, "kind": kind,
            "domain": domain[:MAX_DOMAIN], "error_kind": error_kind[:64], "tokens": tokens,
            "claims_total": claims_total, "claims_withheld": claims_withheld,
            "at": at or _now(),
        }  # fmt: skip
        await self._store.write(
            lambda conn: conn.execute(insert_for(conn, ActivityRow).values(values))
        )

    @retrying
    async def totals(
        self, platform: str, team_id: str, since: datetime, *, top_domains: int = 3
    ) -> ActivityTotals:
        """What the workspace saw since ``since``."""

        def read(conn: Connection) -> ActivityTotals:
            a = ActivityRow
            mine = and_(a.platform == platform, a.team_id == team_id, a.at >= since)
            counts = conn.execute(
                select(
                    func.count().filter(a.kind == "brief"),
                    func.count().filter(a.kind == "question"),
                    func.count().filter(a.kind == "failure"),
                    func.coalesce(func.sum(a.tokens), 0),
                    func.coalesce(func.sum(case((a.kind == "brief", a.claims_total), else_=0)), 0),
                    func.coalesce(
                        func.sum(case((a.kind == "brief", a.claims_withheld), else_=0)), 0
                    ),
                ).where(mine)
            ).one()
            failed = conn.execute(
                select(a.domain, func.count().label("n"))
                .where(mine, a.kind == "failure", a.domain != "")
                .group_by(a.domain)
                .order_by(func.count().desc(), a.domain)
                .limit(top_domains)
            ).all()
            f = FeedbackRow
            votes = conn.execute(
                select(func.count().filter(f.vote > 0), func.count().filter(f.vote < 0)).where(
                    f.platform == platform, f.team_id == team_id, f.voted_at >= since
                )
            ).one()
            return ActivityTotals(
                briefs=int(counts[0]), questions=int(counts[1]), failures=int(counts[2]),
                tokens=int(counts[3]), claims_total=int(counts[4]),
                claims_withheld=int(counts[5]), thumbs_up=int(votes[0] or 0),
                thumbs_down=int(votes[1] or 0),
                failed_domains=tuple((str(d), int(n)) for d, n in failed),
            )  # fmt: skip

        return await self._store.read(read)

    async def purge(self, *, article_ttl_s: float) -> dict[str, int]:
        """Housekeeping: articles past their TTL, thread turns after ``TURNS_KEPT``, brief posts,
        votes and activity after ``RECORDS_KEPT``; returns how many rows of each went."""
        turns_cutoff, cutoff = _now() - TURNS_KEPT, _now() - RECORDS_KEPT
        statements = {
            "articles": delete(ArticleRow).where(ArticleRow.created_at < _ago(article_ttl_s)),
            "turns": delete(TurnRow).where(TurnRow.asked_at < turns_cutoff),
            "brief_posts": delete(BriefPostRow).where(BriefPostRow.created_at < cutoff),
            "feedback": delete(FeedbackRow).where(FeedbackRow.voted_at < cutoff),
            "activity": delete(ActivityRow).where(ActivityRow.at < cutoff),
        }

        def run(conn: Connection) -> dict[str, int]:
            return {name: conn.execute(stmt).rowcount for name, stmt in statements.items()}

        return await self._store.write(run)


def _ago(seconds: float) -> datetime:
    try:
        return _now() - timedelta(seconds=seconds)
    except OverflowError:
        return datetime(1970, 1, 1, tzinfo=UTC)


def _article_data(article: Article) -> dict[str, Any]:
    fields: Iterable[str] = Article.__dataclass_fields__
    return {name: getattr(article, name) for name in fields}


def _post(row: Any) -> BriefPost:
    r = row
    return BriefPost(
        platform=r.platform, channel_id=r.channel_id, message_id=r.message_id,
        thread_id=r.thread_id, team_id=r.team_id, poster_id=r.poster_id, url=r.url,
        version=r.version, deleted=bool(r.deleted),
    )  # fmt: skip


def _post_key(post: BriefPost) -> list[Any]:
    return [
        BriefPostRow.platform == post.platform,
        BriefPostRow.channel_id == post.channel_id,
        BriefPostRow.message_id == post.message_id,
    ]
