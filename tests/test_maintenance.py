"""Housekeeping drops expired briefs, claims and old finished work, and keeps the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from bot.app import build_app
from bot.config import load_settings
from bot.maintenance import purge_once
from bot.pipeline.models import Brief
from bot.store.tables import BriefRow


async def test_purge_drops_only_what_has_expired(tmp_path: Path) -> None:
    settings = load_settings(
        None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'lb.db'}", brief_cache_ttl_s=3600
    )
    app = await build_app(settings)
    try:
        store = app.store
        await store.put_brief(Brief(url="https://a.example/", canonical_url="https://a.example/"))
        await store.put_brief(Brief(url="https://b.example/", canonical_url="https://b.example/"))
        # Age one brief past the TTL, as if it had been cached two hours ago.
        async with store.engine.begin() as conn:
            old = datetime.now(UTC) - timedelta(hours=2)
            await conn.execute(
                update(BriefRow).where(BriefRow.canonical_url == "https://a.example/")
                .values(created_at=old)
            )  # fmt: skip
        assert await store.claim_once("k-expired", ttl_s=0.0)
        assert await store.claim_once("k-live")
        assert await store.add_pending("p-open", {"kind": "x"})

        dropped = await purge_once(app)

        assert dropped["briefs"] == 1 and dropped["claims"] == 1
        assert await store.get_brief("https://b.example/", 3600) is not None
        assert not await store.claim_once("k-live")  # still held
        assert [key for key, _ in await store.pending()] == ["p-open"]  # unfinished work stays
    finally:
        await app.aclose()
