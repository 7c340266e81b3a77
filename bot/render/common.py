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
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bot.i18n import translator
from bot.pipeline.models import Brief
from bot.pipeline.normalize import strip_invisible
from bot.pipeline.sentences import split_sentences

ZWSP = "\u200b"
ELLIPSIS = "…"

# English source text; BriefView.status() translates it (bot/i18n catalogues).
MODE_LABELS = {"llm": "AI summary", "extractive": "extractive summary, no AI"}

# Every pattern here reads untrusted text, so each is linear: possessive quantifiers,
# classes that stop at the next opener, and a bounded window where a pattern must
# look back (tests/test_regex_linearity.py checks them all).
_MD_TARGET = r"\(([^()\n]*+(?:\([^()\n]*+\)[^()\n]*+)*+)\)"
_MD_IMAGE = re.compile(r"!\[([^\[\]\n]*+)\]" + _MD_TARGET)
_MD_LINK = re.compile(r"\[([^\[\]\n]*+)\]" + _MD_TARGET)
_ANGLE_LINK = re.compile(r"<([a-z][a-z0-9+.-]*+:[^|<>\s]*+)(?:\|([^<>\n]*+))?>", re.IGNORECASE)
# "://" wherever it stands, glued to a letter or an underscore too ("x_http://"), with
# the scheme letters before it (at most 32 looked at, so the window is bounded).
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]{0,31}+)?://", re.IGNORECASE)
_MAILTO = re.compile(r"\bmailto:", re.IGNORECASE)
# Bare domains that a client could turn into a link. Only real, common TLDs, so
# "Node.js" or "e.g." stay readable; a scheme-less link to a rare TLD is not
# clickable in Slack (verbatim text) or Discord (needs a scheme) anyway.
_TLDS = frozenset(
    [
        "com",
        "net",
        "org",
        "edu",
        "gov",
        "mil",
        "int",
        "info",
        "biz",
        "io",
        "co",
        "ai",
        "app",
        "dev",
        "me",
        "tv",
        "xyz",
        "online",
        "site",
        "top",
        "news",
        "link",
        "click",
        "live",
        "shop",
        "store",
        "tech",
        "cloud",
        "page",
        "blog",
        "ly",
        "gl",
        "gg",
        "to",
        "cc",
        "sh",
        "so",
        "us",
        "uk",
        "de",
        "fr",
        "ru",
        "ua",
        "eu",
        "ca",
        "au",
        "jp",
        "cn",
        "in",
        "br",
        "it",
        "es",
        "nl",
        "se",
        "no",
        "fi",
        "pl",
        "ch",
        "at",
        "be",
        "dk",
        "ie",
        "nz",
        "za",
        "mx",
        "ar",
        "kr",
        "tw",
        "hk",
        "sg",
    ]
)
# A whole dotted run of name characters (never started mid-run, so each character is
# read once); _is_linkable_host then judges it in Python.
_HOSTLIKE = re.compile(r"(?<![a-z0-9-])[a-z0-9-]++(?:\.[a-z0-9-]++)++", re.IGNORECASE)
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
    text = _SCHEME.sub(_break_scheme, text)
    text = _MAILTO.sub("mailto[:]", text)
    return _HOSTLIKE.sub(_break_host, text)


def _break_scheme(match: re.Match[str]) -> str:
    scheme = match.group(1) or ""
    return scheme.replace("t", "x").replace("T", "X") + "[:]//"


def _break_host(match: re.Match[str]) -> str:
    host = match.group(0)
    nxt = match.string[match.end() : match.end() + 1]
    after_scheme = match.string.endswith("[:]//", 0, match.start())
    if not after_scheme and not _is_linkable_host(host, nxt):
        return host
    # Every dot: "news.bbc.co[.]uk" would still link "news.bbc.co".
    return host.replace(".", "[.]")


def _is_linkable_host(host: str, next_char: str) -> bool:
    """Whether a client could make a link of this dotted name (or IPv4 literal)."""
    labels = host.lower().split(".")
    if labels[0] == "www":
        return True
    if len(labels) == 4 and all(label.isdigit() for label in labels):
        return True  # an IPv4 literal, "10.0.0.1"
    tld = labels[-1]
    if not (tld.isascii() and tld.isalpha() and 2 <= len(tld) <= 24):
        return False
    # host/path or host:port for any TLD; a common TLD on its own.
    return next_char in ("/", ":") or tld in _TLDS


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
    if text.isascii():
        return len(text)
    # C speed: a per-character Python loop made rendering a long brief cost seconds.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def trim(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` (``text_len``), on a word boundary, with an ellipsis."""
    if text_len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    cut = text[: limit - 1]
    excess = text_len(cut) - (limit - 1)  # astral characters count twice
    end = len(cut)
    while end and excess > 0:
        end -= 1
        excess -= 2 if ord(cut[end]) > 0xFFFF else 1
    cut = cut[:end]
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

    lang: str = "en"  # issue 19: the channel's language, for the words we add

    def attribution(self) -> str:
        """Who says it, as ``speaker (per source)``; just the speaker if they are the source."""
        _ = translator(self.lang).gettext
        speaker = self.speaker or _("unattributed")
        if self.source and self.source.casefold() != self.speaker.casefold():
            return _("%(speaker)s (per %(source)s)") % {"speaker": speaker, "source": self.source}
        return speaker


@dataclass(frozen=True, slots=True)
class PointView:
    """A verified point of "What the thread says": who commented, and their words."""

    commenter: str
    quote: str


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
    image: str = ""  # https thumbnail for the platform to load ("" for none)
    thread: list[PointView] = field(default_factory=list)  # verified thread points
    llm: bool = False  # an AI summary (not the extractive one)
    lang: str = "en"  # issue 19: the channel's language, for the words we add

    def untitled(self) -> str:
        """What stands in for a missing title."""
        return self.host or translator(self.lang).gettext("Link brief")

    def hidden_note(self, hidden: int) -> str:
        """``3 more checked claims not shown.`` (empty for none)."""
        if hidden <= 0:
            return ""
        t = translator(self.lang)
        text = t.ngettext(
            "%(n)d more checked claim not shown.", "%(n)d more checked claims not shown.", hidden
        )
        return text % {"n": hidden}
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
        t = translator(self.lang)
        parts = [t.gettext(self.mode_label)]
        if self.article_words > 0:
            parts.append(t.gettext("%(n)s-word article") % {"n": f"{self.article_words:,}"})
        if self.summary_sentences > 0:
            parts.append(t.gettext("%(n)d-sentence summary") % {"n": self.summary_sentences})
        if self.claims_checked > 0:
            checked = t.ngettext(
                "%(n)d claim checked", "%(n)d claims checked", self.claims_checked
            ) % {"n": self.claims_checked}
            if self.withheld:
                checked += t.gettext(", %(n)d withheld") % {"n": self.withheld}
            parts.append(checked)
        return " · ".join(parts)

    def withheld_note(self) -> str:
        if self.withheld <= 0:
            return ""
        note = translator(self.lang).ngettext(
            "%(n)d claim could not be checked against the article",
            "%(n)d claims could not be checked against the article",
            self.withheld,
        ) % {"n": self.withheld}
        if self.withheld_reasons:
            note += f" ({'; '.join(self.withheld_reasons)})"
        return note


# Characters that would end or break a link in Slack, Discord or Markdown
# markup; percent-encoding them leaves the URL pointing at the same page.
_URL_UNSAFE = {c: f"%{ord(c):02X}" for c in "<>|\"'`()[]{}^\\"}


def safe_url(url: str) -> str:
    """The article URL if it is http(s), with markup-breaking characters percent-encoded."""
    url = strip_invisible(url).strip()
    if not re.fullmatch(r"https?://[^\s/?#]++[^\s]*+", url, re.IGNORECASE):
        return ""
    return "".join(_URL_UNSAFE.get(c, c) for c in url)


def safe_image(url: str) -> str:
    """An https image URL fit to hand to a chat platform as a thumbnail, or ""."""
    url = safe_url(url)
    return url if url[:8].lower() == "https://" else ""


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


def brief_view(brief: Brief, lang: str | None = None) -> BriefView:
    """The brief as plain defanged data; ``lang`` is the channel's language for our own words."""
    lang = lang or "en"
    url = safe_url(brief.canonical_url) or safe_url(brief.url)
    host = host_of(url) or host_of(brief.url)
    claims = [
        ClaimView(
            claim=defang(c.claim, single_line=True),
            speaker=defang(c.speaker, single_line=True),
            source=defang(c.source, single_line=True),
            quote=defang(c.quote, single_line=True),
            kind=c.kind,
            lang=lang,
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
        image=safe_image(brief.image),
        thread=[
            PointView(defang(p.commenter, single_line=True), defang(p.quote, single_line=True))
            for p in brief.thread
            if p.verified
        ],
        llm=brief.mode == "llm",
        lang=lang,
        summary_sentences=len(split_sentences(brief.summary)) if brief.summary.strip() else 0,
        claims_checked=len(brief.claims),
    )
