"""Feed parsing (RSS 2.0, RSS 1.0, Atom, JSON Feed), discovery, and hostile XML."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.digest.feeds import FeedError, discover_feed_links, parse_feed
from tests.servers.feed_server import FeedItem, atom_feed, json_feed, rss_feed

BASE = "https://news.example"
T0 = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
ITEMS = [
    FeedItem("a", "Council approves the bridge & tunnel", "The vote was <b>7 to 2</b>.", T0),
    FeedItem("b", "Second story", "Plain text.", T0.replace(hour=6)),
]


@pytest.mark.parametrize("build", [rss_feed, atom_feed, json_feed])
def test_each_format_gives_titles_links_dates_and_text(build) -> None:  # type: ignore[no-untyped-def]
    body = build("The Daily", BASE + "/", ITEMS, BASE)
    ctype = "application/feed+json" if build is json_feed else "application/xml"
    feed = parse_feed(body, ctype, BASE + "/feed")
    assert feed.title == "The Daily"
    assert feed.site_url == BASE + "/"
    assert [i.url for i in feed.items] == [BASE + "/articles/a", BASE + "/articles/b"]
    first = feed.items[0]
    assert first.title == "Council approves the bridge & tunnel"
    assert first.summary == "The vote was 7 to 2."  # HTML reduced to text
    assert first.published == T0
    assert len({i.key for i in feed.items}) == 2


def test_rss1_rdf_and_relative_links() -> None:
    body = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="x"><title>Old school</title><link>/</link></channel>
  <item rdf:about="a"><title>Relative</title><link>/posts/1</link>
    <description>Hello &amp; welcome.</description><dc:date>2026-11-24T07:00:00Z</dc:date></item>
  <item rdf:about="b"><title>Not a web link</title><link>mailto:x@example.org</link></item>
</rdf:RDF>"""
    feed = parse_feed(body, "application/rdf+xml", "https://old.example/index.rdf")
    assert feed.title == "Old school"
    assert [(i.url, i.summary) for i in feed.items] == [
        ("https://old.example/posts/1", "Hello & welcome.")
    ]
    assert feed.items[0].published == datetime(2026, 11, 24, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [b"<html><body>hi</body></html>", b"not xml at all <", b'{"version": "1", "items": []}', b""],
)
def test_anything_else_is_refused(body: bytes) -> None:
    with pytest.raises(FeedError):
        parse_feed(body, "application/xml", BASE)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>https://x.example/a</link></item></channel></rss>"""


def external_entity_feed(path: Path) -> bytes:
    return f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file://{path}">]>
<rss version="2.0"><channel><title>t</title>
<item><title>&secret;</title><link>https://x.example/a</link>
<description>&secret;</description></item></channel></rss>""".encode()


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(FeedError, match="entities"):
        parse_feed(BILLION_LAUGHS, "application/rss+xml", BASE)


def _parse_in_thread(body: bytes) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(parse_feed(body, "application/rss+xml", BASE))
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=20)
    return thread, outcome


def test_external_entity_to_a_local_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    # A named pipe with no writer: opening it to read would block, so a parser
    # that tried to read the entity would hang here instead of answering.
    fifo = tmp_path / "secret.fifo"
    os.mkfifo(fifo)
    thread, outcome = _parse_in_thread(external_entity_feed(fifo))
    assert not thread.is_alive(), "the parser tried to open the external entity"
    assert len(outcome) == 1 and isinstance(outcome[0], FeedError)

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    with pytest.raises(FeedError) as info:
        parse_feed(external_entity_feed(secret), "application/rss+xml", BASE)
    assert "TOP-SECRET" not in str(info.value)


def test_discovery_prefers_atom_resolves_relative_links_and_ignores_other_links() -> None:
    page = b"""<!doctype html><html><head>
<link rel="stylesheet" href="/s.css">
<link rel="alternate" type="application/rss+xml" href="/rss.xml">
<link rel="alternate" type="application/atom+xml" href="atom.xml">
<link rel="alternate" type="text/html" hreflang="de" href="/de/">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
</head><body></body></html>"""
    assert discover_feed_links(page, "https://site.example/blog/") == [
        "https://site.example/blog/atom.xml",
        "https://site.example/rss.xml",
    ]
    assert discover_feed_links(b"<html><head></head></html>", "https://site.example/") == []
