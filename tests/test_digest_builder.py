"""Building digests from real feeds over loopback: one story from three outlets is one
entry naming three sources; ranking; the cap on fresh briefs; rendering."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import App
from bot.digest.builder import Candidate, build_digest, cluster_stories, digest_title
from bot.digest.commands import handle_digest_command
from bot.digest.render import render_digest
from bot.render.discord import DESCRIPTION_LIMIT
from bot.render.slack import MAX_BLOCKS, SECTION_LIMIT
from bot.store.digests import DigestStore, record_shared_link
from tests.digest_support import WED, CountingSummarizer, items, make_app
from tests.servers.feed_server import (
    ATOM,
    JSON_FEED,
    RSS,
    FeedItem,
    FeedServer,
    atom_feed,
    json_feed,
    rss_feed,
)

ADDED = WED - timedelta(hours=3)
QUOTE = "the bridge will open to traffic in 2028 at the latest"
ARTICLE = (
    "The city council voted seven to two on Tuesday evening to approve the harbour bridge. "
    "The project has been debated for more than a decade and will cost 340 million euros.\n\n"
    f"Mayor Jane Roe said {QUOTE}. Opponents on the council warned about the budget, and "
    "residents of the old town asked for a noise study before construction starts.\n\n"
    "Construction is expected to begin next spring, once the last permits are signed."
)


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as srv:
        base = srv.base_url
        srv.set_article("bridge", "Council approves harbour bridge", ARTICLE)
        herald = [
            FeedItem(
                "bridge",
                "Council approves harbour bridge after long debate",
                f"Mayor Jane Roe said “{QUOTE}” after the vote.",
                ADDED - timedelta(hours=5),
            ),
            *items("herald", 2, ADDED),
        ]
        times = [
            FeedItem(
                "ignored",
                "What the vote means for commuters",
                "Traffic will change.",
                ADDED - timedelta(hours=4),
                link=f"{base}/articles/bridge?utm_source=atom&utm_medium=feed",
            ),
            *items("times", 2, ADDED),
        ]
        daily = [
            FeedItem(
                "crossing",
                "Officials back a new crossing",
                f'The mayor insisted "{QUOTE}" despite objections.',
                ADDED - timedelta(hours=2),
            ),
            *items("daily", 2, ADDED),
        ]
        srv.set_feed("herald", rss_feed("Harbour Herald", f"{base}/", herald, base), RSS)
        srv.set_feed("times", atom_feed("Atom Times", f"{base}/", times, base), ATOM)
        srv.set_feed("daily", json_feed("JSON Daily", f"{base}/", daily, base), JSON_FEED)
        yield srv


async def _subscribe(app: App, srv: FeedServer, channel: str = "C1") -> None:
    for name in ("herald", "times", "daily"):
        reply = await handle_digest_command(
            app, "slack", channel, f"add {srv.url('/feeds/' + name)}", clock=lambda: ADDED
        )
        assert reply.ok, reply.text


async def _build(app: App, channel: str = "C1", **kw: object):  # type: ignore[no-untyped-def]
    ch = await DigestStore(app.store).get_channel("slack", channel)
    assert ch is not None
    return await build_digest(
        app,
        ch,
        day="2026-11-25",
        title=digest_title(WED.date()),
        since=WED - timedelta(days=1),
        until=WED,
        **kw,  # type: ignore[arg-type]
    )


async def test_one_story_in_three_feeds_is_one_entry_naming_three_sources(
    db_url: str, server: FeedServer
) -> None:
    app = await make_app(db_url)
    try:
        await _subscribe(app, server)
        digest = await _build(app, llm_calls=0)
    finally:
        await app.aclose()
    assert digest.candidates == 9
    assert len(digest.entries) == 7  # the story once, and six unrelated items
    top = digest.entries[0]
    assert top.title == "Council approves harbour bridge after long debate"
    assert [s.name for s in top.sources] == ["Harbour Herald", "Atom Times", "JSON Daily"]
    assert top.url == server.url("/articles/bridge")
    assert all(len(e.sources) == 1 for e in digest.entries[1:])
    md = render_digest(digest).markdown
    assert "also covered by Atom Times, JSON Daily" in md


def test_titles_merge_only_when_nearly_the_same_headline() -> None:
    def cand(url: str, title: str) -> Candidate:
        return Candidate(url, url, title, "", url.split("/")[2], WED, WED)

    groups = cluster_stories(
        [
            cand("https://a.example/1", "Council approves harbour bridge after long debate"),
            cand("https://b.example/9", "Harbour bridge approved by council after long debate"),
            cand("https://c.example/3", "Weather report for Tuesday"),
            cand("https://d.example/4", "Weather report for Wednesday"),
            cand("https://e.example/5", "Update"),
            cand("https://f.example/6", "Update"),
        ]
    )
    assert sorted(len(g) for g in groups) == [1, 1, 1, 1, 2]


async def test_ranking_counts_sources_and_channel_shares(db_url: str, server: FeedServer) -> None:
    app = await make_app(db_url)
    try:
        await _subscribe(app, server)
        shared = server.url("/articles/herald-1")
        for hour in (1, 2):  # shared twice in the channel today
            await record_shared_link(app, "slack", "C1", shared, WED - timedelta(hours=hour))
        digest = await _build(app, llm_calls=0)
    finally:
        await app.aclose()
    assert [e.url for e in digest.entries[:2]] == [server.url("/articles/bridge"), shared]
    second = digest.entries[1]
    assert second.shares == 2
    # The channel's shares are a count, never an outlet ("also covered by shared in this channel").
    assert [s.name for s in second.sources] == ["Harbour Herald"]
    md = render_digest(digest).markdown
    assert "_Harbour Herald; shared 2× here_" in md
    assert "also covered by shared" not in md


async def test_the_cap_on_fresh_briefs_is_respected_and_cached_briefs_are_free(
    db_url: str, server: FeedServer
) -> None:
    summarizer = CountingSummarizer()
    app = await make_app(db_url, summarizer=summarizer, digest_llm_calls=2)
    try:
        await _subscribe(app, server)
        cached = await app.service.brief_url(server.url("/articles/herald-0"))
        assert summarizer.calls == 1
        summarizer.calls = 0
        digest = await _build(app)
        assert summarizer.calls == 2  # the cap, although seven entries lacked a line
        assert digest.summaries_made == 2
        modes = {e.url: e.line_mode for e in digest.entries}
        assert modes[cached.url] == "cached"
        assert list(modes.values()).count("summarized") == 2
        assert list(modes.values()).count("extractive") == 4
        top = digest.entries[0]
        assert top.line_mode == "summarized" and "bridge" in top.line.lower()
        # A second build finds those briefs cached: two more fresh ones, no more.
        summarizer.calls = 0
        again = await _build(app)
        assert summarizer.calls == 2
        assert [e.line_mode for e in again.entries].count("cached") == 3
    finally:
        await app.aclose()


async def test_rendering_fits_the_platforms_and_never_pings(db_url: str) -> None:
    from bot.digest.models import Digest, DigestEntry, SourceRef

    entries = [
        DigestEntry(
            title=f"@everyone <!channel> look at story {i} " + "x" * 400,
            url=f"https://news.example/{i}?a=<b>|c",
            line="Click [here](https://evil.example) @here " + "y" * 600,
            sources=[
                SourceRef(name=f"Outlet {j} @here", url="https://o.example") for j in range(6)
            ],
        )
        for i in range(40)
    ]
    now = datetime(2026, 11, 25, 9, tzinfo=UTC)
    digest = Digest(
        platform="slack",
        channel_id="C1",
        day="2026-11-25",
        title="Daily digest",
        since=now,
        until=now,
        entries=entries,
    )
    rendered = render_digest(digest)
    blocks = rendered.slack["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(t) <= SECTION_LIMIT for t in texts)
    embed = rendered.discord["embeds"][0]
    assert len(embed["description"]) <= DESCRIPTION_LIMIT
    everything = rendered.markdown + str(rendered.slack) + str(rendered.discord)
    assert "@everyone" not in everything and "<!channel>" not in everything
    assert "@here" not in everything
    assert "evil.example" not in everything and "https://evil" not in everything
    assert "https://news.example/0?a=%3Cb%3E%7Cc" in rendered.markdown


async def test_a_story_told_differently_merges_and_shows_where_outlets_disagree(
    db_url: str,
) -> None:
    async with FeedServer() as srv:
        base = srv.base_url
        ledger = [
            FeedItem(
                "seawall-ledger",
                "City council approves Front Street sea wall",
                "The council voted 5–2 on Tuesday night to build the $48m sea wall along Front "
                "Street, after Mayor Dana Whitcombe said the harbour could not wait.",
                ADDED - timedelta(hours=3),
            ),
            FeedItem(
                "parade",
                "Front Street parade route changes for the winter festival",
                "Organisers moved the parade away from Front Street shops to the old quay.",
                ADDED - timedelta(hours=2),
            ),
            *items("ledger", 2, ADDED),
        ]
        herald = [
            FeedItem(
                "seawall-herald",
                "Council OKs $52m harbour defence after late-night vote",
                "Councillors backed the Front Street sea wall 6–1 after midnight; Mayor Dana "
                "Whitcombe called the harbour defence overdue.",
                ADDED - timedelta(hours=1),
            ),
            *items("herald", 2, ADDED),
        ]
        srv.set_feed("ledger", rss_feed("Tidewater Ledger", f"{base}/", ledger, base), RSS)
        srv.set_feed("herald", atom_feed("Harbor Herald", f"{base}/", herald, base), ATOM)
        app = await make_app(db_url)
        try:
            for name in ("ledger", "herald"):
                reply = await handle_digest_command(
                    app, "slack", "C7", f"add {srv.url('/feeds/' + name)}", clock=lambda: ADDED
                )
                assert reply.ok, reply.text
            digest = await _build(app, "C7", llm_calls=0)
        finally:
            await app.aclose()
    top = digest.entries[0]
    assert [s.name for s in top.sources] == ["Tidewater Ledger", "Harbor Herald"]
    assert len(digest.entries) == 6  # the sea wall once; the parade on Front Street apart
    found = {d.kind: sorted(v.value for v in d.values) for d in top.disagreements}
    assert found == {"vote": ["5–2", "6–1"], "amount": ["$48m", "$52m"]}
    assert all(e.disagreements == [] for e in digest.entries[1:])
    md = render_digest(digest).markdown

    assert "⚖ Vote: 5–2 (Tidewater Ledger) · 6–1 (Harbor Herald)" in md
