"""Attribution over a whole article: every quoted span with its speaker, in context.

``attribute_paragraphs(paragraphs) -> list[list[Quoted]]`` runs the cue rules of
``bot.pipeline.quotes`` on each paragraph in order and supplies what a single
paragraph cannot know:

* pronouns, subject-less Slavic cues ("- zaznaczył.") and definite roles ("the
  shortstop said") resolve to the last named person: the latest of the speakers
  already attributed and the full names mentioned outside quotes ("Senator Reid");
* a quote with no cue of its own takes the speaker of the quote before it in the
  paragraph (else the one after it, else the subject of reported speech earlier in
  the paragraph);
* a paragraph that opens with a quote and names no one continues the speaker of the
  paragraph just before (a narrative paragraph in between breaks the chain);
* a quote inside a quote belongs to whoever speaks the outer one.

The same results serve the verifier (is the claimed speaker the attributed one?) and
the extractive summarizer (which quotes to list, under whose name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from bot.pipeline.cues import FUNCTION_WORDS, PRONOUNS, ROLE_NOUNS
from bot.pipeline.names import name_tokens, same_speaker
from bot.pipeline.quotes import (
    _SENTENCE_END,
    _TOKEN,
    HEAD_CHARS,
    TAIL_CHARS,
    Quoted,
    Speaker,
    find_quotes,
    sentence_speaker,
    speaker_in_head,
    speaker_in_tail,
)
from bot.pipeline.subjects import _ABBREVIATIONS, _PREPOSITIONS, _is_name

_DEFINITE = frozenset(
    ["the", "this", "that", "der", "die", "das", "le", "la", "l'", "el", "il", "lo", "o", "a"]
)
_INDEFINITE = frozenset(["a", "an", "un", "une", "ein", "eine", "einer", "uno", "una", "um", "uma"])
MIN_INHERIT_WORDS = 4
MAX_GAP_WORDS = 12  # a quote continues the one before when little stands between them
_TERMINATOR = re.compile(r"[.!?:]")
MAX_SENTENCE_CHARS = 600  # reported speech is looked for in at most this much of a sentence
_ORGANISATION = re.compile(
    r"\b(?:Day|School|University|Association|Agency|Department|Ministry|Institute|Center|"
    r"Centre|Council|Committee|Party|Company|Corp|Inc|Bank|Group|Economics|Securities|"
    r"Interest|Times|Post|News|Journal|Magazine|Review|Street|City|County|State|States|"
    r"Republic|Union|Office|House|Court|Foundation|Fund|Service|Network|Club|League)\b"
)
_TITLES = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "sen",
        "senator",
        "rep",
        "gov",
        "president",
        "minister",
        "sir",
        "dame",
    ]
)


@dataclass(slots=True)
class _State:
    last_person: str = ""
    last_at: int = -1
    carried: Speaker | None = None
    position: int = 0  # characters of the article seen before this paragraph
    mentions: list[tuple[int, str, bool]] = field(default_factory=list)  # (at, name, strong)
    known: set[str] = field(default_factory=set)  # words seen capitalised mid-sentence


def attribute_paragraphs(paragraphs: list[str]) -> list[list[Quoted]]:
    """For each paragraph, its quoted spans with the speakers the text gives them."""
    return [list(quotes) for quotes in _attribute(tuple(paragraphs))]


@lru_cache(maxsize=8)
def _attribute(paragraphs: tuple[str, ...]) -> tuple[tuple[Quoted, ...], ...]:
    # cached: the summarizer and then the verifier ask about the same article
    state = _State()
    out = []
    for text in paragraphs:
        out.append(tuple(_paragraph(text, state)))
        state.position += len(text) + 2
    return tuple(out)


def _paragraph(text: str, state: _State) -> list[Quoted]:
    spans = find_quotes(text)
    outer = [(s, e) for s, e, nested in spans if not nested]
    _note_mentions(text, outer, state)
    speakers: list[Speaker | None] = []
    reported: tuple[int, Speaker] | None = None  # reported speech earlier in the paragraph
    previous_end = 0
    for k, (start, end) in enumerate(outer):
        next_start = outer[k + 1][0] - 1 if k + 1 < len(outer) else len(text)
        tail = text[end + 1 : min(end + 1 + TAIL_CHARS, next_start)]
        head = _sentence_head(
            text, max(previous_end + 1 if k else 0, start - 1 - HEAD_CHARS), start - 1
        )
        reported = _reported_between(text, previous_end, start - 1 - len(head), reported, state)
        words, cue = speaker_in_tail(tail)
        if not words and not cue:
            words, cue = speaker_in_head(head)
        elif len(words) == 1 and words[0].lower() in PRONOUNS:
            # 'Rosenblatt noted that "…" he said': the name before beats the pronoun after
            named, _ = speaker_in_head(head)
            if named and name_tokens(" ".join(named)) and named[0].lower() not in PRONOUNS:
                words = named
        speakers.append(_resolve(words, cue, state, state.position + start))
        previous_end = end
    if outer:
        tail_start = outer[-1][1] + 1
        _reported_between(text, tail_start, len(text), None, state)
    else:
        reported = _reported_between(text, 0, len(text), reported, state)
        if text.rstrip().endswith(":"):
            # "Jespersen … wrote:" introduces the quote paragraph that follows
            words, _ = speaker_in_head(text.rstrip()[-HEAD_CHARS:])
            intro = _resolve(words, False, state, state.position + len(text))
            reported = (len(text), intro) if intro else reported
    how = ["cue" if s is not None else "" for s in speakers]
    _inherit(text, outer, speakers, reported, state, how)
    results = []
    by_outer = {span: (s, h) for span, s, h in zip(outer, speakers, how, strict=True)}
    for start, end, nested in spans:
        if nested:
            owner = next(((s, e) for s, e in outer if s <= start and end <= e), None)
            speaker, found = by_outer.get(owner, (None, "")) if owner else (None, "")
            found = "nested" if speaker else ""
        else:
            speaker, found = by_outer[(start, end)]
        results.append(Quoted(start, end, text[start:end], speaker, nested, found))
    attributed = [s for s in speakers if s]
    if attributed:
        state.carried = attributed[-1]
    elif reported:
        state.carried = reported[1]
    else:
        state.carried = None
    return results


def _sentence_head(text: str, lo: int, hi: int) -> str:
    """The part of ``text[lo:hi]`` in the sentence that ends at ``hi``."""
    cut = lo
    # look two characters past ``hi``: a sentence ending right before the quote mark
    for match in _SENTENCE_END.finditer(text, lo, min(len(text), hi + 2)):
        if match.end() > hi:
            break
        before = text[lo : match.start()].split()
        word = before[-1].lower().strip("\"'“„«(") if before else ""
        if len(word) <= 1 or word in _ABBREVIATIONS:
            continue  # "Dr. Marina", "J. Smith": not the end of a sentence
        cut = match.end()
    return text[cut:hi]


def _reported_between(
    text: str, lo: int, hi: int, reported: tuple[int, Speaker] | None, state: _State
) -> tuple[int, Speaker] | None:
    begin = lo
    for match in _TERMINATOR.finditer(text, lo, max(lo, hi)):
        start, end = begin, match.end()
        begin = end
        sentence = text[max(start, end - MAX_SENTENCE_CHARS) : end]
        speaker = sentence_speaker(sentence)
        if speaker and name_tokens(speaker.name) and speaker.name.lower() not in PRONOUNS:
            reported = (start, speaker)
            state.last_person = speaker.name
            state.last_at = state.position + start
    return reported


def _resolve(words: list[str], cue: bool, state: _State, at: int) -> Speaker | None:
    if not words:
        if cue and state.last_person:  # "…" - zaznaczył.
            return Speaker("", state.last_person)
        return None
    phrase = " ".join(words)
    lowered = [w.lower() for w in words]
    if len(words) == 1 and lowered[0] in PRONOUNS:
        last = _last_person(state, at)
        return Speaker(phrase, last) if last else None
    if not name_tokens(phrase):
        # only role words: "the shortstop" stands for the last person, "a spokeswoman" not
        if lowered[0] not in _INDEFINITE and any(w in ROLE_NOUNS for w in lowered):
            last = _last_person(state, at)
            return Speaker(phrase, last)
        return Speaker(phrase)
    state.last_person, state.last_at = phrase, at
    return Speaker(phrase)


def _last_person(state: _State, at: int) -> str:
    """The person a pronoun stands for: the last speaker, unless someone was named since
    as a sentence's subject ("Trump shot back. “…,” he said.") or with a title
    ("Senator Harry Reid"); any full name when no one has spoken yet."""
    fallback = ""
    for position, name, strong in reversed(state.mentions):
        if position >= at:
            continue
        if position < state.last_at:
            break
        if _ORGANISATION.search(name):
            continue
        if strong:
            return name
        fallback = fallback or name
    return state.last_person or fallback


def _note_mentions(text: str, outer: list[tuple[int, int]], state: _State) -> None:
    """Remember names mentioned outside quotes: full names ("Harry Reid"), names with a
    title ("Senator Reid") and names that open a sentence ("Trump shot back")."""
    run: list[tuple[int, str]] = []
    previous = "."  # the token before the run: a sentence starts after "."
    before_run = "."
    span = 0  # the first quote that does not end before the current word
    for match in _TOKEN.finditer(text + " ."):
        word = match.group(0)
        while span < len(outer) and outer[span][1] <= match.start():
            span += 1
        inside = span < len(outer) and outer[span][0] <= match.start()
        if not inside and _is_name(word) and word.lower() not in _DEFINITE:
            if not run:
                before_run = previous
            if previous not in ".!?":
                state.known.add(word)  # capitalised mid-sentence: a name, not a sentence start
            run.append((match.start(), word))
            previous = word
            continue
        if run:
            name = " ".join(w for _, w in run)
            titled = run[0][1].rstrip(".").lower() in _TITLES or before_run.lower() in ROLE_NOUNS
            low = word.lower()
            # a titled name counts as the one a pronoun means when it acts: "Senator
            # Harry Reid spoke", not "the policy of president Bauzà, he said"
            titled = titled and word[:1].islower() and low not in _PREPOSITIONS | FUNCTION_WORDS
            subject = (
                before_run in ".!?"
                and word[:1].islower()
                and (len(run) > 1 or run[0][1] in state.known)
            )
            if (len(run) >= 2 or titled or subject) and name_tokens(name):
                state.mentions.append((state.position + run[0][0], name, titled or subject))
        run = []
        previous = word
    del state.mentions[:-50]


def _inherit(
    text: str,
    outer: list[tuple[int, int]],
    speakers: list[Speaker | None],
    reported: tuple[int, Speaker] | None,
    state: _State,
    how: list[str],
) -> None:
    """Give a quote with no cue of its own the speaker its neighbours establish."""
    following: list[bool] = [False] * len(speakers)  # is a later quote attributed?
    for k in range(len(speakers) - 2, -1, -1):
        following[k] = following[k + 1] or speakers[k + 1] is not None
    before: tuple[int, Speaker] | None = None
    for k, speaker in enumerate(speakers):
        start, end = outer[k]
        if speaker is not None:
            before = (k, speaker)
            continue
        if len(text[start:end].split()) < MIN_INHERIT_WORDS:
            continue  # a scare quote or a title ("huge step") is no one's statement
        after = following[k]
        opens_paragraph = k == 0 and not text[: start - 1].strip(" \t\n-–—:")
        gap = text[outer[before[0]][1] : start] if before else ""
        if (
            before
            and len(gap.split()) <= MAX_GAP_WORDS
            and _clear(text, outer[before[0]][1], start, before[1], state)
        ):
            speakers[k], how[k] = before[1], "before"
        elif opens_paragraph and state.carried and not after:
            speakers[k], how[k] = state.carried, "continued"
        elif reported and _clear(text, reported[0], start, reported[1], state):
            speakers[k], how[k] = reported[1], "reported"
        if speakers[k] is not None:
            before = (k, speakers[k])  # "A," said X. "B." "C.": all X's


def _clear(text: str, lo: int, hi: int, speaker: Speaker, state: _State) -> bool:
    """Whether ``text[lo:hi]`` mentions no one but ``speaker`` (so it still speaks)."""
    base = state.position
    for at, name, _ in state.mentions:
        if base + lo <= at < base + hi and not any(
            same_speaker(name, n) or same_speaker(n, name) for n in speaker.names()
        ):
            return False
    return True


def display_name(speaker: Speaker) -> str:
    """The speaker as a reader knows them: "Mykhailo Podolyak", not his title; the
    person a pronoun or a definite role stands for; "a spokeswoman" as written."""
    name = speaker.name
    if speaker.resolved and (not name or name.lower() == name):
        name = speaker.resolved  # "he", "the shortstop" → the person they stand for
    words = name.split()
    run: list[str] = []
    for word in reversed(words):
        if not word[:1].isupper() or word.lower().strip(".") in ROLE_NOUNS:
            break
        run.insert(0, word)
    return " ".join(run) if run and len(run) < len(words) else name
