"""Text no reader sees, found as a browser would find it, and removed before extraction.

A prompt injection hides in the page: the summarizer must see what a reader sees.
An element is hidden when it is

* ``<template>`` content, or carries the ``hidden`` attribute;
* styled inline (the ``style`` attribute is read as CSS: comments, escapes such as
  ``\\64 isplay``, tabs and newlines, ``!important``, case) with ``display:none``,
  ``visibility:hidden|collapse``, ``content-visibility:hidden``, ``opacity:0``, a
  zero or sub-pixel ``font-size`` (``font:0/0 a`` too), ``transform:scale(0)``, a
  zero-size box that clips its overflow, or a clip/clip-path that leaves nothing;
* positioned off-screen (``position:absolute|fixed`` with a large negative offset,
  or a large negative ``text-indent``), with or without ``aria-hidden``.

Each style is parsed once, in linear time. Styles set by ``<style>`` sheets and
classes are not resolved (a known gap: SECURITY.md §4).
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import HtmlElement

_CANDIDATES = etree.XPath("//body//*[@hidden or @style] | //template")
_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})[ \t\n\r\f]?|(.))", re.DOTALL)
_NUMBER = re.compile(r"[-+]?(?:\d++\.?\d*+|\.\d++)")
_OFFSET_PROPERTIES = ("left", "top", "right", "bottom", "margin-left", "margin-top")
_OFF_SCREEN_PX = 500.0
_UNIT_PX = {"px": 1.0, "em": 16.0, "rem": 16.0, "pt": 1.33, "vw": 10.0, "vh": 10.0, "%": 5.0}
MAX_STYLE_CHARS = 4096  # a style attribute longer than this is read up to here


def drop_hidden(tree: HtmlElement) -> None:
    """Remove every hidden element (its tail, the text after it, is visible and stays)."""
    for element in _CANDIDATES(tree):
        if element.getparent() is None:
            continue
        if (
            element.tag == "template"
            or element.get("hidden") is not None
            or style_hides(element.get("style") or "")
        ):
            element.drop_tree()


def parse_style(style: str) -> dict[str, str]:
    """An inline ``style`` as ``{property: value}``, lower-cased, as a browser reads it."""
    text = _decode_escapes(_strip_comments(style[:MAX_STYLE_CHARS]))
    declarations: dict[str, str] = {}
    for part in text.split(";"):
        name, colon, value = part.partition(":")
        if not colon:
            continue
        value = " ".join(value.lower().replace("!important", " ").split())
        declarations[" ".join(name.lower().split())] = value
    return declarations


def style_hides(style: str) -> bool:
    """Whether an inline style makes its element invisible to a reader."""
    if not style:
        return False
    css = parse_style(style)
    get = css.get
    if get("display") == "none" or get("visibility") in ("hidden", "collapse"):
        return True
    if get("content-visibility") == "hidden" or _is_zero(get("opacity")):
        return True
    if _tiny_font(get("font-size")) or _tiny_font((get("font") or "").split("/")[0].split(" ")[0]):
        return True
    transform = get("transform", "")
    if transform.startswith(("scale(0)", "scale(0,", "scale(0 ")) or transform == "scale(0)":
        return True
    if _clips_everything(css):
        return True
    return _off_screen(css)


def _strip_comments(text: str) -> str:
    # str.find, not a lazy regex: an unclosed "/*" ends the style, read once.
    pieces, start = [], 0
    while True:
        opened = text.find("/*", start)
        if opened < 0:
            pieces.append(text[start:])
            return "".join(pieces)
        pieces.append(text[start:opened])
        closed = text.find("*/", opened + 2)
        if closed < 0:
            return "".join(pieces)
        pieces.append(" ")
        start = closed + 2


def _decode_escapes(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            code = int(match.group(1), 16)
            return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"
        return "" if match.group(2) == "\n" else match.group(2)

    return _ESCAPE.sub(replace, text) if "\\" in text else text


def _px(value: str | None) -> float | None:
    """A length in px (roughly, for em/rem/pt/vw/%), or None if it is not a length."""
    if not value:
        return None
    match = _NUMBER.match(value)
    if not match:
        return None
    number = float(match.group(0))
    unit = value[match.end() :].strip()[:3].rstrip(") ")
    return number * _UNIT_PX.get(unit, 1.0)


def _is_zero(value: str | None) -> bool:
    px = _px(value)
    return px is not None and abs(px) < 0.01


def _tiny_font(value: str | None) -> bool:
    px = _px(value)
    return px is not None and px < 1.0


def _clips_everything(css: dict[str, str]) -> bool:
    clip = css.get("clip", "").replace(",", " ")
    if clip.startswith("rect(") and all(_is_zero(v) for v in clip[5:].rstrip(")").split()[:4]):
        return True
    clip_path = css.get("clip-path", "")
    if clip_path in ("inset(50%)", "circle(0)", "circle(0px)", "polygon()"):
        return True
    overflow = css.get("overflow", "")
    if "hidden" in overflow or "clip" in overflow:
        width = css.get("width") or css.get("max-width")
        height = css.get("height") or css.get("max-height")
        return _is_zero(width) or _is_zero(height)
    return False


def _off_screen(css: dict[str, str]) -> bool:
    indent = _px(css.get("text-indent"))
    if indent is not None and indent <= -_OFF_SCREEN_PX:
        return True
    if css.get("position") not in ("absolute", "fixed"):
        return False
    for name in _OFFSET_PROPERTIES:
        offset = _px(css.get(name))
        if offset is not None and offset <= -_OFF_SCREEN_PX:
            return True
    return False
