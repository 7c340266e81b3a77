"""What every renderer shares: the brief as plain, defanged data, and trimming.

Everything in a brief except its URL came from a web page or a model, so it
is untrusted. ``brief_view`` turns a ``Brief`` into a ``BriefView`` whose
strings are already *defanged* — invisible characters removed, link and
image syntax reduced to their text, URLs made non-clickable, mentions
broken with a zero-width space — but NOT yet escaped: each renderer escapes
for its own markup, after trimming, so an escape sequence is never cut.

    brief ──► brief_view (defang) ──► renderer: trim ──► escape ──► platform dict
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.pipeline.models import Brief
from bot.pipeline.normalize import strip_invisible
from bot.pipeline.sentences import split_sentences

ZWSP = "\u200b"
ELLIPSIS = "…"

MODE_LABELS = {"llm": "AI summary", "extractive": "extractive summary, no AI"}

_MD_IMAGE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_MD_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
_ANGLE_LINK = re.compile(r"<([a-z][a-z0-9+.-]*:[^|>\s]*)(?:\|([^>\n]*))?>", re.IGNORECASE)
_SCHEME = re.compile(r"\b([a-z][a-z0-9+.-]*)://", re.IGNORECASE)
_MAILTO = re.compile(r"\bmailto:", re.IGNORECASE)
# A dotted host name ending in a letters-only TLD: Slack (and some clients)
# turn these into links even without a scheme.
# Bare domains that a client could turn into a link. Only real, common TLDs, so
# "Node.js" or "e.g." stay readable; a scheme-less link to a rare TLD is not
# clickable in Slack (verbatim text) or Discord (needs a scheme) anyway.
_TLDS = (
    "com|net|org|edu|gov|mil|int|info|biz|io|co|ai|app|dev|me|tv|xyz|online|site|top|news"
    "|link|click|live|shop|store|tech|cloud|page|blog|ly|gl|gg|to|cc|sh|so|us|uk|de|fr|ru"
    "|ua|eu|ca|au|jp|cn|in|br|it|es|nl|se|no|fi|pl|ch|at|be|dk|ie|nz|za|mx|ar|kr|tw|hk|sg"
)
_DOMAIN = re.compile(
    rf"\b(?:www\.(?:[a-z0-9-]+\.)*[a-z]{{2,24}}"  # www.anything
    rf"|(?:[a-z0-9-]+\.)+[a-z]{{2,24}}(?=[/:])"  # host/path or host:port
    rf"|(?:[a-z0-9-]+\.)+(?:{_TLDS})\b(?!\.?[a-z0-9]))",  # a common TLD
    re.IGNORECASE,
)
_MENTION_AT = re.compile(r"@(?=\w)")
_MENTION_BANG = re.compile(r"<(?=[!@#&/:]|t:)", re.IGNORECASE)


def defang_links(text: str) -> str:
    """Images dropped, link markup reduced to its text, URLs made non-clickable."""
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(lambda m: m.group(1), text)
    # A link cut short (a quote ending in "[x](https://evil.") has no ")" for the two
    # patterns above, and could close on a later ")" the renderer adds; split its "]("
    # so no part of it is ever link syntax (tests/adversarial/test_model_output.py).
    text = text.replace("](", "] (")
    text = _ANGLE_LINK.sub(lambda m: m.group(2) if m.group(2) else m.group(1), text)
    text = _SCHEME.sub(lambda m: m.group(1).replace("t", "x") + "[:]//", text)
    text = _MAILTO.sub("mailto[:]", text)
    # Every dot: "news.bbc.co[.]uk" would still link "news.bbc.co".
    return _DOMAIN.sub(lambda m: m.group(0).replace(".", "[.]"), text)


def defang_mentions(text: str) -> str:
    """Break every ``@name`` and ``<!…>``/``<@…>``/``<#…>`` so nothing can ping."""
    text = _MENTION_AT.sub("@" + ZWSP, text)
    return _MENTION_BANG.sub("<" + ZWSP, text)


def defang(text: str, *, single_line: bool = False) -> str:
    """Untrusted text made inert (not escaped): the first step of every renderer."""
    text = defang_mentions(defang_links(strip_invisible(text)))
    if single_line:
        return " ".join(text.split())
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def text_len(text: str) -> int:
    """Length as the platforms count it, conservatively (UTF-16 code units)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def trim(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` (``text_len``), on a word boundary, with an ellipsis."""
    if text_len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    cut = text[: limit - 1]
    while cut and text_len(cut) > limit - 1:
        cut = cut[:-1]
    space = cut.rfind(" ")
    if space > len(cut) * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—\n") + ELLIPSIS


def fit_escaped(text: str, limit: int, escape: Callable[[str], str]) -> str:
    """The escaped form of ``text``, trimmed BEFORE escaping so it fits ``limit``.

    Escaping can lengthen text (``&`` → ``&amp;``), so the raw cut is found by
    bisection; an escape sequence is therefore never split.
    """
    escaped = escape(text)
    if text_len(escaped) <= limit:
        return escaped
    lo, hi = 0, min(len(text), limit)
    best = escape(trim(text, 0))
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = escape(trim(text, mid))
        if text_len(candidate) <= limit:
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    return best


def host_of(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        host = ""
    # Only name characters: the host is shown as link text and in placeholders.
    return re.sub(r"[^\w.-]", "", host.removeprefix("www."))


@dataclass(frozen=True, slots=True)
class ClaimView:
    claim: str
    speaker: str
    source: str
    quote: str
    kind: str

    def attribution(self) -> str:
        """Who says it, as ``speaker (per source)``; just the speaker if they are the source."""
        speaker = self.speaker or "unattributed"
        if self.source and self.source.casefold() != self.speaker.casefold():
            return f"{speaker} (per {self.source})"
        return speaker


@dataclass(frozen=True, slots=True)
class BriefView:
    """A brief's sections as defanged plain data; renderers trim and escape."""

    url: str  # the article's own link: the one link a brief may carry
    host: str
    title: str
    site: str
    author: str
    published: str
    summary: str
    claims: list[ClaimView]
    withheld: int  # claims whose quote or speaker did not check out
    withheld_reasons: list[str]  # why, in words ("said by X, not Y"), distinct, defanged
    reduced_by_pct: int
    article_words: int
    mode_label: str
    warnings: list[str]
    summary_sentences: int = 0
    claims_checked: int = 0  # every claim the model gave, shown or withheld

    def byline(self) -> str:
        """``site · author · date`` with the empty parts left out (unescaped)."""
        # Each part is bounded so a runaway site name cannot push out the date.
        parts = [
            trim(self.site or self.host, 100),
            trim(self.author, 100),
            trim(self.published, 40),
        ]
        return " · ".join(p for p in parts if p)

    def status(self) -> str:
        """The brief's kind and sizes in words a reader gets right:
        ``AI summary · 1,840-word article · 3-sentence summary · 4 claims checked, 1 withheld``.
        """
        parts = [self.mode_label]
        if self.article_words > 0:
            parts.append(f"{self.article_words:,}-word article")
        if self.summary_sentences > 0:
            parts.append(f"{self.summary_sentences}-sentence summary")
        if self.claims_checked > 0:
            noun = "claim" if self.claims_checked == 1 else "claims"
            checked = f"{self.claims_checked} {noun} checked"
            parts.append(checked + (f", {self.withheld} withheld" if self.withheld else ""))
        return " · ".join(parts)

    def withheld_note(self) -> str:
        if self.withheld <= 0:
            return ""
        noun = "claim" if self.withheld == 1 else "claims"
        note = f"{self.withheld} {noun} could not be checked against the article"
        if self.withheld_reasons:
            note += f" ({'; '.join(self.withheld_reasons)})"
        return note


# Characters that would end or break a link in Slack, Discord or Markdown
# markup; percent-encoding them leaves the URL pointing at the same page.
_URL_UNSAFE = {c: f"%{ord(c):02X}" for c in "<>|\"'`()[]{}^\\"}


def safe_url(url: str) -> str:
    """The article URL if it is http(s), with markup-breaking characters percent-encoded."""
    url = strip_invisible(url).strip()
    if not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", url, re.IGNORECASE):
        return ""
    return "".join(_URL_UNSAFE.get(c, c) for c in url)


MAX_WITHHELD_REASONS = 3
WITHHELD_REASON_LIMIT = 120


def _withheld_reasons(brief: Brief) -> list[str]:
    """Why claims were withheld, so a reader sees "said by X, not Y" in the channel.

    A reason can quote the model's speaker, so it is made inert like any model text."""
    reasons: list[str] = []
    for claim in brief.claims:
        reason = trim(defang(claim.reason, single_line=True), WITHHELD_REASON_LIMIT)
        if not claim.verified and reason and reason not in reasons:
            reasons.append(reason)
    return reasons[:MAX_WITHHELD_REASONS]


def brief_view(brief: Brief) -> BriefView:
    url = safe_url(brief.canonical_url) or safe_url(brief.url)
    host = host_of(url) or host_of(brief.url)
    claims = [
        ClaimView(
            claim=defang(c.claim, single_line=True),
            speaker=defang(c.speaker, single_line=True),
            source=defang(c.source, single_line=True),
            quote=defang(c.quote, single_line=True),
            kind=c.kind,
        )
        for c in brief.verified_claims
    ]
    return BriefView(
        url=url,
        host=host,
        title=defang(brief.title, single_line=True),
        site=defang(brief.site, single_line=True),
        author=defang(brief.author, single_line=True),
        published=defang(brief.published, single_line=True),
        summary=defang(brief.summary),
        claims=claims,
        withheld=brief.unverified_count,
        withheld_reasons=_withheld_reasons(brief),
        reduced_by_pct=brief.stats.reduced_by_pct,
        article_words=brief.stats.article_words,
        mode_label=MODE_LABELS.get(brief.mode, brief.mode),
        warnings=[defang(w, single_line=True) for w in brief.warnings if w.strip()],
        summary_sentences=len(split_sentences(brief.summary)) if brief.summary.strip() else 0,
        claims_checked=len(brief.claims),
    )
