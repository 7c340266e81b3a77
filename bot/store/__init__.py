"""The store: the only part of linkbrief that talks SQL.

``await Store.open(settings.database_url)`` connects (SQLite file by default,
PostgreSQL for several processes) and runs the migrations; the ``Store`` then
caches briefs, records exactly-once claims and pending work, and keeps
per-channel settings and counters.
"""

from bot.store import (
    digest_tables,  # noqa: F401  (registers the digest tables on Base.metadata)
    followup_tables,  # noqa: F401  (registers the follow-up tables, issue 18)
)
from bot.store.store import ChannelSettings, Store

__all__ = ["ChannelSettings", "Store"]
