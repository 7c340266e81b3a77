"""The digest run ledger: one digest per (channel, delivery day), posted once.

The row keyed (platform, channel, day) is the idempotency key, and claiming it
is the decision to post: ``INSERT … ON CONFLICT … DO UPDATE … WHERE the lease
has expired RETURNING`` is one statement, so of any number of processes exactly
one gets a row back. Every later step is an ``UPDATE … WHERE owner = me AND
lease unexpired`` (a fence), so a process that stalled past its lease cannot
post over the one that took the run over.

    building ──► built (payload stored) ──► posting ──► posted
        └── (nothing new) ──────────────────────────► posted, no message
    skipped: a delivery day that passed while no process was up
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import insert_for
from bot.store.digest_tables import DigestRunRow

OPEN_STATES = ("building", "built", "posting")  # a run someone is (or was) working on
DONE_STATES = ("posted", "skipped")


@dataclass(frozen=True, slots=True)
class RunClaim:
    """A run this owner now holds; ``state`` is the state before the claim."""

    platform: str
    channel_id: str
    day: str
    state: str
    payload: dict[str, Any] | None
    attempts: int


@dataclass(frozen=True, slots=True)
class RunRecord:
    day: str
    state: str
    owner: str
    message_id: str | None
    attempts: int
    due_at: datetime
    posted_at: datetime | None


def _held_by(claim: RunClaim, owner: str) -> tuple[ColumnElement[bool], ...]:
    """The conditions naming ``claim``'s run row as held by ``owner``."""
    return (
        DigestRunRow.platform == claim.platform,
        DigestRunRow.channel_id == claim.channel_id,
        DigestRunRow.day == claim.day,
        DigestRunRow.owner == owner,
    )


class DigestRunLedger:
    """The run ledger's SQL; ``DigestStore`` inherits it."""

    _engine: AsyncEngine

    async def claim_run(
        self,
        platform: str,
        channel_id: str,
        day: str,
        *,
        due_at: datetime,
        owner: str,
        lease_s: float,
        now: datetime,
    ) -> RunClaim | None:
        """Take the (channel, day) run, or take it over if its holder's lease expired.

        One statement, so one transaction: the row is both the idempotency key
        and the decision. None means someone else holds it, or it is done.
        """
        lease = now + timedelta(seconds=lease_s)
        async with self._engine.begin() as conn:
            stmt = insert_for(conn, DigestRunRow).values(
                platform=platform,
                channel_id=channel_id,
                day=day,
                state="building",
                owner=owner,
                lease_expires_at=lease,
                due_at=due_at,
                attempts=1,
                created_at=now,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[DigestRunRow.platform, DigestRunRow.channel_id, DigestRunRow.day],
                set_={
                    "owner": owner,
                    "lease_expires_at": lease,
                    "attempts": DigestRunRow.attempts + 1,
                },
                where=and_(
                    DigestRunRow.state.in_(OPEN_STATES), DigestRunRow.lease_expires_at <= now
                ),
            ).returning(DigestRunRow.state, DigestRunRow.payload, DigestRunRow.attempts)
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        return RunClaim(platform, channel_id, day, row.state, row.payload, row.attempts)

    async def _transition(
        self,
        claim: RunClaim,
        owner: str,
        *,
        from_states: Iterable[str],
        now: datetime,
        values: dict[str, Any],
    ) -> bool:
        """Move the run on, only if ``owner`` still holds an unexpired lease (the fence)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(DigestRunRow)
                .where(
                    *_held_by(claim, owner),
                    DigestRunRow.state.in_(tuple(from_states)),
                    DigestRunRow.lease_expires_at > now,
                )
                .values(**values)
            )
        return result.rowcount == 1

    async def save_built(
        self,
        claim: RunClaim,
        owner: str,
        payload: dict[str, Any],
        *,
        since: datetime,
        until: datetime,
        now: datetime,
        lease_s: float,
    ) -> bool:
        return await self._transition(
            claim,
            owner,
            from_states=("building",),
            now=now,
            values={
                "state": "built",
                "payload": payload,
                "since": since,
                "until": until,
                "lease_expires_at": now + timedelta(seconds=lease_s),
            },
        )

    async def begin_posting(
        self, claim: RunClaim, owner: str, *, now: datetime, lease_s: float
    ) -> bool:
        """The last check before the platform call: still ours, lease renewed."""
        return await self._transition(
            claim,
            owner,
            from_states=("built", "posting"),
            now=now,
            values={"state": "posting", "lease_expires_at": now + timedelta(seconds=lease_s)},
        )

    async def mark_posted(
        self, claim: RunClaim, owner: str, message_id: str, *, now: datetime
    ) -> bool:
        """Record the platform's message id. Not fenced by the lease: the post happened."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(DigestRunRow)
                .where(
                    *_held_by(claim, owner),
                    DigestRunRow.state == "posting",
                )
                .values(state="posted", message_id=message_id, posted_at=now)
            )
        return result.rowcount == 1

    async def retry_later(
        self, claim: RunClaim, owner: str, *, now: datetime, retry_s: float
    ) -> None:
        """Building or posting failed: keep the state, let anyone retake it after ``retry_s``."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(DigestRunRow)
                .where(
                    *_held_by(claim, owner),
                    DigestRunRow.state.in_(OPEN_STATES),
                )
                .values(lease_expires_at=now + timedelta(seconds=retry_s))
            )

    async def record_skipped(
        self, platform: str, channel_id: str, day: str, *, due_at: datetime, now: datetime
    ) -> bool:
        """A delivery day that passed unsent: recorded so it is never sent late."""
        async with self._engine.begin() as conn:
            stmt = (
                insert_for(conn, DigestRunRow)
                .values(
                    platform=platform,
                    channel_id=channel_id,
                    day=day,
                    state="skipped",
                    owner="",
                    lease_expires_at=now,
                    due_at=due_at,
                    attempts=0,
                    created_at=now,
                )
                .on_conflict_do_nothing()
                .returning(DigestRunRow.day)
            )
            return (await conn.execute(stmt)).first() is not None

    async def last_posted_until(self, platform: str, channel_id: str) -> datetime | None:
        """Where the channel's previous digest stopped: the next one starts there."""
        query = select(func.max(DigestRunRow.until)).where(
            DigestRunRow.platform == platform,
            DigestRunRow.channel_id == channel_id,
            DigestRunRow.state == "posted",
        )
        async with self._engine.connect() as conn:
            return (await conn.execute(query)).scalar_one_or_none()

    async def runs(self, platform: str, channel_id: str) -> list[RunRecord]:
        query = (
            select(DigestRunRow)
            .where(DigestRunRow.platform == platform, DigestRunRow.channel_id == channel_id)
            .order_by(DigestRunRow.day)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            RunRecord(r.day, r.state, r.owner, r.message_id, r.attempts, r.due_at, r.posted_at)
            for r in rows
        ]
