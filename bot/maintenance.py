"""Housekeeping for long-running bots: forget what is no longer needed.

``linkbrief run`` calls ``run_maintenance`` beside the front ends. Once an
hour it drops cached briefs older than their TTL, exactly-once claims past
their expiry, pending work finished more than a week ago, and what follow-up
questions keep (``FollowupStore.purge``: articles after the brief TTL, thread
questions after 7 days, brief posts, votes and activity after 30). (Rate-limit
counters are purged by ``bot.limits`` itself.) SECURITY.md states these
retention periods.
"""

from __future__ import annotations

import asyncio
import logging

from bot.app import App

log = logging.getLogger(__name__)

INTERVAL_S = 3600.0
FINISHED_WORK_KEPT_S = 7 * 86400.0


async def purge_once(app: App) -> dict[str, int]:
    """One pass; returns how many rows of each kind were dropped."""
    store = app.store
    dropped = {
        "briefs": await store.purge_briefs(app.settings.brief_cache_ttl_s),
        "claims": await store.purge_claims(),
        "pending": await store.purge_pending(FINISHED_WORK_KEPT_S),
        # Issue 18: kept articles, thread questions, brief posts, votes, activity.
        **await app.followups.followups.purge(article_ttl_s=app.settings.brief_cache_ttl_s),
    }
    if any(dropped.values()):
        log.info("maintenance: dropped %s", dropped)
    return dropped


async def run_maintenance(app: App, interval_s: float = INTERVAL_S) -> None:
    """Purge now and then every ``interval_s`` until cancelled; a failure waits for the next."""
    while True:
        try:
            await purge_once(app)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("maintenance pass failed; trying again later")
        await asyncio.sleep(interval_s)
