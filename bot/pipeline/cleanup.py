"""Page cleaning around trafilatura: tree repairs before it, paragraph filters after it.

Before (``prepare_tree``), each repair a general layout signal:

- ``drop_hidden_elements``: text no reader sees (``hidden``, inline ``display:none`` or
  ``visibility:hidden``) is not the article, and is where prompt injections hide.

- ``divs_to_paragraphs``: Blogger and hand-edited posts write paragraphs as bare
  ``<div>``s beside real ``<p>``/``<blockquote>`` blocks; trafilatura would keep the quote
  and drop the author's own words.
- ``drop_teaser_lists``: a run of sibling ``<article>`` elements ("You may like", "More
  stories") sitting beside a longer article is a list of other posts, not this one.
- ``merge_split_body``: a body cut into several containers of the same tag and class (an
  ad slot between two halves) is one body; trafilatura reads only the first container.

After (used by ``bot.pipeline.textformat`` on paragraphs and headings, never on quotes):
``is_boilerplate`` (cross-link lines such as "Related: ...", newsletter prompts,
"DON'T MISS"-style labels) and ``is_trailer`` (the reporter's contact line or the wire
credits at the end of a story). Paywall prompts are left for the quality gate.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import HtmlElement
from trafilatura.xpaths import BODY_XPATH

from bot.pipeline.hidden import drop_hidden

# Leaf divs (no block children) whose parent also holds <p>/<blockquote> are paragraphs.
_TEXT_DIVS = etree.XPath(
    "//*[p or blockquote]/div[not(div|p|table|ul|ol|dl|blockquote|pre|h1|h2|h3|h4|h5|h6"
    "|section|article|form|header|footer|nav|aside|figure|iframe)]"
)
_ARTICLES = etree.XPath("//article")
_CLASSED_PARAGRAPH_PARENTS = etree.XPath("//*[@class][p]")
_PARAGRAPH_TEXT = etree.XPath("string-length(normalize-space(string(.)))")
# A later chunk of a split body carries real prose, not a teaser card's one-line excerpt.
_MIN_CHUNK_PARAGRAPHS = 2
_MIN_CHUNK_CHARS = 300
# A teaser list: this many sibling <article>s at least, each shorter than the main one.
_MIN_TEASERS = 3


def prepare_tree(tree: HtmlElement) -> None:
    """Apply every repair, in place."""
    drop_hidden_elements(tree)
    divs_to_paragraphs(tree)
    drop_teaser_lists(tree)
    merge_split_body(tree)


def drop_hidden_elements(tree: HtmlElement) -> None:
    """Remove what no reader sees (``hidden``, ``display:none``, ``visibility:hidden``).

    The summarizer must see what a reader sees; the text after a hidden element
    (its tail) is visible and stays.
    """
    drop_hidden(tree)  # styles read as CSS, <template>, off-screen: bot/pipeline/hidden.py


def divs_to_paragraphs(tree: HtmlElement) -> None:
    for div in _TEXT_DIVS(tree):
        if _has_text(div.text) or any(_has_text(c.text) or _has_text(c.tail) for c in div):
            div.tag = "p"


def drop_teaser_lists(tree: HtmlElement) -> None:
    """Remove runs of sibling ``<article>``s that are each shorter than another article.

    HTML marks each post of a listing as an ``<article>``; when the page also holds an
    article (outside that run, and not wrapping it) longer than every member of the run,
    the run lists other posts and none of it belongs to this one.
    """
    articles = _ARTICLES(tree)
    if len(articles) < _MIN_TEASERS + 1:
        return
    runs: dict[HtmlElement, list[HtmlElement]] = {}
    for article in articles:
        parent = article.getparent()
        if parent is not None:
            runs.setdefault(parent, []).append(article)
    lengths = {article: _text_length(article) for article in articles}
    for parent, run in runs.items():
        if len(run) < _MIN_TEASERS:
            continue
        wrappers = set(parent.iterancestors("article"))
        if parent.tag == "article":
            wrappers.add(parent)
        others = [lengths[a] for a in articles if a not in wrappers and a.getparent() is not parent]
        longest_member = max(lengths[a] for a in run)
        if others and max(others) > longest_member:
            for article in run:
                _drop(article)


def merge_split_body(tree: HtmlElement) -> None:
    """Move later chunks of the container trafilatura will read into the first chunk.

    Trafilatura takes the first element matching its content XPaths; when later elements
    share that element's tag and class and hold paragraphs of prose, the body was cut in
    pieces (typically around an ad) and the later pieces would be lost. Its XPaths are
    costly on a raw page, so they run only when a repeated prose container exists.
    """
    groups: dict[tuple[str, str], list[HtmlElement]] = {}
    for element in _CLASSED_PARAGRAPH_PARENTS(tree):
        if _is_prose(element):
            groups.setdefault((element.tag, element.get("class")), []).append(element)
    repeated = {members[0]: members[1:] for members in groups.values() if len(members) > 1}
    if not repeated:
        return
    for expression in BODY_XPATH:
        found = expression(tree)
        if not found:
            continue
        later = repeated.get(found[0], [])
        for chunk in later:
            if not any(ancestor is found[0] for ancestor in chunk.iterancestors()):
                for child in list(chunk):
                    found[0].append(child)
                _drop(chunk)
        return


def _is_prose(element: HtmlElement) -> bool:
    paragraphs = [len(p.text_content().strip()) for p in element if p.tag == "p"]
    return len(paragraphs) >= _MIN_CHUNK_PARAGRAPHS and sum(paragraphs) >= _MIN_CHUNK_CHARS


def _text_length(element: HtmlElement) -> int:
    return int(_PARAGRAPH_TEXT(element))


def _drop(element: HtmlElement) -> None:
    parent = element.getparent()
    if parent is None:
        return
    # keep the text that follows the element: it belongs to the parent, not to the element
    tail = element.tail
    if tail and tail.strip():
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _has_text(value: str | None) -> bool:
    return bool(value and not value.isspace())


# --- after extraction: paragraphs that are boilerplate wherever they appear -------------

# "Related: <headline>", "READ MORE: <headline>": a cross-link to another story
_CROSS_LINK = re.compile(
    r"^(?:related(?: posts?| articles?| stories| story| content)?|read more|see more|"
    r"also read|read also|see,? also)\s*:\s",
    re.IGNORECASE,
)
# "Sign up for the free daily newsletter.", "Subscribe to NJ.com's newsletters.": a sentence
# that asks the reader to subscribe is a promotion, not reporting
_PROMOTION = re.compile(
    r"(?:^|[.!?]\s+)(?:sign up|subscribe|get|click)\b[^.!?]*(?:newsletter|inbox)",
    re.IGNORECASE,
)
# a label that opens a block of links to other stories
_RELATED_LABEL = re.compile(
    r"^(?:don'?t miss|you (?:may|might) (?:also )?like|most read\b.*|most popular|"
    r"more stories|related (?:stories|articles|posts|content|coverage)|read next|"
    r"recommended(?: for you)?|more great .{1,30} stories)\W*$",
    re.IGNORECASE,
)
# the reporter's address, social handles or the wire-service credits, after the story
_CONTACT = re.compile(
    r"\bfollow (?:us|him|her|me|them)\b[^.]{0,40}\b(?:twitter|facebook|instagram)"
    r"|\breach (?:the reporters?|him|her|them)\b|\bmay be reached at\b"
    # an e-mail address, read from where its run of name characters starts (linear)
    r"|(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)++",
    re.IGNORECASE,
)
_CREDITS = re.compile(
    r"^\(?(?:additional )?(?:reporting|writing|editing) by\b"
    r"|\bcontributed to this report\b|^our standards:",
    re.IGNORECASE,
)
_MAX_CROSS_LINK_WORDS = 30
_MAX_PROMOTION_WORDS = 80
_MAX_TRAILER_WORDS = 60


def is_boilerplate(text: str) -> bool:
    """A cross-link line, a subscription prompt or a related-stories label."""
    words = len(text.split())
    return bool(
        (words <= _MAX_CROSS_LINK_WORDS and _CROSS_LINK.match(text))
        or (words <= _MAX_PROMOTION_WORDS and _PROMOTION.search(text))
        or is_related_label(text)
    )


def is_related_label(text: str) -> bool:
    """A label such as "DON'T MISS" or "You may also like...": other stories follow."""
    return len(text) <= 60 and bool(_RELATED_LABEL.match(text.strip()))


def is_trailer(text: str) -> bool:
    """How to reach the reporter, or who reported and edited: kept off the story's end."""
    if not any(ch.isalnum() for ch in text):
        return True  # "___" rules and other separators left behind
    words = len(text.split())
    return words <= _MAX_TRAILER_WORDS and bool(_CONTACT.search(text) or _CREDITS.search(text))
