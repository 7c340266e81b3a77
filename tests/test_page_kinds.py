"""Links that are not plain articles, briefed end to end: the brief service over the safe
fetcher and the local article server, with the extractive summarizer and real SQLite.

Hacker News and Reddit threads (the linked article fetched through the same guard, plus
"What the thread says"), YouTube watch pages (description and captions), pages that
render their article from data, and the article's picture.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import build_app
from bot.errors import BlockedAddress
from bot.pipeline.follow import LINKED_UNREADABLE
from bot.pipeline.models import Brief
from bot.pipeline.page_kinds import THREAD_NOTE
from bot.pipeline.rendered import FROM_APP_DATA, FROM_DESCRIPTION, FROM_LD
from bot.pipeline.video import CAPTIONS_UNREADABLE, captions_text
from bot.render.discord import render_discord
from bot.render.markdown import render_markdown
from bot.render.slack import render_slack
from tests.app_support import local_settings
from tests.servers.article_server import PAGES_DIR as PAGES
from tests.servers.article_server import ArticleServer


async def _brief(tmp_path: Path, srv: ArticleServer, path: str) -> Brief:
    app = await build_app(local_settings(tmp_path))
    try:
        return await app.service.brief_url(srv.url(path))
    finally:
        await app.aclose()


async def test_a_hacker_news_item_is_briefed_as_its_article_plus_what_the_thread_says(
    tmp_path: Path,
) -> None:
    async with ArticleServer(host="127.0.0.2") as srv:
        brief = await _brief(tmp_path, srv, "/pages/hn_item.html")
        assert srv.hits["/pages/example_article.html"] == 1  # the linked article, fetched once
    assert brief.kind == "discussion"
    assert brief.url.endswith("/pages/hn_item.html")
    assert brief.title.startswith("Is Russia pulling back")  # the linked article's title
    assert THREAD_NOTE.format(site="Hacker News") in brief.warnings
    # the summary and claims come from the article, not from the comments
    assert any(c.speaker in {"Fomin", "Medinsky", "Zelensky", "Podolyak"} for c in brief.claims)
    assert "tptacek" not in brief.summary
    # three points by three different commenters, replies and one-word comments left out
    assert [p.commenter for p in brief.thread] == ["tptacek", "mjevans", "Animats"]
    assert all(p.verified for p in brief.thread)
    assert brief.thread[0].quote.startswith("The interesting part is how carefully ISW")
    # a quoted line ("> a pullback announced...") is not the commenter's own words
    assert brief.thread[2].quote.startswith("Historically these announcements")


async def test_a_thread_linking_a_blocked_address_is_briefed_from_the_thread(
    tmp_path: Path,
) -> None:
    async with ArticleServer(host="127.0.0.2") as srv:
        brief = await _brief(tmp_path, srv, "/pages/hn_item_blocked_link.html")
    assert brief.kind == "discussion"
    notes = [w for w in brief.warnings if w.startswith(LINKED_UNREADABLE.split("(")[0])]
    assert notes, brief.warnings
    assert "169.254.169.254" not in brief.summary
    assert brief.thread and all(p.verified for p in brief.thread)


async def test_a_reddit_thread_skips_deleted_comments_and_reads_the_linked_page(
    tmp_path: Path,
) -> None:
    async with ArticleServer(host="127.0.0.2") as srv:
        brief = await _brief(tmp_path, srv, "/pages/reddit_thread.html")
        assert srv.hits["/pages/water_report.html"] == 1
    assert brief.kind == "discussion"
    assert brief.title == "Lead line replacement: the year in review"
    assert "14 miles" in brief.summary
    assert [p.commenter for p in brief.thread] == [
        "BureaucratWatch",
        "skeptical_ratepayer",
        "hydrologist_k",
    ]
    # the linked page's picture, not the thread's
    assert brief.image == "https://eastvale.example/img/trench.jpg"


async def test_a_youtube_page_is_briefed_from_description_and_human_captions(
    tmp_path: Path,
) -> None:
    async with ArticleServer(host="127.0.0.2") as srv:
        brief = await _brief(tmp_path, srv, "/pages/youtube_watch.html")
        assert srv.hits["/pages/yt_captions.timedtext"] == 1
        assert srv.hits["/pages/yt_captions_asr.timedtext"] == 0  # human-made track preferred
    assert brief.kind == "video"
    assert brief.title == "How one city replaced 14 miles of lead pipe in a year"
    assert brief.author == "Public Works Weekly"
    assert brief.image == "https://i.ytimg.com/vi/q3XnG1cL7pE/maxresdefault.jpg"
    assert any("captions (en)" in w for w in brief.warnings)
    # claims quoted from the captions, verified like any quote
    transcript = captions_text((PAGES / "yt_captions.timedtext").read_bytes())
    assert "&#39;" not in transcript and "board's engineers" in transcript
    from_captions = [c for c in brief.verified_claims if c.quote in transcript]
    assert from_captions, [c.quote for c in brief.claims]


async def test_caption_tracks_on_a_private_address_are_refused_and_said_so(
    tmp_path: Path,
) -> None:
    async with ArticleServer(host="127.0.0.2") as srv:
        brief = await _brief(tmp_path, srv, "/pages/youtube_watch_private_captions.html")
    assert brief.kind == "video"
    assert CAPTIONS_UNREADABLE in brief.warnings
    assert brief.summary  # still briefed, from the description


async def test_pages_rendered_from_data_are_read_from_their_data_and_say_so(
    tmp_path: Path,
) -> None:
    async with ArticleServer(host="127.0.0.2") as srv:
        app = await build_app(local_settings(tmp_path))
        try:
            briefs = {
                name: await app.service.brief_url(srv.url(f"/pages/{name}.html"))
                for name in ("nextjs_article", "jsonld_article", "og_description_only")
            }
        finally:
            await app.aclose()
    assert FROM_APP_DATA in briefs["nextjs_article"].warnings
    assert FROM_LD in briefs["jsonld_article"].warnings
    assert FROM_DESCRIPTION in briefs["og_description_only"].warnings
    for brief in briefs.values():
        assert "Riverside" in brief.summary
    assert any("Ruiz" in c.speaker for c in briefs["nextjs_article"].verified_claims)


async def test_the_image_is_the_thumbnail_in_slack_and_discord_and_in_markdown_threads(
    tmp_path: Path,
) -> None:
    async with ArticleServer(host="127.0.0.2") as srv:
        brief = await _brief(tmp_path, srv, "/pages/reddit_thread.html")
    slack = render_slack(brief)
    accessories = [b["accessory"] for b in slack["blocks"] if "accessory" in b]
    assert accessories == [
        {
            "type": "image",
            "image_url": "https://eastvale.example/img/trench.jpg",
            "alt_text": brief.title,
        }
    ]
    assert any("What the thread says" in b.get("text", {}).get("text", "") for b in slack["blocks"])
    embed = render_discord(brief)["embeds"][0]
    assert embed["thumbnail"] == {"url": "https://eastvale.example/img/trench.jpg"}
    names = [f["name"] for f in embed["fields"]]
    assert names[0].startswith("What the thread says")
    assert "## What the thread says" in render_markdown(brief)


def test_an_image_that_is_not_https_is_never_handed_to_the_platform() -> None:
    brief = Brief(url="https://example.com/a", canonical_url="https://example.com/a")
    for image in ("http://example.com/a.jpg", "javascript:alert(1)", "data:image/png;base64,x"):
        brief.image = image
        assert "accessory" not in str(render_slack(brief))
        assert "thumbnail" not in render_discord(brief)["embeds"][0]


async def test_a_fresh_thread_with_no_comments_is_briefed_from_its_linked_article(
    tmp_path: Path,
) -> None:
    async with ArticleServer(host="127.0.0.2") as srv:
        brief = await _brief(tmp_path, srv, "/pages/hn_item_no_comments.html")
        assert srv.hits["/pages/example_article.html"] == 1
    assert brief.kind == "discussion"
    assert brief.title.startswith("Is Russia pulling back")
    assert brief.thread == []
    assert "What the thread says" not in render_markdown(brief)


async def test_a_fresh_thread_linking_a_blocked_address_says_why_it_cannot_be_read(
    tmp_path: Path,
) -> None:
    async with ArticleServer(host="127.0.0.2") as srv:
        with pytest.raises(BlockedAddress):
            await _brief(tmp_path, srv, "/pages/hn_item_no_comments_blocked.html")
