"""Quote verification: a claim reaches chat only if the article backs it.

``verify_draft`` checks every claim the summarizer proposed, in the model's
order, and returns them all as ``Claim`` objects (``verified`` + ``reason``):

1. the quote is normalised (``normalize_for_match``, footnote markers such as
   ``[1]`` dropped, surrounding quote marks and punctuation trimmed); a
   ``...`` inside it is an elision, and every part must stand in the same
   paragraph, in order;
2. it must stand inside ONE paragraph of the article: as an exact substring,
   or, for quotes of at least ``MIN_FUZZY_WORDS`` words, as a fuzzy match of
   at least ``fuzzy_threshold`` (rapidfuzz ratio against the best window of
   the paragraph). A fuzzy match may drop words or change punctuation, but
   may not add or change a number, add a word that is not a spelling variant
   of one in the passage, or drop a negation. Shorter quotes count only when
   exact. A quote that only exists across a paragraph break is refused;
3. the speaker must be the one the text gives those words
   (``speaker_check.ArticleSpeakers``, on the attribution model): the person a
   quote is attributed to ("said by Hillary Clinton, not Donald Trump" when
   another is claimed), and "the author" only for words attributed to no one.
   Words attributed to no one may be credited to someone named in that
   paragraph, or in the line introducing its quoted block.

Fuzzy matching runs only on paragraphs that share most of the quote's words,
so a typical article costs a few milliseconds per brief.

``clean_summary`` removes from the model's summary every link the article did
not have.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from rapidfuzz import fuzz

from bot.pipeline.attribution import Block, split_blocks
from bot.pipeline.models import Article, Claim, Draft
from bot.pipeline.normalize import normalize_for_match
from bot.pipeline.speaker_check import AUTHOR_ALIASES, REASON_SPEAKER, ArticleSpeakers

MIN_FUZZY_WORDS = 4

REASON_EMPTY_QUOTE = "empty quote"
REASON_EMPTY_CLAIM = "empty claim"
REASON_NO_SPEAKER = "no speaker given"
REASON_TOO_SHORT = "quote too short"
REASON_NOT_FOUND = "quote not found"
REASON_SPANS = "quote spans more than one paragraph"
__all__ = ["AUTHOR_ALIASES", "REASON_SPEAKER", "clean_summary", "verify_draft"]

_FOOTNOTE = re.compile(r"\[\d{1,3}\]")
_EDGE = " \"'.,;:!?-…()"
_WORD = re.compile(r"\w+(?:'\w+)*")
_NEGATIONS = frozenset(
    {"not", "no", "never", "none", "nor", "neither", "nobody", "nothing", "cannot", "without"}
)
# Paragraphs sharing less than this share of the quote's words are not worth
# a fuzzy look: a quote with a dropped or changed word still shares ~90%.
_MIN_OVERLAP = 0.6
_MAX_FUZZY_CANDIDATES = 3


class _Para:
    """One article paragraph, pre-normalised once per verification."""

    __slots__ = ("block", "index", "norm", "words")

    def __init__(self, block: Block, index: int) -> None:
        self.block = block
        self.index = index
        self.norm = _norm(block.text)
        self.words = set(_WORD.findall(self.norm))


def _norm(text: str) -> str:
    return normalize_for_match(_FOOTNOTE.sub(" ", text))


def _quote_parts(quote: str) -> list[str]:
    """The normalised pieces of a quote, split at its elisions ("...")."""
    parts = [p.strip(_EDGE) for p in _norm(quote).split("...")]
    return [p for p in parts if p]


def verify_draft(article: Article, draft: Draft, *, fuzzy_threshold: float = 90.0) -> list[Claim]:
    """Every claim of ``draft``, in order, with ``verified`` and ``reason`` set."""
    blocks = split_blocks(article.text)
    paras = [_Para(b, i) for i, b in enumerate(blocks)]
    full = " ".join(p.norm for p in paras)
    speakers = ArticleSpeakers(article, blocks) if draft.claims else None
    return [
        _verify_one(speakers, paras, full, dc.model_dump(), fuzzy_threshold) for dc in draft.claims
    ]


def _verify_one(
    speakers: ArticleSpeakers | None,
    paras: list[_Para],
    full: str,
    fields: dict[str, str],
    threshold: float,
) -> Claim:
    reason = _check(speakers, paras, full, fields, threshold)
    return Claim(**fields, verified=not reason, reason=reason)


def _check(
    speakers: ArticleSpeakers | None,
    paras: list[_Para],
    full: str,
    fields: dict[str, str],
    threshold: float,
) -> str:
    if not fields["claim"].strip():
        return REASON_EMPTY_CLAIM
    parts = _quote_parts(fields["quote"])
    if not parts:
        return REASON_EMPTY_QUOTE
    speaker = fields["speaker"].strip()
    if not speaker:
        return REASON_NO_SPEAKER
    n_words = sum(len(_WORD.findall(p)) for p in parts)

    hits = [p for p in paras if _exact_in(parts, p.norm)]
    if not hits and n_words >= MIN_FUZZY_WORDS:
        hits = _fuzzy_hits(parts, paras, threshold)
    if not hits:
        if n_words < MIN_FUZZY_WORDS:
            return REASON_TOO_SHORT
        if _exact_in(parts, full):
            return REASON_SPANS
        return REASON_NOT_FOUND
    assert speakers is not None
    reasons = [speakers.check(speaker, p.index, parts) for p in hits]
    if "" in reasons:
        return ""
    # a reason that names who did say it beats the generic one
    return next((r for r in reasons if r != REASON_SPEAKER), REASON_SPEAKER)


def _exact_in(parts: list[str], text: str) -> bool:
    """All parts occur in ``text``, in order, without overlapping."""
    pos = 0
    for part in parts:
        found = text.find(part, pos)
        if found < 0:
            return False
        pos = found + len(part)
    return True


# --- fuzzy matching ---------------------------------------------------------


def _fuzzy_hits(parts: list[str], paras: list[_Para], threshold: float) -> list[_Para]:
    quote_words = set(_WORD.findall(" ".join(parts)))
    scored = []
    for p in paras:
        overlap = len(quote_words & p.words) / len(quote_words)
        if overlap >= _MIN_OVERLAP:
            scored.append((overlap, p))
    scored.sort(key=lambda item: item[0], reverse=True)
    return [
        p
        for _, p in scored[:_MAX_FUZZY_CANDIDATES]
        if all(part in p.norm or _fuzzy_in(part, p.norm, threshold) for part in parts)
    ]


def _fuzzy_in(part: str, text: str, threshold: float) -> bool:
    """``part`` matches some window of ``text`` closely, and the differences are harmless."""
    if len(_WORD.findall(part)) < MIN_FUZZY_WORDS:
        return False
    slack = max(12, len(part) // 5)
    if len(part) >= len(text):
        approx_start, approx_end = 0, len(text)
    else:
        align = fuzz.partial_ratio_alignment(part, text)
        approx_start, approx_end = align.dest_start, align.dest_end
    starts = _boundaries(text, approx_start - slack, approx_start + slack, start=True)
    ends = _boundaries(text, approx_end - slack, approx_end + slack, start=False)
    best_score, best = 0.0, (0, 0)
    for s in starts:
        for e in ends:
            if e <= s:
                continue
            score = fuzz.ratio(part, text[s:e], score_cutoff=best_score)
            if score > best_score:
                best_score, best = score, (s, e)
    if best_score < threshold:
        return False
    return _harmless_difference(part, text[best[0] : best[1]])


def _boundaries(text: str, lo: int, hi: int, *, start: bool) -> list[int]:
    """Word-start (or word-end) offsets of ``text`` within [lo, hi]."""
    lo, hi = max(0, lo), min(len(text), hi)
    found = []
    for i in range(lo, hi + 1):
        before = text[i - 1] if i > 0 else " "
        after = text[i] if i < len(text) else " "
        # A word starts after a space and ends before one.
        edge = (before == " ", after == " ")
        if edge == ((True, False) if start else (False, True)):
            found.append(i)
    return found or [lo if start else hi]


def _is_negation(word: str) -> bool:
    return word in _NEGATIONS or word.endswith("n't")


def _harmless_difference(quote: str, passage: str) -> bool:
    """A fuzzy match may drop words, but must not add facts or drop a negation."""
    quote_words = _WORD.findall(quote)
    passage_words = set(_WORD.findall(passage))
    added = [w for w in quote_words if w not in passage_words]
    if len(added) > max(1, len(quote_words) // 10):
        return False
    for word in added:
        if _is_negation(word) or any(ch.isdigit() for ch in word):
            return False
        if not any(fuzz.ratio(word, other) >= 80 for other in passage_words):
            return False
    quote_set = set(quote_words)
    return not any(_is_negation(w) and w not in quote_set for w in passage_words)


# --- summary links ----------------------------------------------------------

_MD_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
# Label and target stop at the next bracket (one level of parentheses in a target), with
# possessive repeats: a summary of repeated "[a](" is read once, not once per opener.
_MD_LINK = re.compile(
    r"\[([^\[\]\n]*+)\]\(\s*+<?((?:[^()\[\]\s<>]++|\([^()\[\]\s<>]*+\))++)>?"
    r"(?:\s++\"[^\"\n]*+\")?\s*+\)"
)
_SLACK_LINK = re.compile(r"<((?:https?|mailto|ftp)[^|>\s]*)(?:\|([^>\n]*))?>", re.IGNORECASE)
_SLACK_SPECIAL = re.compile(r"<[!@#][^>\n]*>")
_BARE_URL = re.compile(r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"'\])]+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?'\")]}"
_INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2064\u202a-\u202e\u2066-\u2069\ufeff\u00ad]")


def _url_key(url: str) -> str:
    url = url.strip().rstrip(_URL_TRAILING)
    if url.lower().startswith("www."):
        url = "http://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.lower()
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = parts.path.rstrip("/")
    return f"{host}{path}?{parts.query}" if parts.query else f"{host}{path}"


def _article_urls(article: Article) -> set[str]:
    urls: Iterable[str] = [
        article.url,
        article.canonical_url,
        *article.links,
        *_BARE_URL.findall(article.text),
    ]
    return {_url_key(u) for u in urls if u}


def clean_summary(summary: str, article: Article) -> str:
    """``summary`` without the links (and images) the article did not contain."""
    allowed = _article_urls(article)

    def known(url: str) -> bool:
        return _url_key(url) in allowed

    text = _INVISIBLE.sub("", summary)
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(lambda m: m.group(0) if known(m.group(2)) else m.group(1), text)
    text = _SLACK_LINK.sub(lambda m: m.group(0) if known(m.group(1)) else (m.group(2) or ""), text)
    # Slack's special tokens (<!channel>, <@U1>, <#C1>) never belong in a summary.
    text = _SLACK_SPECIAL.sub("", text)

    def bare(match: re.Match[str]) -> str:
        url = match.group(0)
        stripped = url.rstrip(_URL_TRAILING)
        return url if known(stripped) else url[len(stripped) :]

    text = _BARE_URL.sub(bare, text)
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
