"""What an answer is, and the offline answerer: the article's best-matching sentences.

An ``Answer`` is one to three ``AnswerPart``s, each a sentence backed by a
verbatim quote whose speaker passed ``verify_draft`` (the brief's own check),
or no parts and a plain reason: the article doesn't say, or the answer drafted
was not supported by the article.

The offline answerer ranks the article's sentences against the question with
BM25 (``rank_bm25``), then keeps a sentence only if it covers most of the
question's weight (terms weighted by rarity, a term the article never uses
weighing the most): "What did Putin say about sanctions?" matches the one
sentence naming Putin, but sanctions are nowhere, so the article doesn't say.
Each kept sentence is shown as a quote with its speaker (reported-speech cue,
the quoted block's introducer, or the author), and verified like a claim.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.pipeline.attribution import AUTHOR, Block, split_blocks
from bot.pipeline.models import Article, Draft, DraftClaim
from bot.pipeline.sentences import (
    content_terms,
    footnote_markers,
    has_letters,
    split_sentences,
    strip_footnotes,
)
from bot.pipeline.speech import find_reported_speech
from bot.pipeline.verify import verify_draft

MAX_PARTS = 3
MAX_SENTENCES = 600
# A sentence must carry this share of the question's weight to count as an answer.
MIN_COVERAGE = 0.6
# Further sentences must score at least this share of the best one.
RUNNER_UP_SHARE = 0.6
REASONS = {
    "quote not found": "its quote is not in the article",
    "quote spans more than one paragraph": "its quote is not in the article",
    "quote too short": "its quote is too short to check",
    "speaker not named there": "the article does not give those words to that speaker",
    "no speaker given": "it names nobody as saying it",
    "empty quote": "it has no quote from the article",
    "empty claim": "it says nothing",
}

Status = Literal["answered", "not_in_article", "unsupported"]
NOT_IN_ARTICLE = "The article doesn't say."


@dataclass(slots=True)
class AnswerPart:
    """One sentence of an answer (``text`` may be "" offline: the quote is the answer)."""

    text: str
    quote: str
    speaker: str
    source: str = ""


@dataclass(slots=True)
class Answer:
    question: str
    status: Status
    mode: Literal["llm", "extractive"]
    parts: list[AnswerPart] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)  # why drafted sentences were refused
    notes: list[str] = field(default_factory=list)  # e.g. the budget is spent
    title: str = ""
    url: str = ""
    tokens: int = 0

    def plain(self) -> str:
        """The answer as plain text: what the thread's history keeps for the next question."""
        if self.status == "not_in_article":
            return NOT_IN_ARTICLE
        if self.status == "unsupported":
            return "The article does not support the answer drafted."
        lines = []
        for part in self.parts:
            said = f'"{part.quote}" ({part.speaker})'
            lines.append(f"{part.text} {said}".strip())
        return " ".join(lines)


def terms(text: str) -> list[str]:
    """``content_terms`` folded once more, so "propose" and "proposed" meet ("propos")."""
    return [t[:-1] if len(t) > 4 and t.endswith("e") else t for t in content_terms(text)]


def human_reason(reason: str) -> str:
    return REASONS.get(reason, reason)


@dataclass(slots=True)
class _Sentence:
    text: str  # verbatim, footnote markers kept
    clean: str
    block: Block
    terms: list[str]
    speaker: str
    source: str


def article_sentences(article: Article) -> list[_Sentence]:
    """The article's sentences with who says each (a quoted line never spans a "> ")."""
    out: list[_Sentence] = []
    outlet = article.site or article.author or AUTHOR
    for block in split_blocks(article.text):
        if block.heading or (block.introduces and len(block.lines) == 1):
            continue
        spans = [line.text for line in block.lines] if block.quoted else [block.text]
        previous: str | None = None
        for span in spans:
            for sentence in split_sentences(span):
                clean = strip_footnotes(sentence.text)
                if not has_letters(clean) or len(out) >= MAX_SENTENCES:
                    continue
                speech = find_reported_speech(sentence.text, previous)
                if speech is not None and speech.speaker != AUTHOR:
                    speaker = speech.speaker
                    previous = speaker
                elif block.quoted and block.introducer:
                    speaker = block.introducer
                else:
                    speaker = AUTHOR
                source = outlet
                if block.quoted and block.introducer:
                    source = " ".join([block.introducer, *footnote_markers(sentence.text)])
                out.append(_Sentence(sentence.text, clean, block, terms(clean),
                                     speaker, source))  # fmt: skip
    return out


def _quote_of(sentence: _Sentence) -> str:
    """The sentence as a quote: verbatim, without its trailing footnote markers."""
    text = sentence.text.rstrip()
    while text.endswith("]") and "[" in text:
        head, _, marker = text.rpartition("[")
        if not marker[:-1].isdigit():
            break
        text = head.rstrip()
    return text


# An article's sentences (with speakers and terms) and their BM25 index, kept for the
# next question about the same text: building them is most of an offline answer's CPU.
_INDEX_CACHE_SIZE = 16
_indexes: OrderedDict[tuple[str, int], tuple[list[_Sentence], Any]] = OrderedDict()


def _indexed(article: Article) -> tuple[list[_Sentence], Any]:
    """The article's sentences and their BM25 ranker (None when there are none)."""
    from rank_bm25 import BM25Okapi  # deferred: numpy is slow to import

    key = (article.canonical_url or article.url, hash(article.text))
    kept = _indexes.get(key)
    if kept is not None:
        _indexes.move_to_end(key)
        return kept
    sentences = article_sentences(article)
    ranker = BM25Okapi([s.terms or ["\x00"] for s in sentences]) if sentences else None
    _indexes[key] = (sentences, ranker)
    while len(_indexes) > _INDEX_CACHE_SIZE:
        _indexes.popitem(last=False)
    return sentences, ranker


def forget_indexes() -> None:
    """Drop every kept sentence index (benchmarks time a cold answer with it)."""
    _indexes.clear()


def offline_answer(article: Article, question: str, context: str = "") -> Answer:
    """The best-matching sentences of ``article`` for ``question``, verified, or "doesn't say".

    ``context`` (the thread's last question) lends its terms when the question
    alone has fewer than two ("and what else?").
    """
    sentences, ranker = _indexed(article)
    answer = Answer(question=question, status="not_in_article", mode="extractive",
                    title=article.title, url=article.url)  # fmt: skip
    own = list(dict.fromkeys(terms(question)))
    vocabulary = {t for s in sentences for t in s.terms}
    query, covering = own, own
    if context and len(own) < 2:
        # "And what else did he say?": the thread's last question says what about.
        extra = [t for t in dict.fromkeys(terms(context)) if t not in own]
        query = own + extra
        covering = [t for t in own if t in vocabulary] or extra
    if ranker is None or not query:
        return answer
    scores = ranker.get_scores(query)
    # Coverage counts the question's own terms: a term the article never uses weighs most.
    weights = _term_weights(covering, sentences)
    total = sum(weights.values())
    ranked = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
    chosen: list[_Sentence] = []
    best = 0.0
    for i in ranked:
        if scores[i] <= 0 or len(chosen) >= MAX_PARTS:
            break
        covered = sum(w for t, w in weights.items() if t in sentences[i].terms)
        if total <= 0 or covered / total < MIN_COVERAGE:
            continue
        if chosen and scores[i] < RUNNER_UP_SHARE * best:
            break
        best = max(best, scores[i])
        chosen.append(sentences[i])
    if not chosen:
        return answer
    draft = Draft(claims=[
        DraftClaim(claim=s.clean, speaker=s.speaker, source=s.source, quote=_quote_of(s))
        for s in chosen
    ])  # fmt: skip
    for claim in verify_draft(article, draft):
        if claim.verified:
            answer.parts.append(AnswerPart("", claim.quote, claim.speaker, claim.source))
    answer.status = "answered" if answer.parts else "not_in_article"
    return answer


def _term_weights(query: list[str], sentences: list[_Sentence]) -> dict[str, float]:
    """Each query term's rarity across sentences; one the article never uses weighs the most."""
    n = len(sentences)
    counts = {t: sum(1 for s in sentences if t in s.terms) for t in query}
    return {t: math.log((n + 1) / (c + 0.5)) for t, c in counts.items()}
