"""Shingle scoring for the article-extraction benchmark (see shared/eval/extraction/README.md).

A text becomes the multiset of its word 4-grams; a page scores precision and recall on
those multisets; a set of pages scores mean precision (pages with a prediction), mean
recall (all pages, an empty prediction counting 0) and the harmonic mean of the two.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

_WORD = re.compile(r"\w+")
SHINGLE_SIZE = 4


def tokens(text: str) -> list[str]:
    """Word tokens: runs of word characters, case kept."""
    return _WORD.findall(text or "")


def shingles(text: str, size: int = SHINGLE_SIZE) -> Counter[tuple[str, ...]]:
    """The multiset of word n-grams; a text shorter than ``size`` tokens is one shingle."""
    words = tokens(text)
    if not words:
        return Counter()
    if len(words) < size:
        return Counter([tuple(words)])
    return Counter(tuple(words[i : i + size]) for i in range(len(words) - size + 1))


@dataclass(frozen=True, slots=True)
class PageScore:
    precision: float
    recall: float
    has_prediction: bool

    @property
    def f1(self) -> float:
        return f1(self.precision, self.recall)


@dataclass(frozen=True, slots=True)
class SetScore:
    precision: float
    recall: float
    f1: float
    pages_f1_above_09: int
    pages: int


def f1(precision: float, recall: float) -> float:
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def score_page(predicted: str, truth: str) -> PageScore:
    pred, true = shingles(predicted), shingles(truth)
    if not pred:
        return PageScore(0.0, 0.0, has_prediction=False)
    tp = sum((pred & true).values())
    precision = tp / sum(pred.values())
    recall = tp / sum(true.values()) if true else 0.0
    return PageScore(precision, recall, has_prediction=True)


def score_set(pages: Iterable[PageScore]) -> SetScore:
    scored = list(pages)
    predicted = [p for p in scored if p.has_prediction]
    precision = sum(p.precision for p in predicted) / len(predicted) if predicted else 0.0
    recall = sum(p.recall for p in scored) / len(scored) if scored else 0.0
    above = sum(1 for p in scored if p.f1 > 0.9)
    return SetScore(precision, recall, f1(precision, recall), above, len(scored))
