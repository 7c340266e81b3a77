"""Extract the article from a fetched page: HTML (trafilatura), PDF (pypdf) or plain text.

One trafilatura pass per page, on a tree we parse ourselves so that the page-word
count, the metadata and a small Blogger-style repair (text ``<div>``s next to
``<p>``/``<blockquote>`` become paragraphs) share a single parse. The quality gate
(``bot.pipeline.quality``) then refuses consent walls, paywalls and empty pages.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from bot.errors import EmptyPage, UnsupportedFile
from bot.pipeline.models import Article, FetchedPage
from bot.pipeline.quality import check_article
from bot.pipeline.textformat import body_to_text

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/xml", "text/xml"})
PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown"})
FILE_KINDS = {".html": "html", ".htm": "html", ".xhtml": "html", ".pdf": "pdf", ".txt": "text"}

# Text the browser never shows, subtracted from the body's text for the page-word count.
_HIDDEN_TEXT = etree.XPath(
    "//body//script/text()|//body//style/text()|//body//noscript/text()|//body//template/text()"
)
# Blogger and many hand-edited posts write paragraphs as bare <div>s beside real <p> or
# <blockquote> blocks; trafilatura then keeps the quote and drops the author's own words.
# Leaf divs (no block children) whose parent also holds <p>/<blockquote> are paragraphs.
_TEXT_DIVS = etree.XPath(
    "//*[p or blockquote]/div[not(div|p|table|ul|ol|dl|blockquote|pre|h1|h2|h3|h4|h5|h6"
    "|section|article|form|header|footer|nav|aside|figure|iframe)]"
)
_BLANK_RUNS = re.compile(r"\n\s*\n\s*")
_SPACES = re.compile(r"[^\S\n]+")


def extract_article(page: FetchedPage) -> Article:
    """Extract and quality-check the article in a fetched page (never touches the network)."""
    content_type = page.content_type.split(";")[0].strip().lower()
    url = page.final_url or page.url
    if content_type in PDF_TYPES:
        article = extract_pdf(page.body, url)
    elif content_type in TEXT_TYPES:
        article = extract_text(_decode(page.body, page.charset), url)
    else:
        html: str | bytes = page.body
        if page.charset:
            html = _decode(page.body, page.charset)
        article = extract_html(html, url)
    check_article(article)
    return article


def extract_file(path: Path) -> Article:
    """Extract a local .html/.htm/.pdf/.txt file; any other kind is ``UnsupportedFile``."""
    kind = FILE_KINDS.get(path.suffix.lower())
    if kind is None:
        raise UnsupportedFile()
    data = path.read_bytes()
    url = path.resolve().as_uri()
    if kind == "pdf":
        article = extract_pdf(data, url)
    elif kind == "text":
        article = extract_text(_decode(data, None), url)
    else:
        article = extract_html(data, url)
    check_article(article)
    return article


def extract_html(html: str | bytes, url: str) -> Article:
    """The article in an HTML page, with metadata; no quality gate (the benchmark uses it)."""
    tree = _parse(html)
    if tree is None:
        return Article(url=url, canonical_url=url, text="")
    page_words = _page_words(tree)
    meta = read_metadata(tree, url)
    _divs_to_paragraphs(tree)
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        favor_precision=True,
        include_comments=False,
        include_formatting=True,
        include_links=True,
        include_tables=True,
    )
    body = getattr(document, "body", None) if document is not None else None
    rendered = body_to_text(body, url, title=meta.title)
    return _article(url, meta, rendered.text, page_words, rendered.links, "html")


def extract_pdf(data: bytes, url: str) -> Article:
    """Text of a PDF, page by page; title and author from its document info when set."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    except (PdfReadError, ValueError, KeyError, TypeError) as error:
        raise EmptyPage("I couldn't read any text in that PDF.") from error
    paragraphs = [_normalise_lines(p) for p in pages]
    text = "\n\n".join(p for p in paragraphs if p)
    title = str(info.title or "").strip() if info else ""
    author = str(info.author or "").strip() if info else ""
    if not title and text:
        title = text.split("\n", 1)[0][:200]
    meta = PageMetadata(canonical_url=url, title=title, author=author)
    return _article(url, meta, text, len(text.split()), [], "pdf")


def extract_text(text: str, url: str) -> Article:
    """A plain-text article: paragraphs are kept, the first line is the title."""
    body = _normalise_lines(text)
    first = body.split("\n", 1)[0].strip() if body else ""
    title = first if 0 < len(first.split()) <= 20 else ""
    meta = PageMetadata(canonical_url=url, title=title)
    return _article(url, meta, body, len(body.split()), [], "text")


def article_to_markdown(article: Article) -> str:
    """``linkbrief extract --format markdown``: title, one metadata line, then the text."""
    lines = []
    if article.title:
        lines.append(f"# {article.title}")
        lines.append("")
    facts = [
        fact
        for fact in (
            article.site,
            f"by {article.author}" if article.author else "",
            article.published,
            article.canonical_url,
        )
        if fact
    ]
    if facts:
        lines.append("*" + " · ".join(facts) + "*")
        lines.append("")
    lines.append(article.text)
    return "\n".join(lines).rstrip() + "\n"


def _article(
    url: str,
    meta: PageMetadata,
    text: str,
    page_words: int,
    links: list[str],
    source_format: str,
) -> Article:
    return Article(
        url=url,
        canonical_url=meta.canonical_url or url,
        text=text,
        title=meta.title,
        site=meta.site,
        author=meta.author,
        published=meta.published,
        language=meta.language,
        source_format=source_format,  # type: ignore[arg-type]
        page_words=max(page_words, len(text.split())),
        links=links,
    )


def _parse(html: str | bytes) -> HtmlElement | None:
    if not html or (isinstance(html, bytes) and not html.strip()):
        return None
    try:
        return load_html(html)
    except (TypeError, ValueError, etree.ParserError):
        return None


def _page_words(tree: HtmlElement) -> int:
    body = tree.find("body")
    if body is None:
        return 0
    # one C-level text_content() is several times cheaper than an XPath over every node
    hidden = sum(len(chunk.split()) for chunk in _HIDDEN_TEXT(tree))
    return max(0, len(body.text_content().split()) - hidden)


def _divs_to_paragraphs(tree: HtmlElement) -> None:
    for div in _TEXT_DIVS(tree):
        if _has_text(div.text) or any(_has_text(c.text) or _has_text(c.tail) for c in div):
            div.tag = "p"


def _has_text(value: str | None) -> bool:
    return bool(value and not value.isspace())


def _decode(data: bytes, charset: str | None) -> str:
    for encoding in (charset, "utf-8"):
        if encoding:
            try:
                return data.decode(encoding)
            except (LookupError, UnicodeDecodeError):
                continue
    return data.decode("cp1252", errors="replace")


def _normalise_lines(text: str) -> str:
    """Plain text and PDF text: unify line ends, squeeze spaces, keep blank-line paragraphs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


# --- metadata: a handful of cheap lookups on the parsed tree -------------------------

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
    return PageMetadata(
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
        for value in tree.xpath(xpath):
            text = " ".join(str(value).split())
            if text and accept(text):
                return transform(text) if transform else text
    return ""


def _looks_like_name(value: str) -> bool:
    return not value.startswith(("http://", "https://")) and len(value.split()) <= 8


def _iso_date(value: str) -> str:
    match = _ISO_DATE.search(value or "")
    return "-".join(match.groups()) if match else ""


def _json_ld(tree: HtmlElement) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for script in tree.xpath("//script[@type='application/ld+json']/text()"):
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
    return a == b or a.endswith("." + b) or b.endswith("." + a) or _site(a) == _site(b)


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
