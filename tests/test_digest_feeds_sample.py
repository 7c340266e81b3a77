"""Feeds as found in the wild, through feedparser behind our guards.

The sample is ``tests/fixtures/feeds`` (feedparser's own test documents plus
feeds recorded in each generator's shape); ``bench/feed_sample.py`` prints the
same counts as a table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.digest.feeds import MAX_FEED_BYTES, FeedError, parse_feed

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "feeds"
RECORDED = SAMPLE / "recorded"
# Both declare entities in their DOCTYPE, which our defusedxml pass refuses by design.
REFUSED_BY_POLICY = {
    "feedparser/wellformed/rdf/doctype_contains_entity_decl.xml",
    "feedparser/wellformed/rss/entity_in_doctype.xml",
}


def _parse(path: Path):  # type: ignore[no-untyped-def]
    return parse_feed(path.read_bytes(), "application/xml", "https://feeds.example/")


def test_every_sample_document_is_read_except_those_declaring_entities() -> None:
    refused = set()
    documents = sorted(SAMPLE.rglob("*.xml"))
    assert len(documents) > 250
    for path in documents:
        try:
            _parse(path)
        except FeedError:
            refused.add(str(path.relative_to(SAMPLE)))
    assert refused == REFUSED_BY_POLICY


def test_the_licence_travels_with_the_copied_sample() -> None:
    assert "Kurt McKee" in (SAMPLE / "feedparser" / "LICENSE").read_text()


@pytest.mark.parametrize(
    ("name", "title", "first_url", "first_title", "published"),
    [
        (
            "wordpress.xml",
            "Field Notes – A Small Newsroom",
            "https://fieldnotes.example.org/2024/12/03/council-approves-bridge-budget/",
            "Council approves the bridge budget — with conditions",
            datetime(2024, 12, 3, 9, 12, 40, tzinfo=UTC),
        ),
        (
            "blogger.xml",
            "The Long War Journal of a Retired Analyst",
            "https://analystnotes.blogspot.com/2024/11/isw-russian-officials.html",
            "ISW: Russian officials keep changing their story",
            datetime(2024, 11, 30, 22, 1, tzinfo=UTC),  # -08:00 in the feed
        ),
        (
            "youtube.xml",
            "City Science Talks",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "Why the river floods every spring & what to do",
            datetime(2024, 12, 1, 15, 0, 6, tzinfo=UTC),
        ),
        (
            "reddit.xml",
            "Local News",
            "https://www.reddit.com/r/localnews/comments/1h5abcd/towpath_flooded/",
            "Towpath flooded near the old mill",
            datetime(2024, 12, 3, 9, 58, 31, tzinfo=UTC),
        ),
        (
            "substack.xml",
            "The Policy Desk",
            "https://policydesk.substack.com/p/what-the-bridge-vote-tells-us",
            "What the bridge vote tells us about the next budget",
            datetime(2024, 12, 3, 12, 1, 22, tzinfo=UTC),
        ),
        (
            "medium.xml",
            "Stories by Priya Raman on Medium",
            "https://medium.com/@priyaraman/reading-a-municipal-budget-in-twenty-minutes"
            "-5f2e1a9c3b7d?source=rss-abc123------2",
            "Reading a municipal budget in twenty minutes",
            datetime(2024, 12, 3, 11, 20, 10, tzinfo=UTC),
        ),
        (
            "mastodon.xml",  # posts have no titles: the text stands in
            "Valley Transit Watch",
            "https://social.example/@transitwatch/113589012345678901",
            "Route 9 detour starts Monday: buses skip Mill St. until the bridge work ends."
            " #transit",
            datetime(2024, 12, 3, 10, 2, 11, tzinfo=UTC),
        ),
        (
            "php_raw_ampersand.xml",  # raw "&", &nbsp; and ISO-8859-1; "PT" is UTC-8
            "Smith & Sons Hardware News",
            "http://www.smithandsons.example/news.php?id=112&cat=3",
            "Winter hours & snow shovels",
            datetime(2024, 12, 2, 16, 0, tzinfo=UTC),
        ),
        (
            "shift_jis.xml",
            "地域ニュース速報",
            "https://news.example.jp/article/20241203-01.html",
            "市議会、橋の補修予算を可決",
            datetime(2024, 12, 3, 9, 0, tzinfo=UTC),
        ),
    ],
)
def test_recorded_feeds(
    name: str, title: str, first_url: str, first_title: str, published: datetime
) -> None:
    feed = _parse(RECORDED / name)
    assert feed.title == title
    first = feed.items[0]
    assert (first.url, first.title, first.published) == (first_url, first_title, published)
    assert all(item.summary and "<" not in item.summary for item in feed.items)


def test_zones_and_entities_of_the_hand_rolled_feed() -> None:
    feed = _parse(RECORDED / "php_raw_ampersand.xml")
    second = feed.items[1]
    assert second.title == "Café re-opens next door"
    assert second.published == datetime(2024, 11, 29, 15, 30, tzinfo=UTC)  # MET is UTC+1
    assert "in stock — while" in feed.items[0].summary  # &nbsp;&mdash; as HTML reads them


def _rss(items: str, prolog: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return f'{prolog}<rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()


def test_one_bad_item_is_skipped_and_the_rest_kept() -> None:
    # The hand parser let urljoin's ValueError on this link drop all twenty good items.
    good = "".join(f"<item><title>Story {n}</title><link>/s/{n}</link></item>" for n in range(20))
    bad = "<item><title>Broken</title><link>http://[::1/oops</link></item>"
    feed = parse_feed(_rss(bad + good), "application/rss+xml", "https://site.example/")
    assert [item.url for item in feed.items] == [f"https://site.example/s/{n}" for n in range(20)]


def test_a_date_before_year_one_in_utc_leaves_the_item_undated() -> None:
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
    <entry><id>x</id><title>Old</title><link href="https://a.example/x"/>
    <updated>0001-01-01T00:00:00+01:00</updated></entry></feed>"""
    (item,) = parse_feed(atom, "application/atom+xml", "https://a.example/").items
    assert item.published is None


def test_atom_03_and_html_titles() -> None:
    atom03 = b"""<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old Atom</title>
    <link rel="alternate" type="text/html" href="https://old.example/"/>
    <entry><title mode="escaped" type="text/html">&lt;b&gt;Bold&lt;/b&gt; news</title>
    <link rel="alternate" type="text/html" href="https://old.example/1"/>
    <issued>2004-01-02T03:04:05Z</issued><id>tag:old,1</id></entry></feed>"""
    feed = parse_feed(atom03, "application/atom+xml", "https://old.example/feed")
    assert feed.title == "Old Atom"
    (item,) = feed.items
    assert (item.title, item.url) == ("Bold news", "https://old.example/1")
    assert item.published == datetime(2004, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_entities_are_refused_even_where_expat_cannot_read_the_encoding() -> None:
    prolog = (
        '<?xml version="1.0" encoding="Shift_JIS"?><!-- <a href="x"> -->'
        '<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    )
    with pytest.raises(FeedError, match="entities"):
        parse_feed(_rss("<item><link>/x</link></item>", prolog), "text/xml", "https://s.example/")
    external = '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    broken = _rss("<item><link>/a?b=1&c=2</link></item>", external)  # raw & after the DTD
    with pytest.raises(FeedError, match="external"):
        parse_feed(broken, "text/xml", "https://s.example/")


def test_an_rss_091_doctype_without_entities_is_read() -> None:
    prolog = (
        '<?xml version="1.0" encoding="ISO-8859-1"?><!DOCTYPE rss PUBLIC '
        '"-//Netscape Communications//DTD RSS 0.91//EN" '
        '"http://my.netscape.com/publish/formats/rss-0.91.dtd">'
    )
    body = _rss("<item><title>Old</title><link>https://s.example/1</link></item>", prolog)
    (item,) = parse_feed(body.replace(b'"2.0"', b'"0.91"'), "text/xml", "https://s.example/").items
    assert item.url == "https://s.example/1"


def test_the_byte_cap_holds_for_direct_callers() -> None:
    body = _rss("<item><link>/x</link></item>" * (MAX_FEED_BYTES // 20))
    with pytest.raises(FeedError, match="larger"):
        parse_feed(body, "application/rss+xml", "https://s.example/")


def test_html_pages_are_not_feeds() -> None:
    with pytest.raises(FeedError):
        parse_feed(b"<!doctype html><html><body><p>hi</p></body></html>", "text/html", "https://s/")
