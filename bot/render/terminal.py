"""Briefs for a terminal (rich: bold, quotes, the article's link) and as plain text for scripts.

No markup language sits between the brief and the screen: every string becomes a
``rich.text.Text`` (which drops control codes), never markup that rich would
parse, so ``[bold]`` or ``*stars*`` in a page are shown as typed and nothing needs
escaping — the backslashes of the Markdown renderer (``Recipe \\| The…``) are gone.
Text is defanged first (``bot.render.common``), like every renderer's.
"""

from __future__ import annotations

import re

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from bot.pipeline.models import Brief
from bot.render.common import BriefView, ClaimView, brief_view, defang, trim

SUMMARY_LIMIT = 4000
CLAIM_LIMIT = 500
QUOTE_LIMIT = 1000
MAX_CLAIMS = 20

# C0/C1 control characters but newline and tab: a page must not drive the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


_QUOTE_MARKS = "“”\"'"


def plain(text: str) -> str:
    return _CONTROL.sub("", text)


def _notes(view: BriefView, shown: int) -> str:
    notes = []
    if view.withheld_note():
        notes.append(view.withheld_note() + ".")
    hidden = len(view.claims) - shown
    if hidden > 0:
        notes.append(f"{hidden} more checked {'claim' if hidden == 1 else 'claims'} not shown.")
    return " ".join(notes)


def _quoted(quote: str) -> str:
    inner = trim(quote, QUOTE_LIMIT).strip(_QUOTE_MARKS)
    return f"“{inner}”"


# --- terminal -----------------------------------------------------------------
def render_terminal(brief: Brief) -> RenderableType:
    """The brief as rich renderables: title, byline and link, summary, claims with quotes."""
    view = brief_view(brief)
    parts: list[RenderableType] = [Text(trim(view.title or view.host or "Link brief", 300),
                                        style="bold")]  # fmt: skip
    byline = trim(view.byline(), 300)
    if byline:
        parts.append(Text(byline, style="dim"))
    if view.url:
        parts.append(Text(view.url, style=f"cyan underline link {view.url}"))
    parts.append(Text(view.status(), style="dim italic"))
    parts += [Text(f"⚠ {trim(w, 500)}", style="yellow") for w in view.warnings]
    if view.summary:
        parts += [Text(""), Text(trim(view.summary, SUMMARY_LIMIT))]
    shown = view.claims[:MAX_CLAIMS]
    if shown:
        parts += [Text(""), Text("Key claims", style="bold underline")]
        for claim in shown:
            parts += _terminal_claim(claim)
    notes = _notes(view, len(shown))
    if notes:
        parts += [Text(""), Text(notes, style="dim italic")]
    return Group(*parts)


def _terminal_claim(claim: ClaimView) -> list[RenderableType]:
    """``• claim — who`` over its quote, both hanging under the bullet."""
    head = Text()  # styles per span: a style given here would run through the whole line
    head.append(trim(claim.claim, CLAIM_LIMIT), style="bold")
    head.append(" — ")
    head.append(trim(claim.attribution(), 300), style="italic")
    quote = Padding(Text(_quoted(claim.quote), style="green"), (0, 0, 0, 2))
    row = Table.grid(padding=(0, 1))
    row.add_column(no_wrap=True)
    row.add_column()
    row.add_row("•", Group(head, quote))
    return [row]


def render_terminal_error(link: str, message: str) -> RenderableType:
    line = Text()
    line.append("⚠ ", style="bold red")
    line.append(link, style="dim")
    line.append("\n  ")
    line.append(trim(defang(message), 2000))
    return line


# --- plain text (stdout is a pipe or a file) ------------------------------------
def render_plain(brief: Brief) -> str:
    """The same brief as plain lines for scripts: no escapes, no colour, no markup."""
    view = brief_view(brief)
    lines = [trim(view.title or view.host or "Link brief", 300)]
    meta = " — ".join(p for p in (trim(view.byline(), 300), view.url) if p)
    if meta:
        lines.append(meta)
    lines.append(view.status())
    lines += [f"⚠ {trim(w, 500)}" for w in view.warnings]
    if view.summary:
        lines += ["", trim(view.summary, SUMMARY_LIMIT)]
    shown = view.claims[:MAX_CLAIMS]
    if shown:
        lines += ["", "Key claims:"]
        for claim in shown:
            lines.append(f"- {trim(claim.claim, CLAIM_LIMIT)} — {trim(claim.attribution(), 300)}")
            lines.append(f"  {_quoted(claim.quote)}")
    notes = _notes(view, len(shown))
    if notes:
        lines += ["", notes]
    return plain("\n".join(lines))


def render_plain_error(link: str, message: str) -> str:
    return plain(f"{link}\n⚠ {trim(defang(message), 2000)}")
