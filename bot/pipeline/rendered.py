"""Pages rendered from data: the article text a script would have put in the page.

An app page (Next.js, Nuxt, a CMS that renders in the browser) ships a near-empty
``<body>`` and its article as data. When the HTML body gives little text, the article
comes, in this order, from the JSON-LD ``articleBody``, from the page data Next.js
(``__NEXT_DATA__``) or Nuxt (``__NUXT_DATA__``) embeds, or, last, from the page's
``og:description``. Each source is said in the brief, so the reader knows what was read.

The page data is a JSON tree of the app's own shape: the article is the longest run of
prose in it, found by walking the tree. Strings that look like markup are reduced to
their text; URLs, ids and short labels are not prose.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree
from lxml.html import HtmlElement

# scripts holding the page data, read before trafilatura strips scripts from the tree
_DATA_SCRIPTS = etree.XPath(
    "//script[@id='__NEXT_DATA__' or @id='__NUXT_DATA__' or @id='__NUXT__']/text()"
)
_OG_DESCRIPTION = etree.XPath(
    "/html/head/meta[@property='og:description' or @name='description'"
    " or @name='twitter:description']/@content"
)
# "[^<>]*": a scan from one "<" stops at the next, so a run of "<" stays linear
_TAGS = re.compile(r"<[^<>]*>")
_BLOCK_TAGS = re.compile(r"</?(?:p|div|h[1-6]|li|blockquote|br)\b[^<>]*>", re.IGNORECASE)
_SPACES = re.compile(r"[^\S\n]+")
_BLANKS = re.compile(r"\n\s*\n\s*")
# a string of prose: several words, and sentence punctuation
_MIN_PROSE_CHARS = 80
_MAX_WALK_NODES = 200_000

FROM_LD = (
    "The page renders its article from data; this brief reads the article text in its JSON-LD."
)
FROM_APP_DATA = (
    "The page renders its article from data; this brief reads the article in its page data."
)
FROM_DESCRIPTION = (
    "The page showed almost no text; this brief is from its short description (og:description)."
)


@dataclass(slots=True)
class PageData:
    """What a data-rendered page carries besides its HTML, read from the raw tree."""

    scripts: list[str]
    description: str


def read_page_data(tree: HtmlElement, html: str | bytes) -> PageData:
    """The page-data scripts and the description: kept aside, parsed only if needed.

    Cheap on purpose, as every page pays it: the scripts are looked for only when the
    raw page names them, and the description only in ``<head>``.
    """
    marked = b"__N" in html if isinstance(html, bytes) else "__N" in html
    scripts = [str(s) for s in _DATA_SCRIPTS(tree)] if marked else []
    descriptions = [" ".join(str(d).split()) for d in _OG_DESCRIPTION(tree)]
    return PageData(scripts=scripts, description=max(descriptions, key=len, default=""))


def fallback_text(ld_body: str, data: PageData) -> tuple[str, str]:
    """(text, note) from the best data source, or ("", "") when there is none."""
    if ld_body.strip():
        return markup_to_text(ld_body), FROM_LD
    for script in data.scripts:
        text = _app_data_text(script)
        if text:
            return text, FROM_APP_DATA
    if data.description:
        return html.unescape(data.description), FROM_DESCRIPTION
    return "", ""


def markup_to_text(value: str) -> str:
    """A string of HTML (or plain text) as paragraphs of plain text."""
    text = _BLOCK_TAGS.sub("\n\n", value.replace("\r\n", "\n"))
    text = html.unescape(_TAGS.sub("", text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def _app_data_text(script: str) -> str:
    """The article in a Next.js/Nuxt data blob: its longest prose, or its prose run."""
    try:
        data = json.loads(script)
    except ValueError:
        return ""
    prose = [markup_to_text(s) for s in _strings(data) if _is_prose(s)]
    if not prose:
        return ""
    longest = max(prose, key=len)
    if len(longest.split()) >= 150:
        return longest
    # the body as a list of paragraph strings: keep them all, in order, once each
    seen: set[str] = set()
    paragraphs = [p for p in prose if not (p in seen or seen.add(p))]  # type: ignore[func-returns-value]
    return "\n\n".join(paragraphs)


def _strings(data: Any) -> Iterator[str]:
    stack = [data]
    visited = 0
    while stack and visited < _MAX_WALK_NODES:
        node = stack.pop()
        visited += 1
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))


def _is_prose(value: str) -> bool:
    if len(value) < _MIN_PROSE_CHARS or value.startswith(("http://", "https://", "/", "{", "[")):
        return False
    text = _TAGS.sub(" ", value)
    words = text.split()
    return len(words) >= 12 and any(mark in text for mark in ".!?。") and " " in text.strip()
