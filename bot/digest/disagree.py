"""Where the outlets of one story disagree: figures, dates, counts, and who said a quotation.

For a merged story each outlet contributes what it published (title and
description) and, when one is cached, its brief (summary and verified claims).
From that text we read figures by kind — a vote ("5–2"), an amount ("$48m"), a
percentage, a date ("March 10"), a count of something ("14,000 flights", keyed
by the thing counted) — and, from briefs, the speaker of each quotation.

A kind is shown only when at least two outlets each give exactly one value of
it and the values differ: an outlet that mentions two percentages is not
contradicting anyone, it is reporting two numbers. Numbers more than a factor
of two apart are taken for different figures ("$4 billion" lost, "$100" a
share). Values are compared after normalising ("$48m" = "$48 million" = "48
million dollars"), so outlets that agree show nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.digest.models import Disagreement, DisagreementValue

MAX_SHOWN = 3  # kinds of disagreement per entry
KIND_ORDER = ("vote", "amount", "percent", "count", "date", "speaker")
MAX_VALUES = 3
MAX_RATIO = 2.0  # numbers further apart are different figures, not a disagreement
_MULT = {
    "k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "mio": 1e6, "million": 1e6, "millions": 1e6,
    "b": 1e9, "bn": 1e9, "billion": 1e9, "billions": 1e9, "mrd": 1e9, "milliard": 1e9,
    "milliards": 1e9, "tn": 1e12, "trillion": 1e12,
}  # fmt: skip
_CURRENCY = r"[$€£¥₽]|US\$"
# Only at the start of a digit run: a match tried inside a long run of digits would
# rescan it from every position (quadratic on hostile text).
_NUM = r"(?<![\d.,\u202f\u00a0])(?:\d{1,3}(?:[,\u202f\u00a0]\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?)"
_MULT_RE = r"(?:thousand|millions?|billions?|milliards?|trillion|mrd|mio|mn|bn|tn|k|m|b)\b"
_AMOUNT = re.compile(
    rf"(?P<cur>{_CURRENCY})\s?(?P<num>{_NUM})\s?(?P<mult>{_MULT_RE})?"
    rf"|(?P<num2>{_NUM})\s?(?P<mult2>{_MULT_RE})?\s?(?P<cur2>€|euros?|dollars|pounds|USD|EUR|GBP)\b",
    re.IGNORECASE,
)
_PERCENT = re.compile(
    rf"(?P<num>{_NUM})\s?(?:%|per ?cent\b|percent\b|prozent\b|pour ?cent\b|por ?ciento\b|процент)",
    re.IGNORECASE,
)
_VOTE = re.compile(r"(?<![\d.,/])(\d{1,3})\s?[–—-]\s?(\d{1,3})(?![\d.,/%])")
_VOTE_WORD = re.compile(r"\b(vot\w*|ballot|abstimm\w*|stimmen|scrutin|votaci\w*|голос\w*)", re.I)
_MONTHS = [
    *("january", "february", "march", "april", "may", "june"),
    *("july", "august", "september", "october", "november", "december"),
]
_DATE = re.compile(
    r"\b(?:(?P<month>" + "|".join(_MONTHS) + r")\.?\s+(?P<day>\d{1,2})(?!\d)"
    r"|(?P<day2>\d{1,2})\.?\s+(?P<month2>" + "|".join(_MONTHS) + r"))\b",
    re.IGNORECASE,
)
_COUNT = re.compile(
    rf"(?<![\d$€£¥₽.,])(?P<num>{_NUM})\s?(?P<mult>{_MULT_RE})?\s+(?P<noun>[^\W\d_]{{3,}})",
    re.IGNORECASE,
)
_NOT_COUNTED = frozenset(
    (
        *("per", "percent", "cent", "am", "pm", "and", "or", "to", "of", "in", "on", "the"),
        *("points", "point", "times", "years", "year", *_MONTHS),
    )
)


@dataclass(slots=True)
class OutletText:
    """What one outlet said about the story."""

    outlet: str
    text: str  # title, description, cached brief summary
    quotes: list[tuple[str, str]] = field(default_factory=list)  # (quote, speaker) from a brief


def _number(raw: str) -> float:
    raw = re.sub(r"[\u202f\u00a0]", "", raw)
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", raw):
        raw = raw.replace(",", "")
    else:
        raw = raw.replace(",", ".")
    return float(raw)


def _scaled(num: str, mult: str | None) -> float:
    return _number(num) * _MULT.get((mult or "").lower(), 1.0)


def _figures(text: str) -> dict[tuple[str, str], dict[float | str, str]]:
    """{(kind, noun): {normalised value: as written}} for one outlet's text."""
    found: dict[tuple[str, str], dict[float | str, str]] = {}
    taken: list[tuple[int, int]] = []

    def add(kind: str, noun: str, value: float | str, shown: str, span: tuple[int, int]) -> None:
        if any(a < span[1] and span[0] < b for a, b in taken):
            return  # already read as another kind ("$48m" is not also a count)
        taken.append(span)
        found.setdefault((kind, noun), {}).setdefault(value, shown.strip())

    for m in _AMOUNT.finditer(text):
        cur = (m.group("cur") or m.group("cur2") or "").lower()
        cur = {"euro": "€", "euros": "€", "eur": "€", "dollars": "$", "usd": "$", "us$": "$",
               "pounds": "£", "gbp": "£"}.get(cur, cur)  # fmt: skip
        num, mult = m.group("num") or m.group("num2"), m.group("mult") or m.group("mult2")
        add("amount", cur, _scaled(num, mult), m.group(0), m.span())
    for m in _PERCENT.finditer(text):
        add("percent", "", _number(m.group("num")), m.group(0), m.span())
    for m in _DATE.finditer(text):
        month = (m.group("month") or m.group("month2")).lower()
        day = int(m.group("day") or m.group("day2"))
        add("date", "", f"{_MONTHS.index(month) + 1:02d}-{day:02d}", m.group(0), m.span())
    voting = _VOTE_WORD.search(text) is not None  # "5–2" is a vote only in a text about one
    for m in _VOTE.finditer(text):
        if voting:
            a, b = int(m.group(1)), int(m.group(2))
            add("vote", "", f"{a}-{b}", f"{a}–{b}", m.span())
    for m in _COUNT.finditer(text):
        noun = m.group("noun")
        num = m.group("num")
        if noun.lower() in _NOT_COUNTED or noun.lower() in _MULT:
            continue
        if not m.group("mult") and re.fullmatch(r"(19|20)\d\d", num):
            continue  # a year, not a count
        key = noun.lower()[:5]
        add("count", key, _scaled(num, m.group("mult")), m.group(0), m.span())
    return found


def _norm_quote(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _speaker_disagreements(outlets: list[OutletText]) -> list[Disagreement]:
    said: dict[
        str, dict[str, tuple[str, list[str]]]
    ] = {}  # quote -> speaker key -> (name, outlets)
    shown_quote: dict[str, str] = {}
    for o in outlets:
        for quote, speaker in o.quotes:
            norm = _norm_quote(quote)
            if len(norm.split()) < 5 or not speaker.strip():
                continue
            # The same words quoted a little longer or shorter are the same quotation.
            key = next((q for q in said if norm in q or q in norm), norm)
            shown_quote.setdefault(key, quote)
            _, names = said.setdefault(key, {}).setdefault(
                speaker.strip().lower(), (speaker.strip(), [])
            )
            if o.outlet not in names:
                names.append(o.outlet)
    out = []
    for key, speakers in said.items():
        if len(speakers) > 1:
            values = [DisagreementValue(value=n, sources=s) for n, s in speakers.values()]
            out.append(Disagreement(kind="speaker", subject=shown_quote[key], values=values))
    return out


def disagreements(outlets: Iterable[OutletText]) -> list[Disagreement]:
    """Figures and speakers that differ between the outlets of one story; [] when they agree."""
    outlets = list(outlets)
    rank = {o: i for i, o in reversed(list(enumerate(o.outlet for o in outlets)))}
    per_outlet: dict[str, dict[tuple[str, str], dict[float | str, str]]] = {}
    for o in outlets:
        figures = _figures(o.text)
        mine = per_outlet.setdefault(o.outlet, {})
        for key, values in figures.items():
            mine.setdefault(key, {}).update(values)
    keys: list[tuple[str, str]] = []
    for figures in per_outlet.values():
        keys.extend(k for k in figures if k not in keys)
    out: list[Disagreement] = []
    for kind, noun in keys:
        by_value: dict[float | str, DisagreementValue] = {}
        for outlet, figures in per_outlet.items():
            values = figures.get((kind, noun), {})
            if len(values) != 1:
                continue  # silent, or reports several figures of this kind
            ((value, shown),) = values.items()
            entry = by_value.setdefault(value, DisagreementValue(value=shown, sources=[]))
            entry.sources.append(outlet)
        if len(by_value) > 1 and _same_figure(list(by_value)):
            subject = noun if kind == "count" else ""
            if kind == "count":
                subject = _count_noun(per_outlet, (kind, noun))
            # The most-reported value first, then in the order the outlets came in.
            values = sorted(by_value.values(), key=lambda v: (-len(v.sources), rank[v.sources[0]]))
            out.append(Disagreement(kind=kind, subject=subject, values=values[:MAX_VALUES]))
    out.extend(_speaker_disagreements(outlets))
    out.sort(key=lambda d: KIND_ORDER.index(d.kind))
    return out[:MAX_SHOWN]


def _same_figure(values: list[float | str]) -> bool:
    """Whether differing values can be one figure reported differently.

    "$48m" against "$52m" is a disagreement; "$4 billion" against "$100" is two
    different figures (a loss and a share price), so amounts, percentages and
    counts more than a factor of two apart are not set against each other.
    """
    numbers = [v for v in values if isinstance(v, float)]
    if len(numbers) < len(values):
        return True  # votes and dates: any difference is one
    low, high = min(numbers), max(numbers)
    return low > 0 and high / low <= MAX_RATIO


def _count_noun(per_outlet: dict, key: tuple[str, str]) -> str:
    """The counted thing as the first outlet wrote it ("flights")."""
    for figures in per_outlet.values():
        for shown in figures.get(key, {}).values():
            return shown.split()[-1]
    return key[1]
