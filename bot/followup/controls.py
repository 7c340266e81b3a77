"""The controls on every brief: Regenerate, Delete, thumbs up/down.

Regenerate is idempotent per click: the button carries the version of the
brief it was shown with, and the regeneration of ``(message, version)`` is an
exactly-once claim in the store (``Store.claim_once``). A double click — two
deliveries of the same button, in any process, at any interval — regenerates
once; the new brief goes out with version + 1, so a later deliberate click
regenerates again. The rebuild skips the brief cache (a fresh fetch and a new
summary), is charged to the workspace's budget, and replaces the cached brief.
If it fails the claim is released, so the person can click again.

Delete is allowed to the person who posted the link and to channel managers;
the front end says who is a manager (Slack admins/owners, Discord Manage
Messages) and deletes the message; the store marks the brief deleted so its
thread no longer takes questions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.errors import LinkbriefError
from bot.followup.service import FollowupService
from bot.limits import Limits
from bot.pipeline.contracts import BriefCache, TokenBudget
from bot.pipeline.models import Article, Brief
from bot.pipeline.urls import canonical_url
from bot.store import Store
from bot.store.followups import BriefPost, FollowupStore

log = logging.getLogger(__name__)

REGENERATE_LEASE_S = 15 * 60
Vote = Literal[1, -1]

GONE_TEXT = "That brief is gone (deleted, or from before I kept track of briefs)."
BUSY_TEXT = "That brief is already being regenerated; the new one replaces it in place."
DELETE_REFUSED_TEXT = (
    "Only the person who posted the link or a channel manager can delete this brief."
)


class BriefBuilder(Protocol):
    """What rebuilds a brief from an article (``BriefService.brief_article``)."""

    async def brief_article(
        self, article: Article, *, budget: TokenBudget | None = None
    ) -> Brief: ...


@dataclass(frozen=True, slots=True)
class Regenerated:
    """``brief`` is None when nothing was rebuilt; ``text`` then says why (for the clicker)."""

    brief: Brief | None
    version: int
    text: str = ""


def regenerate_key(post: BriefPost, version: int) -> str:
    return f"regen:{post.platform}:{post.channel_id}:{post.message_id}:v{version}"


class Controls:
    def __init__(
        self,
        *,
        store: Store,
        followups: FollowupStore,
        questions: FollowupService,
        builder: BriefBuilder,
        cache: BriefCache,
        limits: Limits,
    ) -> None:
        self._store = store
        self.followups = followups
        self._questions = questions
        self._builder = builder
        self._cache = cache
        self._limits = limits
        self.regenerations = 0  # briefs rebuilt here (tests: "a double click edits once")

    async def regenerate(
        self, *, platform: str, channel_id: str, message_id: str, version: int, user_id: str
    ) -> Regenerated:
        """Rebuild the brief shown as ``version``, once however often that button arrives.

        Raises a ``LinkbriefError`` (rate limit, the page can't be read...) after
        releasing the claim, so the person may click again.
        """
        post = await self.followups.get_post(platform, channel_id, message_id)
        if post is None or post.deleted:
            return Regenerated(None, version, GONE_TEXT)
        if version != post.version:
            return Regenerated(None, post.version, BUSY_TEXT)
        key = regenerate_key(post, version)
        if not await self._store.claim_once(key, ttl_s=REGENERATE_LEASE_S):
            return Regenerated(None, version, BUSY_TEXT)
        try:
            await self._limits.check_brief(platform=platform, team_id=post.team_id,
                                           channel_id=channel_id, user_id=user_id)  # fmt: skip
            article = await self._questions.article_for(post.url, fresh=True)
            budget = _Metered(self._limits.budget(platform=platform, team_id=post.team_id))
            brief = await self._builder.brief_article(article, budget=budget)
            brief = brief.model_copy(update={"url": post.url})
            await self._cache.put_brief(brief, key=canonical_url(post.url))
            if not await self.followups.bump_version(post):  # cannot happen while we hold key
                log.warning("regenerate: version moved under a held claim")
        except BaseException:
            await self._store.release(key)
            raise
        self.regenerations += 1
        await self._questions.record_brief(platform=platform, team_id=post.team_id,
                                           url=post.url, brief=brief,
                                           tokens=budget.spent)  # fmt: skip
        return Regenerated(brief, version + 1)

    async def may_delete(
        self, *, platform: str, channel_id: str, message_id: str, user_id: str, is_manager: bool
    ) -> tuple[BriefPost | None, str]:
        """The post to delete, or None and the reason to tell the person."""
        post = await self.followups.get_post(platform, channel_id, message_id)
        if post is None or post.deleted:
            return None, GONE_TEXT
        if user_id != post.poster_id and not is_manager:
            return None, DELETE_REFUSED_TEXT
        return post, ""

    async def deleted(self, post: BriefPost) -> None:
        await self.followups.mark_deleted(post)

    async def vote(
        self, *, platform: str, channel_id: str, message_id: str, user_id: str, vote: int
    ) -> tuple[int, int] | None:
        """Record a vote; the brief's (up, down) counts, or None if it is not ours."""
        post = await self.followups.get_post(platform, channel_id, message_id)
        if post is None or post.deleted:
            return None
        await self.followups.vote(post, user_id, vote)
        return await self.followups.votes(post)


class _Metered:
    """A budget that remembers what was charged through it (what this rebuild cost)."""

    def __init__(self, inner: TokenBudget) -> None:
        self._inner = inner
        self.spent = 0

    async def remaining(self) -> int | None:
        return await self._inner.remaining()

    async def spend(self, tokens: int) -> None:
        self.spent += tokens
        await self._inner.spend(tokens)


def metered(budget: TokenBudget) -> _Metered:
    return _Metered(budget)


__all__ = ["Controls", "LinkbriefError", "Regenerated", "metered"]
