"""Sentence splitting and word helpers for article text.

``split_sentences(text, language="")`` cuts prose into sentences with sentencex
(Wikimedia's segmenter: abbreviations, initials and closing quotes in ~300
languages, Latin, Cyrillic, Greek, CJK and Arabic scripts alike), then trims the
whitespace around each piece. Every ``Sentence`` keeps its offsets, so a caller
can quote it verbatim. A footnote marker such as ``[1]`` right after a full stop
stays with the sentence it annotates.

The rest are small word helpers (stop words, crude stemming) and TextRank for
the extractive summarizer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sentencex import get_sentence_boundaries

FOOTNOTE_RE = re.compile(r"\[\d{1,3}\]")
_WORD_RE = re.compile(r"[^\W_][\w'’-]*")


def word_set(text: str) -> frozenset[str]:
    """A set of the whitespace-separated words of ``text`` (word lists read better so)."""
    return frozenset(text.split())


# Words after which a full stop does not end the sentence ("Gen. Smith", "U.S. Army").
ABBREVIATIONS = word_set(
    """
    mr mrs ms dr prof sr jr st mt gen col lt sgt capt maj adm cmdr rep sen gov pres
    rev hon amb supt insp no nos vs etc e.g i.e cf al approx dept est fig inc ltd co
    corp jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.u u.s.a
    """
)

STOPWORDS = word_set(
    """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his how
    i if in into is it its itself just me more most my myself no nor not now of off on
    once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves yes however still even though although may
    might must shall us said says say according one two new like well since per via
    """
)


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence as an exact slice ``text[start:end]`` of the string it came from."""

    text: str
    start: int
    end: int


def split_sentences(text: str, language: str = "") -> list[Sentence]:
    """Split prose into sentences; whitespace between them is not part of any."""
    # sentencex falls back to generic rules for a language it has none for.
    code = language.split("-")[0].lower()
    # Footnote markers read as spaces to the segmenter ("a huge step.”[1] Then" ends a
    # sentence), and stay in the text, with the sentence they follow.
    masked = FOOTNOTE_RE.sub(lambda m: " " * len(m.group()), text)
    segments = get_sentence_boundaries(code or "en", masked)
    sentences = []
    for segment in segments:
        start, end = segment["start_index"], segment["end_index"]
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            sentences.append(Sentence(text[start:end], start, end))
    return sentences


def strip_footnotes(text: str) -> str:
    """The text without ``[n]`` markers, whitespace collapsed."""
    return " ".join(FOOTNOTE_RE.sub("", text).split())


def footnote_markers(text: str) -> list[str]:
    """The distinct ``[n]`` markers in ``text``, in order."""
    return list(dict.fromkeys(FOOTNOTE_RE.findall(text)))


def words(text: str) -> list[str]:
    """Lower-cased words (apostrophes normalised), in order."""
    return [w.lower().replace("’", "'") for w in _WORD_RE.findall(text)]


def content_terms(text: str) -> list[str]:
    """Crudely stemmed words that carry meaning: no stop words, no possessive 's."""
    terms = []
    for word in words(text):
        word = word.removesuffix("'s").strip("'-")
        if len(word) < 2 or word in STOPWORDS:
            continue
        terms.append(_stem(word))
    return terms


def has_letters(text: str) -> bool:
    return any(c.isalpha() for c in text)


def _stem(word: str) -> str:
    # Enough to make "forces"/"force" and "withdrawing"/"withdrawal" meet; not linguistics.
    for suffix, keep in (("ies", 4), ("ing", 5), ("ed", 4), ("al", 6), ("s", 4)):
        if word.endswith(suffix) and len(word) >= keep + len(suffix) - 1:
            if suffix == "s" and word.endswith("ss"):
                return word
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def tfidf_vectors(term_lists: list[list[str]]) -> list[dict[str, float]]:
    """Unit-length TF-IDF vectors, one per list of terms (an empty list gives {})."""
    count = len(term_lists)
    document_frequency: dict[str, int] = {}
    for terms in term_lists:
        for term in set(terms):
            document_frequency[term] = document_frequency.get(term, 0) + 1
    vectors = []
    for terms in term_lists:
        vector: dict[str, float] = {}
        for term in terms:
            vector[term] = vector.get(term, 0.0) + 1.0
        for term, tf in vector.items():
            vector[term] = tf * math.log(1.0 + count / document_frequency[term])
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        vectors.append({t: v / norm for t, v in vector.items()})
    return vectors


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    """Cosine similarity of two unit-length vectors."""
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def textrank(
    vectors: list[dict[str, float]], *, damping: float = 0.85, iterations: int = 40
) -> list[float]:
    """TextRank centrality of each sentence vector, scaled so the best is 1.0.

    The graph links every pair of sentences by their cosine similarity; scores
    come from power iteration of PageRank over it. Pairs are found through an
    inverted index, so sentences sharing no term cost nothing.
    """
    count = len(vectors)
    if count == 0:
        return []
    postings: dict[str, list[tuple[int, float]]] = {}
    for index, vector in enumerate(vectors):
        for term, weight in vector.items():
            postings.setdefault(term, []).append((index, weight))
    edges: list[dict[int, float]] = [{} for _ in range(count)]
    for entries in postings.values():
        for position, (i, wi) in enumerate(entries):
            for j, wj in entries[position + 1 :]:
                edges[i][j] = edges[i].get(j, 0.0) + wi * wj
                edges[j][i] = edges[j].get(i, 0.0) + wi * wj
    out_weight = [sum(row.values()) for row in edges]
    scores = [1.0 / count] * count
    for _ in range(iterations):
        # Sentences linked to nothing spread their score evenly (the random jump).
        dangling = sum(scores[i] for i in range(count) if out_weight[i] == 0.0)
        base = (1.0 - damping) / count + damping * dangling / count
        new = [base] * count
        for i, row in enumerate(edges):
            if out_weight[i]:
                share = damping * scores[i] / out_weight[i]
                for j, weight in row.items():
                    new[j] += share * weight
        delta = max(abs(a - b) for a, b in zip(new, scores, strict=True))
        scores = new
        if delta < 1e-7:
            break
    best = max(scores) or 1.0
    return [score / best for score in scores]
