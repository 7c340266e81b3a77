"""Briefs as Slack Block Kit messages (``chat.postMessage`` / ``chat.update`` kwargs).

Untrusted text is defanged by ``brief_view``, then trimmed, then escaped
(``&``, ``<``, ``>``) — in that order, so no ``&amp;`` is ever cut in half.
Untrusted mrkdwn goes out with ``verbatim: true`` so Slack does not turn
names or URLs into links on its own; the one link is the article's, built
here as ``<url|site>``.

Limits kept: 3000 characters per text object, 150 for the header, 50 blocks,
10 elements per context block.
"""

from __future__ import annotations

from typing import Any

from bot.pipeline.models import Brief
from bot.render.common import (
    BriefView,
    ClaimView,
    PointView,
    brief_view,
    defang,
    fit_escaped,
    host_of,
    trim,
)

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
MAX_BLOCKS = 50
CONTEXT_ELEMENTS = 10
FALLBACK_LIMIT = 3000
# Chat readability, well inside the 50-block limit: the JSON output has them all.
MAX_CLAIMS = 12
CLAIM_LIMIT = 400
QUOTE_LIMIT = 900
SUMMARY_LIMIT = SECTION_LIMIT
MAX_POINTS = 3

Block = dict[str, Any]


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(texts: list[str]) -> Block:
    return {"type": "context", "elements": [_mrkdwn(t) for t in texts[:CONTEXT_ELEMENTS]]}


def _link(view: BriefView) -> str:
    label = fit_escaped(view.site or view.host or "source", 200, escape)
    # Slack wants "&" in a link's URL escaped too; safe_url already encoded "<>|".
    return f"<{escape(view.url)}|{label}>" if view.url else label


def _claim_text(claim: ClaimView) -> str:
    """``*claim* — speaker (per source)`` and the quote below it, within 3000."""
    head = "*" + fit_escaped(claim.claim, CLAIM_LIMIT, escape) + "*"
    who = fit_escaped(claim.attribution(), 300, escape)
    quote = fit_escaped(claim.quote, QUOTE_LIMIT, escape)
    # Each piece is bounded after escaping, so the whole stays under 3000.
    return f"{head} — {who}\n> {quote}"


def _point_text(point: PointView) -> str:
    """``*commenter*`` and their verbatim words, within 3000."""
    who = "*" + fit_escaped(point.commenter, 200, escape) + "*"
    return f"{who}\n> {fit_escaped(point.quote, QUOTE_LIMIT, escape)}"


def _thumbnail(view: BriefView) -> dict[str, Any]:
    # Slack loads the image itself; the bot never fetches it.
    return {"type": "image", "image_url": view.image, "alt_text": trim(view.title or "image", 200)}


def _header(view: BriefView) -> Block:
    title = view.title or view.untitled()
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": fit_escaped(title, HEADER_LIMIT, escape)},
    }


def _footer(view: BriefView, hidden: int) -> list[str]:
    notes = []
    if view.withheld_note():
        notes.append(view.withheld_note() + ".")
    if hidden > 0:
        notes.append(view.hidden_note(hidden))
    return notes


def render_slack(brief: Brief, lang: str | None = None) -> dict[str, Any]:
    """The brief as ``{"text": fallback, "blocks": [...]}``; our own words in ``lang``."""
    view = brief_view(brief, lang)
    blocks: list[Block] = [_header(view)]
    byline = [_link(view)]
    rest = [p for p in (view.author, view.published) if p]
    if rest:
        byline.append(fit_escaped(" · ".join(rest), 500, escape))
    byline.append(escape(view.status()))
    blocks.append(_context([" · ".join(byline)]))
    if view.warnings:
        blocks.append(_context(["⚠️ " + fit_escaped(w, 1000, escape) for w in view.warnings]))
    if view.summary:
        summary = _section(fit_escaped(view.summary, SUMMARY_LIMIT, escape))
        if view.image:
            summary["accessory"] = _thumbnail(view)
        blocks.append(summary)
    if view.thread:
        blocks.append(_section("*What the thread says*"))
        blocks.extend(_section(_point_text(p)) for p in view.thread[:MAX_POINTS])

    shown = view.claims[:MAX_CLAIMS]
    # Header, byline, warnings, summary, divider, footer: leave room for them.
    room = MAX_BLOCKS - len(blocks) - 2
    shown = shown[:room]
    if shown:
        blocks.append({"type": "divider"})
        blocks.extend(_section(_claim_text(c)) for c in shown)
    footer = _footer(view, len(view.claims) - len(shown))
    if footer:
        blocks.append(_context([escape(n) for n in footer]))
    return {"text": _fallback(view), "blocks": blocks}


def _fallback(view: BriefView) -> str:
    """Notification text: title and the start of the summary."""
    title = view.title or view.untitled()
    summary = trim(" ".join(view.summary.split()), 280)
    text = f"{trim(title, 200)} — {summary}" if summary else trim(title, 200)
    return fit_escaped(text, FALLBACK_LIMIT, escape)


def render_slack_error(message: str) -> dict[str, Any]:
    """A failure, said plainly (the message may quote a server's content type)."""
    text = "⚠️ " + fit_escaped(defang(message), SECTION_LIMIT - 3, escape)
    return {"text": text, "blocks": [_section(text)]}


def render_slack_placeholder(url: str) -> dict[str, Any]:
    """``Reading example.com…`` while the brief is being built."""
    host = host_of(url) or "the link"
    text = f"Reading {escape(trim(host, 200))}…"
    return {"text": text, "blocks": [_context([text])]}
