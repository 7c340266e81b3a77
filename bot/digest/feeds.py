"""Feeds read safely: XML feeds by feedparser behind our guards, JSON Feed by hand.

1. The byte cap: a body over ``MAX_FEED_BYTES`` is refused unread.
2. ``defusedxml`` reads the XML prolog first: a document that declares entities
   (billion laughs) or refers to an external one (``SYSTEM "file:///etc/passwd"``)
   is refused before feedparser sees a byte.
3. feedparser reads the rest: RSS 0.9x-2.0, RSS 1.0/RDF, Atom 0.3/1.0, named
   HTML entities, every encoding Python has a codec for, ill-formed documents
   (its loose parser), and dates in the forms feeds really use.
4. One entry that cannot be read is skipped with a log line; the rest are kept.

JSON Feed (which feedparser does not read) is parsed here. HTML (discovery, and
entry text) goes through the standard library's ``HTMLParser``, which resolves
nothing.
"""

from __future__ import annotations

import html
import io
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
import feedparser
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
MAX_FEED_BYTES = 10_000_000  # the fetcher's cap is smaller; this guards direct callers

log = logging.getLogger(__name__)


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
    if len(body) > MAX_FEED_BYTES:
        raise FeedError(f"That feed is larger than {MAX_FEED_BYTES // 1_000_000} MB.")
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if "json" in content_type or stripped.startswith(b"{"):
        return _parse_json_feed(stripped, base_url)
    _refuse_entity_declarations(stripped)
    parsed = feedparser.parse(
        io.BytesIO(stripped),  # a file object: feedparser never treats it as a path or URL
        response_headers={
            "content-type": content_type or "application/xml",
            "content-location": base_url,
        },
        sanitize_html=True,
        resolve_relative_uris=True,
    )
    if not parsed.get("version") and not parsed.entries:
        raise FeedError()
    meta = parsed.feed
    feed = ParsedFeed(
        title=_clip(_detail_text(meta, "title"), MAX_TITLE),
        site_url=urljoin(base_url, str(meta.get("link", ""))),
    )
    prefer_content = str(parsed.get("version", "")).startswith("rss")
    for entry in parsed.entries[:MAX_ITEMS]:
        try:
            _add_entry(feed, base_url, entry, prefer_content)
        except Exception:  # one unreadable entry must not cost the other twenty
            log.warning("feed %s: skipped an entry that could not be read", base_url, exc_info=True)
    return feed


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


# --- the XML guard and feedparser's entries ----------------------------------------------


class _StopAtRoot(Exception):
    """The root element began: the prolog, where any DTD lives, was read and is clean."""


class _RootWatcher:
    def start(self, tag: str, attrib: dict[str, str]) -> None:
        raise _StopAtRoot

    def close(self) -> None:
        return None


# An external DTD subset alone (RSS 0.91's PUBLIC Netscape DTD) is harmless: expat never
# loads it and feedparser drops the DOCTYPE. Entity declarations are what we refuse.
_ENTITY_DECLARATION = re.compile(r"<!ENTITY", re.IGNORECASE)
_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)""")


def _refuse_entity_declarations(body: bytes) -> None:
    """defusedxml over the prolog: entity declarations and external references are refused."""
    parser = SafeET.XMLParser(
        target=_RootWatcher(), forbid_dtd=False, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(body)
        parser.close()
    except _StopAtRoot:
        return
    except DefusedXmlException:
        raise FeedError(_ENTITY_REFUSAL) from None
    except (ParseError, ValueError):
        pass  # broken XML, or an encoding expat lacks (Shift_JIS): look for them as text
    # The whole document, not just up to the first tag: a comment can hide "<a" before
    # the DOCTYPE. A false alarm costs one broken feed; a miss is what we guard against.
    match = _DECLARED_ENCODING.match(body)
    try:
        text = body.decode(match.group(1).decode() if match else "utf-8", errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    if _ENTITY_DECLARATION.search(text) or _ENTITY_DECLARATION.search(body.decode("latin-1")):
        raise FeedError(_ENTITY_REFUSAL)


_ENTITY_REFUSAL = "That feed declares XML entities or external references, which I refuse to read."


def _detail_text(node: Any, name: str) -> str:
    """A title or summary as text: markup dropped when the feed says it is HTML."""
    value = str(node.get(name, "") or "")
    detail = node.get(f"{name}_detail") or {}
    if "html" in str(detail.get("type", "text/html")):
        return html_to_text(value)
    return " ".join(value.split())


def _entry_date(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                return datetime(*parsed[:6], tzinfo=UTC)  # feedparser gives UTC
            except (TypeError, ValueError, OverflowError):
                return None  # year 0 and friends: no date rather than no entry
    return None


def _add_entry(feed: ParsedFeed, base_url: str, entry: Any, prefer_content: bool) -> None:
    link = str(entry.get("link", "") or "")
    url = urljoin(base_url, link.strip()) if link.strip() else ""
    if not _is_http(url):
        return  # an entry with no readable link cannot go into a digest
    contents = entry.get("content") or []
    content = html_to_text(str(contents[0].get("value", ""))) if contents else ""
    summary = _detail_text(entry, "summary")
    text = (content or summary) if prefer_content else (summary or content)
    title = _detail_text(entry, "title") or _clip(text, 120)
    feed.items.append(
        NewItem(
            key=(str(entry.get("id", "") or "") or url)[:2000],
            url=url,
            title=_clip(title, MAX_TITLE),
            summary=_clip(text, MAX_SUMMARY),
            published=_entry_date(entry),
        )
    )


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
    """A JSON Feed date (RFC 3339; RFC 822 tolerated) as aware UTC; None if unreadable.

    XML feeds' dates are feedparser's (``_entry_date``)."""
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
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        return None


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
