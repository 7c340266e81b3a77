"""Extract the article from a fetched page: HTML (trafilatura), PDF (pypdf) or plain text.

One trafilatura pass per page, on a tree we parse ourselves so that the page-word
count, the metadata (``extract_meta``) and a few layout repairs (``cleanup``: Blogger-style
text ``<div>``s, lists of other posts, a body split around an ad) share a single parse.
The quality gate (``bot.pipeline.quality``) then refuses consent walls, paywalls and
empty pages.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from bot.errors import EmptyPage, TooLarge, UnsupportedFile
from bot.pipeline.cleanup import prepare_tree
from bot.pipeline.decoding import decode_text
from bot.pipeline.extract_meta import PageMetadata, read_metadata
from bot.pipeline.models import Article, FetchedPage
from bot.pipeline.normalize import strip_invisible
from bot.pipeline.page_kinds import may_be_special, read_special_page
from bot.pipeline.quality import MIN_WORDS, check_article
from bot.pipeline.rendered import fallback_text, read_page_data
from bot.pipeline.textformat import BodyText, body_to_text
from bot.pipeline.wordcount import has_unspaced, word_count

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/xml", "text/xml"})
PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown"})
# A local file gets the cap a fetched page gets (Settings.fetch_max_bytes' default).
DEFAULT_MAX_FILE_BYTES = 5_000_000
# Precision mode dropped most of the page: it kept under this share of the page's words
# (a long page, where such a share cannot be the whole article), and the balanced mode
# finds at least FALLBACK_GAIN times more. Chosen on the development sets only.
FALLBACK_SHARE = 0.2
FALLBACK_MIN_PAGE_WORDS = 300
FALLBACK_GAIN = 2
FILE_KINDS = {".html": "html", ".htm": "html", ".xhtml": "html", ".pdf": "pdf", ".txt": "text"}

# Text the browser never shows, subtracted from the body's text for the page-word count.
_HIDDEN_TEXT = etree.XPath(
    "//body//script/text()|//body//style/text()|//body//noscript/text()|//body//template/text()"
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
    if not (article.kind == "discussion" and article.linked_url):
        check_article(article)  # a thread's gate waits for its linked article (follow)
    return article


def extract_file(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Article:
    """Extract a local .html/.htm/.pdf/.txt file; any other kind is ``UnsupportedFile``.

    A file larger than ``max_bytes`` (the fetcher's cap for pages) is ``TooLarge``.
    """
    kind = FILE_KINDS.get(path.suffix.lower())
    if kind is None:
        raise UnsupportedFile()
    with path.open("rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(
            f"That file is larger than {max_bytes / 1_000_000:g} MB, the most I read from a page."
        )
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
    page_words, page_text = _page_words(tree)
    meta = read_metadata(tree, url)
    special = read_special_page(tree, url, meta, page_words) if may_be_special(html) else None
    if special is not None:
        return special
    data = read_page_data(tree, html)  # before trafilatura drops the scripts
    prepare_tree(tree)
    rendered = _trafilatura(tree, url, meta.title, favor_precision=True)
    if _dropped_most(rendered.text, page_words):
        # Precision mode sometimes keeps a lead paragraph or a date line of a long page;
        # the balanced mode reads the page afresh (trafilatura edits the tree it is given)
        # and wins when it finds several times more text.
        again = _parse(html)
        if again is not None:
            prepare_tree(again)
            balanced = _trafilatura(again, url, meta.title, favor_precision=False)
            if len(balanced.text.split()) >= FALLBACK_GAIN * len(rendered.text.split()):
                rendered = balanced
    text, links, notes = rendered.text, rendered.links, []
    if word_count(text) < MIN_WORDS:
        # little text in the body: an app that renders its article from data
        fallback, note = fallback_text(meta.ld_body, data)
        if word_count(fallback) > word_count(text):
            text, links, notes = fallback, [], [note]
    if has_unspaced(text):
        page_words = word_count(page_text)  # Chinese, Japanese, Thai: counted alike
    article = _article(url, meta, text, page_words, links, "html")
    article.notes = notes
    return article


def _trafilatura(tree: HtmlElement, url: str, title: str, *, favor_precision: bool) -> BodyText:
    # No url: trafilatura would only use it to resolve every link on the page (the slowest
    # part of its tag conversion); body_to_text resolves the few kept links itself.
    document = trafilatura.bare_extraction(
        tree,
        url=None,
        favor_precision=favor_precision,
        include_comments=False,
        include_formatting=True,
        include_links=True,
        include_tables=True,
        output_format="xml",  # we render the body tree ourselves: skip trafilatura's text
    )
    body = getattr(document, "body", None) if document is not None else None
    return body_to_text(body, url, title=title)


def _dropped_most(text: str, page_words: int) -> bool:
    """The extraction kept a small share of a page that has plenty of text."""
    return page_words >= FALLBACK_MIN_PAGE_WORDS and len(text.split()) < FALLBACK_SHARE * page_words


def extract_pdf(data: bytes, url: str) -> Article:
    """Text of a PDF, page by page; title and author from its document info when set."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
    except Exception as error:  # a pure-Python parser on a stranger's bytes:
        # its limits (LimitReachedError), and any error a malformed file trips, mean the same
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
    # Zero-width and tag characters can carry text no reader sees; the
    # summarizer must see what a reader sees.
    text = strip_invisible(text)
    return Article(
        url=url,
        canonical_url=meta.canonical_url or url,
        text=text,
        title=strip_invisible(meta.title),
        site=strip_invisible(meta.site),
        author=strip_invisible(meta.author),
        published=meta.published,
        language=meta.language,
        source_format=source_format,  # type: ignore[arg-type]
        page_words=max(page_words, word_count(text)),
        links=links,
        image=meta.image,
    )


def _parse(html: str | bytes) -> HtmlElement | None:
    if not html or (isinstance(html, bytes) and not html.strip()):
        return None
    try:
        return load_html(html)
    except (TypeError, ValueError, etree.ParserError):
        return None


def _page_words(tree: HtmlElement) -> tuple[int, str]:
    """Words a reader sees on the whole page, and the body's text (kept for the rare page
    in an unspaced script, where the count is redone by characters)."""
    body = tree.find("body")
    if body is None:
        return 0, ""
    # one C-level text_content() is several times cheaper than an XPath over every node
    text = body.text_content()
    hidden = sum(len(chunk.split()) for chunk in _HIDDEN_TEXT(tree))
    return max(0, len(text.split()) - hidden), text


def _decode(data: bytes, charset: str | None) -> str:
    return decode_text(data, charset)  # only web charsets; never raises (charset=undefined)


def _normalise_lines(text: str) -> str:
    """Plain text and PDF text: unify line ends, squeeze spaces, keep blank-line paragraphs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()
