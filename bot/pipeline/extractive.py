"""The embedded summarizer: a brief built from the article's own sentences.

No model and no downloads, deterministic, a few milliseconds per article:

1. ``split_blocks`` cuts the text into paragraphs and marks quoted blocks
   with their introducer ("ISW"); each paragraph is split into sentences,
   kept with their exact offsets so quotes stay verbatim.
2. Sentences are ranked with TextRank (TF-IDF cosine graph, power
   iteration), nudged towards the opening and the title.
3. The summary takes the best few, in article order, one of them from the
   author's own words when the article quotes someone else; each layer is
   labelled ("According to ISW, …", "In the author's view, …").
4. Key claims come from the attribution model (``speakers``): every quote
   the text attributes, under the name of its speaker (the person a "he" or
   "the shortstop" stands for; "a spokeswoman" as written), then reported
   speech without quotation marks (``speech.find_reported_speech``):
   officials' claims, the quoted analyst's assessments, the author's
   opinions — one per speaker first, then by rank. A pronoun, a function word
   or a fragment is never a speaker; list items, recipe steps, code and PDF
   debris are never claims.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from bot.pipeline.attribution import (
    AUTHOR,
    Block,
    is_named_in,
    is_person,
    speaker_key,
    split_blocks,
)
from bot.pipeline.claim_filters import looks_like_prose, valid_speaker
from bot.pipeline.models import Article, ClaimKind, Draft, DraftClaim
from bot.pipeline.names import name_tokens
from bot.pipeline.quotes import Quoted, find_quotes
from bot.pipeline.sentences import (
    FOOTNOTE_RE,
    content_terms,
    cosine,
    footnote_markers,
    has_letters,
    split_sentences,
    strip_footnotes,
    textrank,
    tfidf_vectors,
    word_set,
)
from bot.pipeline.speakers import attribute_paragraphs, display_name
from bot.pipeline.speech import find_reported_speech

MIN_SUMMARY_WORDS = 6
# With fewer claims than this, the author's own plain statements fill in as "fact"s.
FEW_CLAIMS = 3
REDUNDANT_ABOVE = 0.5  # cosine at which a sentence repeats one already chosen
MAX_RANKED_SENTENCES = 400  # beyond this, the rest of a very long text is not ranked
MIN_QUOTE_WORDS = 4  # shorter quoted spans are terms, titles or scare quotes
_OPINION_RE = re.compile(
    r"\b(?:I|we) (?:think|believe|suspect|doubt|expect|fear|guess|would argue)\b"
    r"|\bin my (?:view|opinion)\b|\bit (?:does |would )?(?:appears?|seems?)\b"
    r"|\bprobably\b|\bclearly\b|\bI'm\b|\bfrankly\b",
    re.IGNORECASE,
)
# Sentence openers that read in lower case after "According to ISW, ".
_LOWERCASE_STARTERS = word_set(
    """
    the it this that these those there its their they a an in on at as after before while
    when if even none some many most right we our he she his her
    """
)
_SENTENCE_ENDINGS = tuple('.!?…"”’)')


@dataclass(slots=True)
class _Unit:
    """One sentence of the article with everything the ranking needs."""

    index: int
    text: str  # verbatim, as in the article (footnote markers included)
    start: int  # offset in the article text
    block: Block
    block_position: int  # 0 for a paragraph's first sentence
    clean: str  # footnote markers removed, whitespace collapsed
    terms: list[str]  # content_terms(clean), computed once
    score: float = 0.0
    vector: dict[str, float] | None = None  # TF-IDF over the article's sentences


@dataclass(slots=True)
class _Candidate:
    unit: _Unit
    claim: DraftClaim
    weight: float


class ExtractiveSummarizer:
    """Summary and attributed claims straight from the article's sentences."""

    mode = "extractive"

    def __init__(self, *, summary_sentences: int = 3, max_claims: int = 6) -> None:
        self.summary_sentences = max(1, summary_sentences)
        self.max_claims = max(0, max_claims)

    async def summarize(self, article: Article, language: str = "") -> Draft:
        # Extracts the article's own sentences, so its brief is in the article's language
        # whatever ``language`` asks. Pure CPU work of a few ms: not worth a thread hop.
        return self.summarize_sync(article)

    def summarize_sync(self, article: Article) -> Draft:
        units = _units(article)
        _rank(units, article.title)  # sets score and vector on every unit
        summary = self._summary_units(units, article)
        return Draft(
            title=article.title,
            summary=_label_layers(summary, article),
            claims=self._claims(units, article, {u.index for u in summary}),
        )

    # -- summary ---------------------------------------------------------------------

    def _summary_units(self, units: list[_Unit], article: Article) -> list[_Unit]:
        title = strip_footnotes(article.title).lower()
        pool = [
            u
            for u in units
            if len(u.clean.split()) >= MIN_SUMMARY_WORDS and u.clean.lower() != title
        ] or [u for u in units if has_letters(u.clean)]
        if not pool:
            return []
        quoted = [u for u in pool if u.block.quoted]
        own = [u for u in pool if not u.block.quoted]
        chosen: list[_Unit] = []
        if quoted and len(own) >= 2 and self.summary_sentences >= 2:
            # The author's own point is what the post adds; keep a place for it.
            chosen.append(max(own, key=lambda u: u.score))
        for unit in sorted(pool, key=lambda u: (-u.score, u.index)):
            if len(chosen) >= self.summary_sentences:
                break
            if unit in chosen:
                continue
            if any(cosine(unit.vector or {}, c.vector or {}) > REDUNDANT_ABOVE for c in chosen):
                continue
            chosen.append(unit)
        return sorted(chosen, key=lambda u: u.index)

    # -- claims ----------------------------------------------------------------------

    def _claims(
        self, units: list[_Unit], article: Article, in_summary: set[int]
    ) -> list[DraftClaim]:
        if self.max_claims == 0:
            return []
        has_quotes = any(u.block.quoted for u in units)
        candidates = _quote_candidates(units, article)
        quoted_units = {c.unit.index for c in candidates}
        last_speaker: dict[int, str] = {}  # per block: resolves "He said" in the same paragraph
        for unit in units:
            if unit.index in quoted_units:
                continue  # its quotation is listed under its speaker already
            candidate = _candidate(unit, article, has_quotes, last_speaker.get(unit.block.start))
            if candidate is not None:
                candidates.append(candidate)
                if candidate.claim.speaker != AUTHOR:
                    last_speaker[unit.block.start] = candidate.claim.speaker
        facts = [c for c in candidates if c.claim.kind == "fact" and c.unit.index not in in_summary]
        return [
            c.claim for c in self._pick([c for c in candidates if c.claim.kind != "fact"], facts)
        ]

    def _pick(self, candidates: list[_Candidate], facts: list[_Candidate]) -> list[_Candidate]:
        ranked = sorted(candidates, key=lambda c: (-c.weight, c.unit.index))
        chosen: list[_Candidate] = []
        speakers: set[str] = set()

        def take(candidate: _Candidate) -> None:
            chosen.append(candidate)
            speakers.add(speaker_key(candidate.claim.speaker))

        # Keep the layers apart but present: the quoted analyst and the author each get
        # a place when they have something, then one claim per distinct speaker.
        for kind in ("assessment", "opinion"):
            best = next((c for c in ranked if c.claim.kind == kind), None)
            if best is not None and len(chosen) < self.max_claims - 1:
                take(best)
        for candidate in ranked:
            if len(chosen) >= self.max_claims:
                break
            if speaker_key(candidate.claim.speaker) not in speakers:
                take(candidate)
        for candidate in ranked:
            if len(chosen) >= self.max_claims:
                break
            if candidate not in chosen:
                take(candidate)
        # A plain report with few attributed claims still has its key facts to show,
        # beyond the sentences the summary already quotes.
        wanted = min(FEW_CLAIMS, self.max_claims) - len(chosen)
        chosen.extend(sorted(facts, key=lambda c: (-c.weight, c.unit.index))[: max(wanted, 0)])
        return sorted(chosen, key=lambda c: c.unit.index)


def _quote_candidates(units: list[_Unit], article: Article) -> list[_Candidate]:
    """One claim per quotation the text attributes, under the speaker it names."""
    blocks = split_blocks(article.text)
    attributed = attribute_paragraphs([b.text for b in blocks])
    by_block: dict[int, list[_Unit]] = {}
    for unit in units:
        by_block.setdefault(unit.block.start, []).append(unit)
    outlet = article.site or article.author or AUTHOR
    candidates: list[_Candidate] = []
    for block, quotes in zip(blocks, attributed, strict=True):
        block_units = by_block.get(block.start, [])
        starts = [u.start for u in block_units]
        for quoted in quotes:
            unit = _unit_at(block_units, starts, block, quoted)
            claim = _quote_claim(quoted, block, outlet, unit)
            if claim is None or unit is None:
                continue
            weight = unit.score + (2.0 if is_person(claim.speaker) else 0.5)
            candidates.append(_Candidate(unit, claim, weight))
    return candidates


def _quote_claim(
    quoted: Quoted, block: Block, outlet: str, unit: _Unit | None
) -> DraftClaim | None:
    if quoted.nested or quoted.speaker is None or unit is None:
        return None
    if quoted.how not in ("cue", "continued", "before"):
        return None  # a weaker guess: the verifier may rely on it, a claim may not
    words = quoted.text.strip(" ,.;:-–—\n").split()
    if len(words) < MIN_QUOTE_WORDS:
        return None
    # as the article names them; the person a "he" or "the shortstop" stands for
    written = quoted.speaker.name
    named = name_tokens(written) and not quoted.speaker.resolved
    speaker = written if named else display_name(quoted.speaker)
    if not valid_speaker(speaker):
        return None
    source = outlet
    if block.quoted and block.introducer:
        source = " ".join([block.introducer, *footnote_markers(unit.text)])
    text = " ".join(words)
    sentence = _strip_trailing_markers(unit.text).strip()
    # the whole sentence when it holds the quotation: it says who spoke, in the article's words
    claim = text
    quote = text
    if text in " ".join(sentence.split()) and "\n" not in sentence:
        quote = sentence
        speech = find_reported_speech(sentence)
        if speech is not None and len(speech.content.split()) > len(words):
            claim = strip_footnotes(speech.content)  # "Russia will “drastically reduce …”"
    return DraftClaim(claim=claim, speaker=speaker, source=source, quote=quote, kind="claim")


def _unit_at(units: list[_Unit], starts: list[int], block: Block, quoted: Quoted) -> _Unit | None:
    """The sentence holding a quotation's first word (``units``: the block's, in order;
    ``starts``: their offsets)."""
    if not units:
        return None
    # block.text joins the lines' content with "\n": find the line, then the article offset
    offset, at = quoted.start, block.start
    for line in block.lines:
        if offset <= len(line.text):
            at = line.start + offset
            break
        offset -= len(line.text) + 1
    return units[max(0, bisect_right(starts, at) - 1)]


def _units(article: Article) -> list[_Unit]:
    units: list[_Unit] = []
    for block in split_blocks(article.text):
        if block.heading or (block.introduces and len(block.lines) == 1):
            continue
        if block.quoted:
            # Split line by line: a quote must never run across a "> " prefix.
            spans = [(line.start, line.text) for line in block.lines]
        else:
            spans = [(block.start, article.text[block.start : block.end])]
        position = 0
        for span_start, span_text in spans:
            for sentence in split_sentences(span_text, article.language):
                clean = strip_footnotes(sentence.text)
                if not has_letters(clean) or len(units) >= MAX_RANKED_SENTENCES:
                    continue
                units.append(
                    _Unit(
                        index=len(units),
                        text=sentence.text,
                        start=span_start + sentence.start,
                        block=block,
                        block_position=position,
                        clean=clean,
                        terms=content_terms(clean),
                    )
                )
                position += 1
    return units


def _rank(units: list[_Unit], title: str) -> None:
    """Score each unit: centrality, plus a little for the opening and the title's words."""
    if not units:
        return
    vectors = tfidf_vectors([u.terms for u in units])
    centrality = textrank(vectors)
    title_terms = set(content_terms(title))
    for unit, vector, central in zip(units, vectors, centrality, strict=True):
        unit.vector = vector
        terms = set(unit.terms)
        score = central
        if title_terms and terms:
            score += 0.3 * len(terms & title_terms) / len(title_terms)
        if unit.index == 0:
            score += 0.3
        elif unit.block_position == 0:
            score += 0.1
        word_count = len(unit.clean.split())
        if word_count < 8 or unit.clean.endswith("?"):
            score *= 0.5
        elif unit.clean.count(":") >= 2 or not unit.clean.endswith(_SENTENCE_ENDINGS):
            score *= 0.5  # a run-on of labels ("Tested by: ... Price: ..."), not prose
        elif word_count > 55:
            score *= 0.7
        unit.score = score


def _label_layers(chosen: list[_Unit], article: Article) -> str:
    """Join the chosen sentences, saying whose words they are when layers mix."""
    mixed = any(u.block.quoted and u.block.introducer for u in chosen)
    parts: list[str] = []
    previous: str | None = None
    for unit in chosen:
        voice = unit.block.introducer if unit.block.quoted else AUTHOR
        sentence = unit.clean
        if mixed and voice and voice != previous:
            if voice == AUTHOR:
                owner = f"{article.author}'s" if article.author else "the author's"
                sentence = f"In {owner} view, {_lower_first(sentence)}"
            else:
                sentence = f"According to {voice}, {_lower_first(sentence)}"
        previous = voice
        parts.append(sentence)
    return " ".join(parts)


def _lower_first(sentence: str) -> str:
    first, _, rest = sentence.partition(" ")
    if first.lower() in _LOWERCASE_STARTERS:
        return f"{first.lower()} {rest}".rstrip()
    return sentence


def _candidate(
    unit: _Unit, article: Article, has_quotes: bool, previous_speaker: str | None
) -> _Candidate | None:
    """The claim a sentence makes, if it makes one worth listing."""
    block = unit.block
    quote = _strip_trailing_markers(unit.text).strip()
    outlet = article.site or article.author or AUTHOR
    source = outlet
    if block.quoted and block.introducer:
        source = " ".join([block.introducer, *footnote_markers(unit.text)])
    if not looks_like_prose(unit.clean):
        return None  # a list item, a recipe step, code or PDF debris
    speech = find_reported_speech(quote, previous_speaker)
    if speech is not None and speech.speaker != AUTHOR and not valid_speaker(speech.speaker):
        speech = None  # "As", "But she", "You can": a fragment, not a speaker
    weight = unit.score
    if speech is not None:
        speaker, content = speech.speaker, speech.content
        if block.quoted and block.introducer and _same_speaker(speaker, block.introducer):
            kind: ClaimKind = "assessment"
        else:
            kind = speech.kind
        # A named person is the most specific attribution there is: list them first.
        weight += 2.0 if is_person(speaker) else 0.5
    elif block.quoted and block.introducer:
        speaker, content, kind = block.introducer, unit.clean, "assessment"
    elif _has_long_quote(quote):
        return None  # someone's words whose speaker the text does not make clear
    elif not block.quoted and (has_quotes or _first_person(quote)) and _OPINION_RE.search(quote):
        speaker, content, kind = AUTHOR, unit.clean, "opinion"
    elif not block.quoted and _plain_statement(unit):
        speaker, content, kind = AUTHOR, unit.clean, "fact"
    else:
        return None
    if "“" in quote or '"' in quote:
        weight += 0.2  # a sentence with a direct quotation is usually the news
    claim = DraftClaim(
        claim=strip_footnotes(content) or unit.clean,
        speaker=speaker,
        source=source,
        quote=quote,
        kind=kind,
    )
    return _Candidate(unit, claim, weight)


def _has_long_quote(sentence: str) -> bool:
    return any(len(sentence[s:e].split()) >= MIN_QUOTE_WORDS for s, e, _ in find_quotes(sentence))


def _plain_statement(unit: _Unit) -> bool:
    words = unit.clean.split()
    return len(words) >= MIN_SUMMARY_WORDS and not unit.clean.endswith(("?", ":"))


def _same_speaker(speaker: str, introducer: str) -> bool:
    return speaker_key(speaker) == speaker_key(introducer) or is_named_in(introducer, speaker)


def _first_person(text: str) -> bool:
    return re.search(r"\b(?:I|we|my|our)\b", FOOTNOTE_RE.sub("", text)) is not None


def _strip_trailing_markers(text: str) -> str:
    """``text`` without the footnote markers (``[1] [2]``) that end it.

    Read backwards from the end, each character once (a regex anchored at ``$`` would
    restart at every space of a long run).
    """
    cut = end = len(text)
    while end and text[end - 1] == "]":
        opening = text.rfind("[", max(0, end - 5), end - 1)
        digits = text[opening + 1 : end - 1] if opening >= 0 else ""
        if not (1 <= len(digits) <= 3 and digits.isdigit()):
            break
        end = opening
        while end and text[end - 1].isspace():
            end -= 1
        cut = end
    return text[:cut]
