"""Briefs as Markdown, for the console front end and the CLI.

Untrusted text is defanged by ``brief_view`` and then escaped so it cannot
form links, images, HTML or emphasis; the article's own URL is the one link.
There is no platform limit here, but overlong parts are still trimmed so a
runaway model answer stays readable in a terminal.
"""

from __future__ import annotations

import re

from bot.i18n import translator
from bot.pipeline.models import Brief
from bot.render.common import BriefView, ClaimView, brief_view, defang, trim

SUMMARY_LIMIT = 4000
CLAIM_LIMIT = 500
QUOTE_LIMIT = 1000
MAX_CLAIMS = 20

_MARKDOWN = re.compile(r"([\\`*_\[\]<>!|])")
_LINE_START = re.compile(r"(?m)^([ \t]*+)([#>+\-=]|\d++[.)])")


def escape(text: str) -> str:
    """Backslash the characters that make links, images, HTML, code or emphasis."""
    text = _MARKDOWN.sub(r"\\\1", text)
    # A line that starts like a heading, quote or list item stays plain text.
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def _claim_lines(claim: ClaimView) -> list[str]:
    head = escape(trim(claim.claim, CLAIM_LIMIT))
    who = escape(trim(claim.attribution(), 300))
    quote = escape(trim(claim.quote, QUOTE_LIMIT))
    return [f"- **{head}** — {who}", f"  > {quote}"]


def _header(view: BriefView) -> list[str]:
    title = escape(trim(view.title or view.untitled(), 300))
    byline = escape(trim(view.byline(), 300))
    link = f"<{view.url}>" if view.url else ""
    meta = " — ".join(p for p in (byline, link) if p)
    lines = [f"# {title}"]
    if meta:
        lines.append(meta)
    lines.append(f"*{escape(view.status())}*")
    lines.extend(f"> ⚠ {escape(trim(w, 500))}" for w in view.warnings)
    return lines


def render_markdown(brief: Brief, lang: str | None = None) -> str:
    view = brief_view(brief, lang)
    lines = _header(view)
    if view.summary:
        lines += ["", escape(trim(view.summary, SUMMARY_LIMIT))]
    if view.thread:
        lines += ["", "## What the thread says", ""]
        for point in view.thread:
            lines += [
                f"- **{escape(trim(point.commenter, 200))}**",
                f"  > {escape(trim(point.quote, QUOTE_LIMIT))}",
            ]
    shown = view.claims[:MAX_CLAIMS]
    if shown:
        heading = translator(view.lang).gettext("Key claims")
        lines += ["", f"## {heading}", ""]
        for claim in shown:
            lines += _claim_lines(claim)
    notes = []
    if view.withheld_note():
        notes.append(escape(view.withheld_note()) + ".")
    hidden = len(view.claims) - len(shown)
    if hidden > 0:
        notes.append(view.hidden_note(hidden))
    if notes:
        lines += ["", "_" + " ".join(notes) + "_"]
    return "\n".join(lines) + "\n"


def render_error_markdown(message: str) -> str:
    return f"⚠ {escape(trim(defang(message), 2000))}\n"
