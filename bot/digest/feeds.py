"""Parsing RSS (0.9x/2.0 and 1.0/RDF), Atom and JSON Feed safely, and finding a site's feed.

XML goes through ``defusedxml``: a document that declares entities (billion
laughs) or refers to an external one (``SYSTEM "file:///etc/passwd"``) is
refused before anything is expanded or read. HTML (for discovery and for
turning item descriptions into text) goes through the standard library's
``HTMLParser``, which resolves nothing.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from bot.errors import LinkbriefError
from bot.pipeline.decoding import decode_text
from bot.store.digests import NewItem

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "application/feed+json",
        "application/json",
    }
)
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
ALTERNATE_TYPES = (  # in order of preference when a page names several
    "application/atom+xml",
    "application/rss+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
)
MAX_ITEMS = 200
MAX_TITLE = 500
MAX_SUMMARY = 2000

ATOM = "{http://www.w3.org/2005/Atom}"
RSS1 = "{http://purl.org/rss/1.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"


class FeedError(LinkbriefError):
    default_message = "That doesn't look like a feed I can read (RSS, Atom or JSON Feed)."


@dataclass(slots=True)
class ParsedFeed:
    title: str
    site_url: str
    items: list[NewItem] = field(default_factory=list)


# --- entry points ---------------------------------------------------------------


def looks_like_html(content_type: str, body: bytes) -> bool:
    if content_type in HTML_TYPES:
        return True
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def parse_feed(body: bytes, content_type: str, base_url: str) -> ParsedFeed:
    """The feed in ``body``; raises ``FeedError`` for anything else, hostile XML included."""
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if "json" in content_type or stripped.startswith(b"{"):
        return _parse_json_feed(stripped, base_url)
    try:
        root = SafeET.fromstring(stripped)
    except DefusedXmlException:
        raise FeedError(
            "That feed declares XML entities or external references, which I refuse to read."
        ) from None
    except ParseError:
        raise FeedError() from None
    tag = root.tag
    if tag == "rss" or tag.endswith("}rss"):
        return _parse_rss(root, base_url)
    if tag == f"{ATOM}feed":
        return _parse_atom(root, base_url)
    if tag.endswith("}RDF"):
        return _parse_rdf(root, base_url)
    raise FeedError()


def discover_feed_links(page: bytes, base_url: str, charset: str | None = None) -> list[str]:
    """Feed URLs a page announces with ``<link rel="alternate" type="…">``, best first."""
    finder = _AlternateFinder()
    finder.feed(decode_text(page, charset))
    found = sorted(finder.links, key=lambda pair: ALTERNATE_TYPES.index(pair[0]))
    urls: list[str] = []
    base = finder.base or base_url
    for _, href in found:
        url = urljoin(base, href)
        if _is_http(url) and url not in urls:
            urls.append(url)
    return urls


# --- RSS / RDF / Atom ------------------------------------------------------------------


def _text(el: Element | None) -> str:
    return "".join(el.itertext()).strip() if el is not None else ""


def _parse_rss(root: Element, base_url: str) -> ParsedFeed:
    channel = root.find("channel")
    if channel is None:
        raise FeedError()
    site = urljoin(base_url, _text(channel.find("link")))
    feed = ParsedFeed(title=_clip(_text(channel.find("title")), MAX_TITLE), site_url=site)
    for item in channel.findall("item")[:MAX_ITEMS]:
        link = _text(item.find("link"))
        guid = item.find("guid")
        guid_text = _text(guid)
        if not link and guid is not None and guid.get("isPermaLink", "true") != "false":
            link = guid_text
        description = _text(item.find(f"{CONTENT}encoded")) or _text(item.find("description"))
        date = _text(item.find("pubDate")) or _text(item.find(f"{DC}date"))
        _add(feed, base_url, guid_text, link, _text(item.find("title")), description, date)
    return feed


def _parse_rdf(root: Element, base_url: str) -> ParsedFeed:
    channel = root.find(f"{RSS1}channel")
    feed = ParsedFeed(
        title=_clip(_text(channel.find(f"{RSS1}title")), MAX_TITLE) if channel is not None else "",
        site_url=urljoin(base_url, _text(channel.find(f"{RSS1}link")))
        if channel is not None
        else "",
    )
    for item in root.findall(f"{RSS1}item")[:MAX_ITEMS]:
        link = _text(item.find(f"{RSS1}link"))
        _add(
            feed,
            base_url,
            link,
            link,
            _text(item.find(f"{RSS1}title")),
            _text(item.find(f"{RSS1}description")),
            _text(item.find(f"{DC}date")),
        )
    return feed


def _atom_link(el: Element, base_url: str) -> str:
    for link in el.findall(f"{ATOM}link"):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return urljoin(base_url, link.get("href", ""))
    return ""


def _parse_atom(root: Element, base_url: str) -> ParsedFeed:
    feed = ParsedFeed(
        title=_clip(_text(root.find(f"{ATOM}title")), MAX_TITLE),
        site_url=_atom_link(root, base_url),
    )
    for entry in root.findall(f"{ATOM}entry")[:MAX_ITEMS]:
        summary = _text(entry.find(f"{ATOM}summary")) or _text(entry.find(f"{ATOM}content"))
        date = _text(entry.find(f"{ATOM}published")) or _text(entry.find(f"{ATOM}updated"))
        _add(
            feed,
            base_url,
            _text(entry.find(f"{ATOM}id")),
            _atom_link(entry, base_url),
            _text(entry.find(f"{ATOM}title")),
            summary,
            date,
        )
    return feed


# --- JSON Feed ---------------------------------------------------------------------------


def _parse_json_feed(body: bytes, base_url: str) -> ParsedFeed:
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise FeedError() from None
    version = data.get("version", "") if isinstance(data, dict) else ""
    if not isinstance(version, str) or "jsonfeed.org" not in version:
        raise FeedError()
    items = data.get("items")
    if not isinstance(items, list):
        raise FeedError()
    feed = ParsedFeed(
        title=_clip(_str(data.get("title")), MAX_TITLE),
        site_url=urljoin(base_url, _str(data.get("home_page_url"))),
    )
    for item in items[:MAX_ITEMS]:
        if not isinstance(item, dict):
            continue
        summary = (
            _str(item.get("summary"))
            or _str(item.get("content_text"))
            or _str(item.get("content_html"))
        )
        date = _str(item.get("date_published")) or _str(item.get("date_modified"))
        link = _str(item.get("url")) or _str(item.get("external_url"))
        _add(feed, base_url, _str(item.get("id")), link, _str(item.get("title")), summary, date)
    return feed


def _str(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


# --- shared helpers ----------------------------------------------------------------------


def _add(
    feed: ParsedFeed,
    base_url: str,
    key: str,
    link: str,
    title: str,
    description: str,
    date: str,
) -> None:
    url = urljoin(base_url, link.strip()) if link.strip() else ""
    if not _is_http(url):
        return  # an entry with no readable link cannot go into a digest
    text = html_to_text(description)
    title_text = html_to_text(title) or _clip(text, 120)
    feed.items.append(
        NewItem(
            key=(key or url)[:2000],
            url=url,
            title=_clip(title_text, MAX_TITLE),
            summary=_clip(text, MAX_SUMMARY),
            published=parse_date(date),
        )
    )


def parse_date(value: str) -> datetime | None:
    """RFC 822 (RSS) or RFC 3339 (Atom, JSON Feed) as aware UTC; None if unreadable."""
    value = value.strip()
    if not value:
        return None
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _is_http(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class _TextCollector(HTMLParser):
    _SKIP = frozenset({"script", "style", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in ("p", "br", "div", "li", "h1", "h2", "h3", "blockquote"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


_TAG_HINT = re.compile(r"<[a-zA-Z/!]")


def html_to_text(value: str) -> str:
    """A description's text: tags dropped, entities decoded, whitespace collapsed."""
    if not value:
        return ""
    if not _TAG_HINT.search(value):
        return " ".join(html.unescape(value).split())
    collector = _TextCollector()
    collector.feed(value)
    collector.close()
    return " ".join("".join(collector.parts).split())


class _AlternateFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.base = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): (value or "") for name, value in attrs}
        if tag == "base" and values.get("href") and not self.base:
            self.base = values["href"]
        if tag != "link":
            return
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").lower().split(";")[0].strip()
        if "alternate" in rels and kind in ALTERNATE_TYPES and values.get("href"):
            self.links.append((kind, values["href"]))
