"""Page metadata from the parsed tree: title, site, author, date, language, canonical URL.

A handful of cheap lookups (meta tags, JSON-LD, a few microformats) on the tree the
extractor already parsed, so metadata costs no second parse.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml.html import HtmlElement

_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_LANG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_]|$)")
_DATE_XPATHS = (
    "//meta[@property='article:published_time' or @name='article:published_time'"
    " or @itemprop='datePublished' or @name='pubdate' or @name='publishdate'"
    " or @name='date' or @name='dc.date' or @name='DC.date.issued' or @name='sailthru.date'"
    " or @property='og:published_time']/@content",
    "//*[@itemprop='datePublished']/@datetime",
    "//*[@itemprop='datePublished']/@title",
    "//abbr[contains(concat(' ', @class, ' '), ' published ')]/@title",
    "//time[contains(concat(' ', @class, ' '), ' published ')]/@datetime",
    "//article//time/@datetime",
    "//time[@pubdate]/@datetime",
)
_SHARED_HOSTS = frozenset(
    {"blogspot.com", "wordpress.com", "substack.com", "github.io", "tumblr.com", "medium.com"}
)
_AUTHOR_XPATHS = (
    "//meta[@name='author' or @property='article:author' or @name='dc.creator'"
    " or @name='parsely-author' or @name='sailthru.author']/@content",
    "//*[@itemprop='author']//*[@itemprop='name']/@content",
    "//*[@itemprop='author']//*[@itemprop='name']//text()",
    "//*[@itemprop='author']/@content",
    "//*[@rel='author']//text()",
    "//*[contains(concat(' ', @class, ' '), ' byline ')]//*[contains(@class, 'author')]//text()",
)


@dataclass(slots=True)
class PageMetadata:
    canonical_url: str = ""
    title: str = ""
    site: str = ""
    author: str = ""
    published: str = ""
    language: str = ""
    image: str = ""  # og:image, absolute https only (never fetched by the bot)
    ld_body: str = ""  # JSON-LD articleBody, for pages that render from data


def read_metadata(tree: HtmlElement, url: str) -> PageMetadata:
    """Title, site, author, date, language and canonical URL from meta tags and JSON-LD."""
    ld = _json_ld(tree)
    title = _first(tree, "//meta[@property='og:title' or @name='twitter:title']/@content")
    title = title or _ld_text(ld, "headline") or _first(tree, "//h1//text()")
    title = title or _first(tree, "//title//text()")
    site = _first(tree, "//meta[@property='og:site_name' or @name='application-name']/@content")
    author = _ld_author(ld) or _first_matching(tree, _AUTHOR_XPATHS, _looks_like_name)
    published = _iso_date(_ld_text(ld, "datePublished")) or _first_matching(
        tree, _DATE_XPATHS, lambda v: bool(_ISO_DATE.search(v)), _iso_date
    )
    lang = tree.get("lang") or tree.get("xml:lang") or ""
    lang = lang or _first(tree, "//meta[@http-equiv='content-language']/@content")
    lang = lang or _first(tree, "//meta[@property='og:locale']/@content")
    match = _LANG.match(lang.strip())
    canonical = _first(tree, "//link[@rel='canonical']/@href") or _first(
        tree, "//meta[@property='og:url']/@content"
    )
    image = _first(
        tree,
        "//meta[@property='og:image' or @property='og:image:secure_url'"
        " or @name='twitter:image' or @property='og:image:url']/@content",
    )
    return PageMetadata(
        image=_https_image(image, url),
        ld_body=_ld_body(ld),
        canonical_url=_canonical(canonical, url),
        title=title,
        site=site or (urlsplit(url).hostname or "").removeprefix("www."),
        author=author,
        published=published,
        language=match.group(1).lower() if match else "",
    )


def _first(tree: HtmlElement, xpath: str) -> str:
    return _first_matching(tree, (xpath,), lambda _: True)


def _first_matching(
    tree: HtmlElement,
    xpaths: tuple[str, ...],
    accept: Callable[[str], bool],
    transform: Callable[[str], str] | None = None,
) -> str:
    for xpath in xpaths:
        for value in _compiled(xpath)(tree):
            text = " ".join(str(value).split())
            if text and accept(text):
                return transform(text) if transform else text
    return ""


@functools.cache
def _compiled(xpath: str) -> etree.XPath:
    """Compiled once: ``tree.xpath(text)`` compiles its expression on every call."""
    return etree.XPath(xpath)


def _looks_like_name(value: str) -> bool:
    return not value.startswith(("http://", "https://")) and len(value.split()) <= 8


def _iso_date(value: str) -> str:
    match = _ISO_DATE.search(value or "")
    return "-".join(match.groups()) if match else ""


def _json_ld(tree: HtmlElement) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for script in _compiled("//script[@type='application/ld+json']/text()")(tree):
        try:
            data = json.loads(script)
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, dict):
                found.append(item)
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(graph)
    return found


def _ld_text(ld: list[dict[str, Any]], key: str) -> str:
    for item in ld:
        value = item.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return ""


def _ld_author(ld: list[dict[str, Any]]) -> str:
    for item in ld:
        author = item.get("author")
        authors = author if isinstance(author, list) else [author]
        names = [
            a.get("name") if isinstance(a, dict) else a
            for a in authors
            if isinstance(a, (dict, str))
        ]
        names = [" ".join(n.split()) for n in names if isinstance(n, str) and _looks_like_name(n)]
        if names:
            return ", ".join(names)
    return ""


def _ld_body(ld: list[dict[str, Any]]) -> str:
    """The longest JSON-LD ``articleBody`` (or ``text``) of an article-like item."""
    best = ""
    for item in ld:
        for key in ("articleBody", "text"):
            value = item.get(key)
            if isinstance(value, str) and len(value) > len(best):
                best = value.strip()
    return best


def _https_image(candidate: str, url: str) -> str:
    """An absolute https image URL, or "": chat platforms load it, so nothing else."""
    if not candidate:
        return ""
    absolute = urljoin(url, candidate.strip())
    parts = urlsplit(absolute)
    if parts.scheme != "https" or not parts.hostname or any(c in absolute for c in ' <>"\n'):
        return ""
    return absolute[:2000]


def _canonical(candidate: str, url: str) -> str:
    """The page's declared canonical URL when it is http(s) and on the same site."""
    if not candidate:
        return url
    absolute = urljoin(url, candidate.strip()).split("#", 1)[0]
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return url
    return absolute if _same_site(parts.hostname, urlsplit(url).hostname or "") else url


def _same_site(a: str, b: str) -> bool:
    a, b = a.lower().removeprefix("www."), b.lower().removeprefix("www.")
    if not a or not b:
        return False
    if _is_ip_literal(a) or _is_ip_literal(b):
        return a == b  # an address has no "site" around it: 10.0.5.6 is not 192.168.5.6
    return a == b or a.endswith("." + b) or b.endswith("." + a) or _site(a) == _site(b)


def _is_ip_literal(host: str) -> bool:
    # IPv6 (has ":"), dotted IPv4, and every all-numeric spelling (0x7f.1, 2130706433).
    labels = host.split(".")
    return ":" in host or all(label.isdigit() or label.startswith("0x") for label in labels)


def _site(host: str) -> str:
    labels = host.split(".")
    if len(labels) < 2:
        return host
    # "example.co.uk": keep three labels when the second-level label is a generic one;
    # on shared hosts ("x.blogspot.com") each subdomain is its own site
    suffix = ".".join(labels[-2:])
    shared = suffix in _SHARED_HOSTS or labels[-2] in {"co", "com", "org", "net", "ac", "gov"}
    keep = 3 if len(labels) >= 3 and shared else 2
    return ".".join(labels[-keep:])
