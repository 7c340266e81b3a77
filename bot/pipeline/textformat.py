"""Turn trafilatura's extracted body (its internal XML tree) into the article text.

The text keeps what a summarizer needs to attribute claims: paragraphs separated by
blank lines, headings as ``# `` lines, quoted passages as ``> `` lines sitting right
under the line that introduces them (``ISW:``), list items as ``- `` lines, and the
page's own characters (footnote markers such as ``[1]`` included) untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from lxml.etree import _Element

from bot.pipeline.cleanup import is_boilerplate, is_related_label, is_trailer

_SPACES = re.compile(r"[^\S\n]+")
_NEWLINES_AROUND = re.compile(r"(?<! ) *+\n *+")  # from where the spaces start: linear
# a trailing "See also:"-style lead-in whose link trafilatura dropped as boilerplate
_DANGLING_LEAD_IN = re.compile(r"^(?:see,? also|related|read more|more)\b.{0,30}:$", re.IGNORECASE)
_WORDS = re.compile(r"\w+")
# under a "DON'T MISS" label, paragraphs mostly made of link text are links to other stories
_LINKED = 0.6
_BLOCK_TAGS = frozenset({"p", "head", "quote", "list", "table", "code"})


@dataclass(slots=True)
class _Block:
    kind: str  # "p", "head", "quote", "list", "table", "code"
    text: str
    linked: float = 0.0  # share of the text that is link text


@dataclass(slots=True)
class BodyText:
    text: str
    links: list[str] = field(default_factory=list)


# share of a table row's text inside links above which the row is navigation
_LINKED_ROW = 0.5


def body_to_text(body: _Element | None, base_url: str, title: str = "") -> BodyText:
    """Render the extracted body; collect the absolute http(s) links found inside it.

    A leading heading that repeats the page title is dropped: the title travels apart.
    """
    if body is None:
        return BodyText("")
    links: list[str] = []
    blocks: list[_Block] = []
    for child in body:
        _render_block(child, blocks, links, base_url)
    if blocks and blocks[0].kind == "head" and _same_words(blocks[0].text[2:], title):
        blocks.pop(0)
    return BodyText(_join_blocks(_drop_boilerplate(blocks)), _absolute_links(links, base_url))


def _drop_boilerplate(blocks: list[_Block]) -> list[_Block]:
    """Without cross-links, subscription prompts, related-story labels with the links under
    them, and the contact or credit lines that end a story. Quotes, lists and tables are
    never touched: only paragraphs and headings."""
    kept: list[_Block] = []
    under_label = False
    for block in blocks:
        if block.kind not in ("p", "head"):
            under_label = False
            kept.append(block)
            continue
        text = block.text[2:] if block.kind == "head" else block.text
        if is_related_label(text):
            under_label = True
            continue
        if (under_label and block.linked >= _LINKED) or is_boilerplate(text):
            continue
        under_label = False
        kept.append(block)
    while kept and kept[-1].kind == "p" and is_trailer(kept[-1].text):
        kept.pop()
    return kept


def _same_words(heading: str, title: str) -> bool:
    heading_words, title_words = _WORDS.findall(heading.lower()), _WORDS.findall(title.lower())
    if not heading_words or not title_words:
        return False
    # "Site | Headline" titles contain the heading; a heading may add a kicker to the title
    joined_heading, joined_title = " ".join(heading_words), " ".join(title_words)
    return joined_heading in joined_title or joined_title in joined_heading


def _render_block(elem: _Element, out: list[_Block], links: list[str], base: str) -> None:
    tag = elem.tag
    if tag == "head":
        text = _inline(elem, links).replace("\n", " ").strip()
        if text:
            out.append(_Block("head", "# " + text))
    elif tag == "quote":
        text = _render_quote(elem, links, base)
        if text:
            out.append(_Block("quote", text))
    elif tag == "list":
        text = "\n".join(_list_lines(elem, links, 0))
        if text:
            out.append(_Block("list", text))
    elif tag == "table":
        text = _render_table(elem, links)
        if text:
            out.append(_Block("table", text))
    elif tag == "code":
        text = "".join(elem.itertext()).strip("\n")
        if text.strip():
            out.append(_Block("code", text))
    elif tag == "graphic":
        return
    else:  # p and anything unexpected: a paragraph of inline text
        text = _inline(elem, links).strip()
        if text:
            out.append(_Block("p", text, _link_share(elem, text)))


def _link_share(elem: _Element, text: str) -> float:
    linked = sum(len("".join(ref.itertext()).strip()) for ref in elem.iter("ref"))
    return min(1.0, linked / len(text)) if text else 0.0


def _render_quote(elem: _Element, links: list[str], base: str) -> str:
    """A quote becomes ``> `` lines; paragraphs inside it are split by a bare ``>`` line
    so the whole quoted passage stays one contiguous block."""
    if any(child.tag in _BLOCK_TAGS for child in elem):
        inner: list[_Block] = []
        lead = _clean(elem.text or "").strip()
        if lead:
            inner.append(_Block("p", lead))
        for child in elem:
            if child.tag in _BLOCK_TAGS:
                _render_block(child, inner, links, base)
            else:
                text = _inline_with_tail(child, links).strip()
                if text:
                    inner.append(_Block("p", text))
                continue
            tail = _clean(child.tail or "").strip()
            if tail:
                inner.append(_Block("p", tail))
        paragraphs = [b.text for b in inner]
    else:
        paragraphs = [_inline(elem, links).strip()]
    quoted = []
    for paragraph in paragraphs:
        if paragraph:
            quoted.append("\n".join("> " + line if line else ">" for line in paragraph.split("\n")))
    return "\n>\n".join(quoted)


def _list_lines(elem: _Element, links: list[str], depth: int) -> list[str]:
    lines: list[str] = []
    indent = "  " * depth
    for item in elem:
        if item.tag != "item":
            continue
        nested = [child for child in item if child.tag == "list"]
        parts: list[str] = []
        _collect(item, parts, links, top=True, skip_lists=True)  # nested lists go below
        text = _clean("".join(parts)).replace("\n", " ").strip()
        if text:
            lines.append(f"{indent}- {text}")
        for child in nested:
            lines.extend(_list_lines(child, links, depth + 1))
    return lines


def _render_table(elem: _Element, links: list[str]) -> str:
    rows = []
    for row in elem.iter("row"):
        row_links: list[str] = []
        cells = [
            _inline(cell, row_links).replace("\n", " ").strip()
            for cell in row
            if cell.tag == "cell"
        ]
        text = " | ".join(cells)
        # a row that is mostly links is a layout table's menu or a list of other pages:
        # neither its text nor its links are the article's
        if any(cells) and _link_share(row, text.replace(" | ", "")) < _LINKED_ROW:
            rows.append(text)
            links.extend(row_links)
    return "\n".join(rows)


def _inline(elem: _Element, links: list[str]) -> str:
    """The text of an element and its inline descendants; ``lb`` becomes a line break."""
    parts: list[str] = []
    _collect(elem, parts, links, top=True)
    return _clean("".join(parts))


def _inline_with_tail(elem: _Element, links: list[str]) -> str:
    return _inline(elem, links) + _clean(elem.tail or "")


def _collect(
    elem: _Element, parts: list[str], links: list[str], top: bool = False, skip_lists: bool = False
) -> None:
    tag = elem.tag
    if tag == "list" and skip_lists and not top:
        parts.append(" ")  # rendered apart, indented; keep its tail a separate word
    elif tag == "lb":
        parts.append("\n")
    elif tag == "graphic":
        pass
    else:
        if tag == "ref" and (target := elem.get("target")):
            links.append(target)
        if tag in _BLOCK_TAGS and not top:
            parts.append("\n")
        if elem.text:
            parts.append(elem.text)
        for child in elem:
            _collect(child, parts, links, skip_lists=skip_lists)
        if tag in _BLOCK_TAGS and not top:
            parts.append("\n")
    if not top and elem.tail:
        parts.append(elem.tail)


def _clean(text: str) -> str:
    text = _SPACES.sub(" ", text)
    return _NEWLINES_AROUND.sub("\n", text).strip(" ")


def _join_blocks(blocks: list[_Block]) -> str:
    # drop a lead-in left dangling at the very end ("See, also:" whose link was boilerplate)
    while blocks and blocks[-1].kind == "p" and _DANGLING_LEAD_IN.match(blocks[-1].text):
        blocks.pop()
    pieces: list[str] = []
    for i, block in enumerate(blocks):
        if i:
            previous = blocks[i - 1]
            # the line that introduces a quote ("ISW:") stays glued to it, so the quoted
            # block and its attribution read as one unit
            introduces = previous.kind == "p" and previous.text.rstrip().endswith((":", "："))
            pieces.append("\n" if block.kind == "quote" and introduces else "\n\n")
        pieces.append(block.text)
    return "".join(pieces).strip()


def _absolute_links(links: list[str], base: str) -> list[str]:
    seen: dict[str, None] = {}
    for href in links:
        absolute = urljoin(base, href.strip())
        if urlsplit(absolute).scheme in ("http", "https"):
            seen.setdefault(absolute, None)
    return list(seen)


def strip_markup(text: str) -> str:
    """The text without the marks this module adds (``> ``, ``# ``, ``- ``): only the
    page's own words, for scoring against a plain-text ground truth."""
    lines = []
    for line in text.split("\n"):
        stripped = line.lstrip()
        while stripped.startswith(">"):
            stripped = stripped[1:].lstrip()
        if stripped.startswith(("# ", "- ")):
            stripped = stripped[2:]
        lines.append(stripped)
    return "\n".join(lines)
