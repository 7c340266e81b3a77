"""Which feed items and shared links tell the same story: grouping by content.

Two reports of one event rarely share a headline ("City council approves Front
Street sea wall" / "Council OKs $48m harbour defence after late-night vote"),
but they share what they report: the same named people, places and
organisations, the same figures, the same event words. Two different events
about one subject ("Kyiv" in a shelling report and in a peace-talks report)
share the subject and little else.

So each candidate becomes a bag of word stems (title twice, then the
description or a cached brief's lead), weighted by how rare each stem is *in
this digest's batch* (a subject every item mentions weighs little; the words
that tell one event from another weigh much). Names and figures weigh more
than common words; names are learned from the batch (a word some outlet
writes capitalised mid-sentence and none in lower case), since headline case
hides them. Pairs are scored by cosine similarity; groups join, strongest
pairs first, only when the groups' centroids are alike *and* their members are
alike on average, so one ambiguous headline cannot chain two stories together
(merging two stories is worse than missing a merge). Two titles that differ
only in a day name are instalments of a series, not one story.

Hard links stay: the same canonical URL, or the same quotation of five words
or more. Offline and deterministic; no model. Scoring only compares pairs that
share a weighted stem (an inverted index), so cost follows the overlap, not
the square of the batch.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

# Tuned on bench/data/stories/dev.jsonl only (see bench/stories.py).
LINK_THRESHOLD = 0.2  # pair similarity worth trying a join for
STEM_LENGTH = 7  # word prefixes compared (a crude, language-blind stemmer)
AVERAGE_THRESHOLD = 0.1  # and the mean pair similarity, so a big group cannot drift
CENTROID_THRESHOLD = 0.40  # cosine of two groups' centroids for them to join
NAME_WEIGHT = 10.0  # names the batch writes capitalised (learned per batch)
FIGURE_WEIGHT = 3.0  # numbers (outlets that disagree on one should still match)
TITLE_REPEAT = 2  # the title counts twice next to the description
COMMON_SHARE = 0.5  # words in more than this share of the batch are ignored
COMMON_MIN_ITEMS = 8  # (never in so few items)
MIN_SHARED_TERMS = 2  # a pair sharing fewer weighted words is never alike
MAX_DOC_TERMS = 60  # a long description should not drown the headline
ALL_TERMS = 10_000

_WORD = re.compile(r"[^\W_]+(?:[.'’][^\W_]+)*", re.UNICODE)
_NUMBER = re.compile(r"\d[\d,.\u202f\u00a0‚]*\d|\d")
# Inflections only (one form of a word, not its derivations: "taper" and "tapering"
# must meet, so "-er" is not stripped); longer forms are cut by the prefix length.
_PLURALS = (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch"), ("shes", "sh"))
_ENDINGS = ("ungen", "ing", "ied", "ed")

# Words that say nothing about which event an item reports, in the languages the
# bot reads; kept short on purpose (batch weighting does most of the work).
_STOP = frozenset(
    """
    a an the and or but of in on at to for from by with as is are was were be been has have
    had it its this that these those after before over under into than then up down out
    about amid says said say will would could may might can new more most not no yes
    how why what who when where which while your you we they he she his her their our
    der die das und oder ein eine einer eines dem den des im am zu zum zur mit von für auf
    ist sind war nach vor bei aus als wie nicht auch es sie er wir
    le la les un une des du de et ou au aux en dans sur pour par avec est sont que qui
    el los las uno una y o del al en con por para es son que se su sus
    и в во на с со по к о об от до из за для не что это как а но или у же ли
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


@dataclass(slots=True)
class StoryText:
    """What the merger reads of one candidate."""

    title: str
    text: str = ""  # description, or a cached brief's summary/lead


def _fold(word: str) -> str:
    word = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in word if not unicodedata.combining(ch)).lower()


def _stem(word: str) -> str:
    for plural, single in _PLURALS:
        if word.endswith(plural) and len(word) > len(plural) + 1:
            word = word[: -len(plural)] + single
            break
    else:
        if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
            word = word[:-1]
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) > len(ending) + 2:
            word = word[: -len(ending)]
            break
    return word[:STEM_LENGTH]


def _number_token(raw: str) -> str | None:
    digits = re.sub(r"[,\u202f\u00a0‚]", "", raw)
    if digits.count(".") > 1:
        digits = digits.replace(".", "")
    digits = digits.rstrip(".")
    if not digits or digits in {"0", "1", "2", "3"}:
        return None  # too common to tell events apart ("3 things to watch")
    return "#" + digits


@lru_cache(maxsize=100_000)
def _word_stem(raw: str) -> str | None:
    """The stem of a word as written, or None for a stopword (words repeat: cached)."""
    folded = _fold(raw).replace("’", "'").split("'")[0]
    if len(folded) < 2 or folded in _STOP:
        return None
    return _stem(folded)


def terms(text: str, *, limit: int = MAX_DOC_TERMS) -> list[tuple[str, bool]]:
    """(stem, is_name_or_figure) for the words of ``text``, stopwords dropped."""
    out: list[tuple[str, bool]] = []
    for i, match in enumerate(_WORD.finditer(text)):
        raw = match.group(0)
        if raw[0].isdigit():
            token = _number_token(raw)
            if token:
                out.append((token, True))
        else:
            stem = _word_stem(raw)
            if stem is None:
                continue
            # A capital inside a sentence marks a name; headline case capitalises
            # every word, so only an all-caps acronym or a capital past the first
            # word of a mixed-case text counts.
            name = raw[0].isupper() and (i > 0 or raw.isupper()) and len(raw) > 1
            out.append((stem, name))
        if len(out) >= limit:
            break
    return out


def _headline_case(title: str) -> bool:
    words = [w for w in _WORD.findall(title) if w[0].isalpha() and len(w) > 3]
    return bool(words) and sum(w[0].isupper() for w in words) / len(words) > 0.6


Parsed = tuple[list[tuple[str, bool]], list[tuple[str, bool]]]  # title's and text's terms


def _parse(story: StoryText) -> Parsed:
    return terms(story.title, limit=ALL_TERMS), terms(story.text, limit=ALL_TERMS)


def _names(stories: Sequence[StoryText], parsed: Sequence[Parsed]) -> frozenset[str]:
    """Stems the batch writes with a capital inside sentence-case text and never in lower case.

    Headline case ("Fed Official Says Taper Pace...") hides names; the same
    name in another outlet's sentence-case headline or description reveals it.
    """
    capital: set[str] = set()
    lower: set[str] = set()
    for story, (title, text) in zip(stories, parsed, strict=True):
        for words in [text] if _headline_case(story.title) else [title, text]:
            for term, name in words:
                if not term.startswith("#"):
                    (capital if name else lower).add(term)
    return frozenset(capital - lower - _CALENDAR)


def _bag(parsed: Parsed) -> dict[str, float]:
    bag: dict[str, float] = {}
    for repeat, words in zip((TITLE_REPEAT, 1), parsed, strict=True):
        for term, _ in words[:MAX_DOC_TERMS]:
            bag[term] = bag.get(term, 0.0) + repeat
    return bag


def _vectors(stories: Sequence[StoryText]) -> list[dict[str, float]]:
    parsed = [_parse(s) for s in stories]
    names = _names(stories, parsed)
    bags = [_bag(p) for p in parsed]
    df: dict[str, int] = {}
    for bag in bags:
        for term in bag:
            df[term] = df.get(term, 0) + 1
    n = len(bags)
    # A word most of the batch carries is boilerplate or the day's subject ("The post
    # … appeared first on …"): it tells no event from another, and indexing it
    # would make every pair a candidate (quadratic in the batch).
    common = max(COMMON_MIN_ITEMS, COMMON_SHARE * n)
    for bag in bags:
        for term in [t for t in bag if df[t] > common]:
            del bag[term]

    def boost(term: str) -> float:
        # Names and figures weigh more only when another item has them too: a name
        # or a figure only this item has cannot link it to anything, and boosting
        # it would only push the item away from its own story.
        if df[term] < 2:
            return 1.0
        return NAME_WEIGHT if term in names else FIGURE_WEIGHT if term[0] == "#" else 1.0

    vectors = []
    for bag in bags:
        vec = {t: (1 + math.log(w * boost(t))) * math.log((n + 1) / df[t]) for t, w in bag.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vectors.append({t: v / norm for t, v in vec.items() if v > 0})
    return vectors


_CALENDAR = frozenset(
    _stem(w)
    for w in """monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday
    january february march april may june july august september october november december
    montag dienstag mittwoch donnerstag freitag samstag sonntag lundi mardi mercredi jeudi
    vendredi samedi dimanche lunes martes miércoles jueves viernes sábado domingo
    понедельник вторник среда четверг пятница суббота воскресенье""".split()  # noqa: SIM905
)


def _series(a: dict[str, float], b: dict[str, float]) -> bool:
    """Two instalments of a series ("Weather for Tuesday" / "…Wednesday"): only the day differs."""
    differ = a.keys() ^ b.keys()
    return bool(differ) and all(t in _CALENDAR for t in differ)


def similarities(
    stories: Sequence[StoryText], vectors: list[dict[str, float]] | None = None
) -> dict[tuple[int, int], float]:
    """Cosine similarity of every pair that shares enough weighted terms (i < j)."""
    vectors = _vectors(stories) if vectors is None else vectors
    index: dict[str, list[int]] = {}
    sims: dict[tuple[int, int], float] = {}
    for j, vec in enumerate(vectors):
        partial: dict[int, float] = {}
        shared: dict[int, int] = {}
        for term, weight in vec.items():
            for i in index.get(term, ()):
                partial[i] = partial.get(i, 0.0) + weight * vectors[i][term]
                shared[i] = shared.get(i, 0) + 1
            index.setdefault(term, []).append(j)
        for i, score in partial.items():
            # One word in common ("eurozone") is a subject, not a story.
            if shared[i] >= MIN_SHARED_TERMS and not _series(vectors[i], vec):
                sims[(i, j)] = score
    return sims


class _Groups:
    """Groups being merged: members, summed vectors and summed pair similarities per group.

    Kept incrementally (a merge adds the smaller side into the larger), so testing a
    join costs the size of two vectors, not the product of two groups' sizes.
    """

    def __init__(self, n: int, vectors: list[dict[str, float]]) -> None:
        self.of = list(range(n))
        self.members: dict[int, list[int]] = {i: [i] for i in range(n)}
        self.total: dict[int, dict[str, float]] = {i: dict(v) for i, v in enumerate(vectors)}
        self.norm: dict[int, float] = {i: _length(v) for i, v in enumerate(vectors)}
        self.pair_sum: dict[int, dict[int, float]] = {i: {} for i in range(n)}

    def add_similarity(self, i: int, j: int, score: float) -> None:
        a, b = self.of[i], self.of[j]
        if a != b:
            self.pair_sum[a][b] = self.pair_sum[a].get(b, 0.0) + score
            self.pair_sum[b][a] = self.pair_sum[b].get(a, 0.0) + score

    def alike(self, a: int, b: int) -> bool:
        """Centroids alike and members alike on average (missing pairs count 0)."""
        small, big = sorted((self.total[a], self.total[b]), key=len)
        dot = sum(w * big.get(t, 0.0) for t, w in small.items())
        if dot < CENTROID_THRESHOLD * (self.norm[a] * self.norm[b] or 1.0):
            return False
        mean = self.pair_sum[a].get(b, 0.0) / (len(self.members[a]) * len(self.members[b]))
        return mean >= AVERAGE_THRESHOLD

    def join(self, a: int, b: int) -> None:
        if a == b:
            return
        keep, gone = min(a, b), max(a, b)
        for m in self.members[gone]:
            self.of[m] = keep
        self.members[keep].extend(self.members.pop(gone))
        total = self.total[keep]
        for t, w in self.total.pop(gone).items():
            total[t] = total.get(t, 0.0) + w
        self.norm[keep] = _length(total)
        del self.norm[gone]
        for other, score in self.pair_sum.pop(gone).items():
            self.pair_sum[other].pop(gone, None)
            if other != keep:
                self.pair_sum[keep][other] = self.pair_sum[keep].get(other, 0.0) + score
                self.pair_sum[other][keep] = self.pair_sum[other].get(keep, 0.0) + score
        self.pair_sum[keep].pop(gone, None)


def _length(vector: dict[str, float]) -> float:
    return math.sqrt(sum(v * v for v in vector.values()))


def group_stories(
    stories: Sequence[StoryText],
    links: Sequence[tuple[int, int]] = (),
    *,
    threshold: float | None = None,
) -> list[list[int]]:
    """Indices of ``stories`` grouped by story, each group in input order.

    ``links`` are pairs known to be one story (same URL, same quotation); they
    join first, whatever their wording.
    """
    threshold = LINK_THRESHOLD if threshold is None else threshold
    vectors = _vectors(stories)
    groups = _Groups(len(stories), vectors)
    for a, b in links:
        groups.join(groups.of[a], groups.of[b])
    sims = similarities(stories, vectors)
    for (i, j), score in sims.items():
        groups.add_similarity(i, j, score)
    # Strongest pairs first, as agglomerative clustering does; a pair joins its
    # two groups only if the groups as wholes are alike.
    for (i, j), score in sorted(sims.items(), key=lambda kv: (-kv[1], kv[0])):
        if score < threshold:
            break
        a, b = groups.of[i], groups.of[j]
        if a != b and groups.alike(a, b):
            groups.join(a, b)
    return [sorted(m) for _, m in sorted(groups.members.items())]
