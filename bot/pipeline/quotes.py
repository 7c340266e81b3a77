"""The attribution model: who does the text say said each quoted span?

``attribute_paragraphs(paragraphs) -> list[list[Quoted]]``
    For each paragraph (plain strings, in article order), its quoted spans with the
    speaker the text gives them. The reporting structure decides, in this order:

    1. a cue after the quote: ``"…," Barkley said`` / ``"…," said Jason Miller`` /
       ``«…», — написал Трамп`` / ``„…“, sagte Bürgermeisterin Petra Hansen``;
       a Slavic cue with no subject (``"…" - zaznaczył.``) means the last person;
    2. a cue before it in the same sentence: ``Heald told the Post: "…"``,
       ``According to Fitch, "…"``, ``Podle Porošenka „…“``, ``said Polsky, "…"``;
    3. a name introducing it with a colon: ``Pearl: "…"``;
    4. the quote before it in the paragraph, or a speaker named by reported speech
       earlier in the paragraph (``Wilkins also said Warhol was …. "As a way …"``);
    5. a paragraph that opens with a quote and names no one continues the speaker
       of the paragraph before.

    Pronouns ("he said", "il", "он") and definite roles ("the shortstop said") stand
    for the last named person; a quote inside a quote is attributed to whoever speaks
    the outer one (they are the one quoting it).

``sentence_speaker(sentence) -> Speaker | None``
    The speaker of reported speech without quotation marks ("X said that …").

Reading the subject out of a cue's words is ``bot.pipeline.subjects``'s job.
Quotation marks are paired by one scan over the text; every cue is looked for in a
bounded window (``HEAD_CHARS`` before, ``TAIL_CHARS`` after a quote), so the work is
linear in the paragraph's length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.pipeline.cues import (
    ACCORDING_PHRASES,
    ACCORDING_WORDS,
    FUNCTION_WORDS,
    PRONOUNS,
)
from bot.pipeline.sentences import word_set
from bot.pipeline.subjects import (
    _ARTICLES,
    _AUXILIARIES,
    _DETERMINERS,
    _PREPOSITIONS,
    _WEAK_ACCORDING,
    _is_abbreviation,
    _is_leading_subject,
    _is_name,
    _is_role,
    _subject_after,
    _subject_before,
    _subject_of_cue,
    clean_speaker,
    is_cue,
)

HEAD_CHARS = 240
TAIL_CHARS = 160
MAX_QUOTE_CHARS = 3000
_OPENERS = {'"': '"', "“": "”“", "„": "“”", "«": "»", "»": "«", "‘": "’", "‚": "‘’"}
_TOKEN = re.compile(
    r"(?:Mr|Mrs|Ms|Dr|St|Gen|Sen|Rep|Prof|Lt|Col|Sgt|Gov|Jr|Sr|Mme|Sra|Sr)\.(?=\s)"
    r"|[^\W\d_]\.(?=\s[^\W\d_])"  # an initial: "V. Sapounov"
    r"|[^\W_](?:[\w'’-]|\.(?=\w))*"
    r"|[,;:()!?.]|[-–—]"
)
_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)]*(?:\[\d{1,3}\])*\s+(?=[\"'“„«(\[]?[^\W\d_])")


@dataclass(frozen=True, slots=True)
class Speaker:
    """Who the text says spoke: as written, and the named person it stands for."""

    name: str  # "Jimmy Rollins", "the shortstop", "a spokeswoman", "Moody's"
    resolved: str = ""  # for a pronoun or definite role: the last named person

    def names(self) -> list[str]:
        return [n for n in (self.name, self.resolved) if n]


@dataclass(frozen=True, slots=True)
class Quoted:
    """A span between quotation marks and the speaker the text gives it."""

    start: int  # first character inside the marks
    end: int  # just past the last one
    text: str
    speaker: Speaker | None
    nested: bool = False  # inside another quote
    # how the speaker was found: "cue" (a cue or colon next to the quote), "before" /
    # "after" (the quote next to it in the paragraph), "continued" (the paragraph
    # before), "reported" (reported speech earlier in the paragraph), "" (no one)
    how: str = ""


# -- pairing quotation marks ---------------------------------------------------------


def find_quotes(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, nested) of every quoted span: one scan, two levels of nesting."""
    spans: list[tuple[int, int, bool]] = []
    stack: list[tuple[str, int]] = []  # (closing characters, offset after the opener)
    for i, ch in enumerate(text):
        if stack:
            closers, begin = stack[-1]
            if ch in closers and i - begin <= MAX_QUOTE_CHARS:
                stack.pop()
                if i > begin:
                    spans.append((begin, i, bool(stack)))
                continue
            if i - begin > MAX_QUOTE_CHARS:
                stack.clear()
        if ch in _OPENERS and len(stack) < 2:
            if ch in "‘" and (i == 0 or text[i - 1].isalnum()):
                continue  # an apostrophe, not a quote
            if ch == "»" and stack:
                continue
            stack.append((_OPENERS[ch], i + 1))
    spans.sort()
    return spans


# -- words and speakers ---------------------------------------------------------------


def _words(window: str) -> list[str]:
    window = window.replace("-t-il", " il").replace("-t-elle", " elle").replace("’", "'")
    window = re.sub(r"-(il|elle|ils|elles)\b", r" \1", window)
    return _TOKEN.findall(window)


def _according_at(words: list[str], i: int) -> int:
    """Length of an "according to"-phrase starting at ``words[i]`` (0 if none)."""
    low = words[i].lower()
    if low in ACCORDING_WORDS:
        return 1
    # "За його словами", "по его словам", "podle něj", "jego zdaniem": "according to him"
    pronoun_next = i + 1 < len(words) and words[i + 1].lower() in _OBJECT_PRONOUNS
    if low in ("за", "по", "podle", "jego", "jej", "według") and pronoun_next:
        return 1
    for parts in _PHRASES_BY_FIRST.get(low, ()):
        if len(words) - i >= len(parts) and all(
            words[i + n].lower() == part for n, part in enumerate(parts) if n
        ):
            return len(parts)
    return 0


_PHRASES_BY_FIRST: dict[str, list[tuple[str, ...]]] = {}
for _phrase in ACCORDING_PHRASES:
    _parts = tuple(_phrase.split())
    _PHRASES_BY_FIRST.setdefault(_parts[0], []).append(_parts)


_OBJECT_PRONOUNS = word_set("його її его её их їх něj ní nich niego niej nich zdaniem")


def speaker_in_tail(tail: str) -> tuple[list[str], bool]:
    """The speaker a cue after a quote names; (words, cue found)."""
    words = _words(tail)
    i = 0
    while i < len(words) and words[i] in ",-–—:":
        i += 1
    if i < len(words) and words[i] in ".!?":
        return [], False
    words = words[i : i + 24]
    first = words[0].lower() if words else ""
    if first in FUNCTION_WORDS and first not in PRONOUNS | _AUXILIARIES:
        return [], False  # "…", and told the police: a new clause, not an attribution
    if len(words) >= 2 and words[0].lower() == "so" and _is_name(words[1]):
        return _subject_after(words[1:]), True  # German: „…“, so Hirsch.
    for k, w in enumerate(words):
        ends = w in "!?;" or (w == "." and not (k and _is_abbreviation(words[k - 1])))
        if ends or k > 16:
            break
        if is_cue(w, words[k - 1] if k else "") or (w.lower() in ACCORDING_WORDS and k == 0):
            before = [x for x in words[:k] if x.lower() not in _AUXILIARIES]
            after = _subject_after(words[k + 1 :])
            if before and before[-1].lower() in PRONOUNS:
                return [before[-1]], True  # "…" around the middle of 2012, he predicted
            apposition = bool(before) and _is_name(before[0]) and "," in before
            if before and (len(before) <= 5 or apposition) and _is_leading_subject(before):
                return _subject_before(before), True
            return after, True
    return [], False


def speaker_in_head(head: str) -> tuple[list[str], bool]:
    """The speaker a cue (or a colon) before a quote names; (words, cue found)."""
    words = _words(head)
    if len(words) > 60:
        words = ["…", *words[-60:]]  # the sentence's start is out of reach
    if not words:
        return [], False
    for k in range(len(words) - 1, -1, -1):
        w = words[k]
        size = _according_at(words, k)
        if size:
            return _subject_after(words[k + size :]), True
        if is_cue(w, words[k - 1] if k else ""):
            after = words[k + 1 :]
            lead = 0
            while lead < len(after) and (
                after[lead].lower() in _DETERMINERS | _ARTICLES or _is_role(after[lead])
            ):
                lead += 1
            named = []
            for x in after[lead:]:
                if not _is_name(x):
                    break
                named.append(x)
            if named and all(x in ",:-–—" for x in after[lead + len(named) :]):
                return clean_speaker(named), True  # …," said Polsky, "but these traces …"
            previous = words[k - 1].lower() if k else ""
            if previous in ACCORDING_WORDS or previous in (
                "-",
                "–",
                "—",
                "как",
                "як",
                "jak",
                "come",
            ):
                return _subject_after(after), True  # "según afirmó X", "- powiedział X"
            return _subject_of_cue(words, k), True
    if words[-1] == ":":
        run = []
        for w in reversed(words[:-1]):
            if not _is_name(w):
                break
            run.insert(0, w)
        opener = words[: len(words) - 1 - len(run)]
        described = all(x.lower() in _DETERMINERS or _is_role(x) for x in opener)
        if opener and not described and (len(run) < 2 or opener[-1].lower() in _PREPOSITIONS):
            return [], False  # "Tym razem jednak na Twitterze:": not a speaker's name
        return clean_speaker(run[-5:]), False
    if len(words) >= 3 and words[-1] == "," and words[0].lower() in _WEAK_ACCORDING:
        return clean_speaker(words[1:-1]), True  # "Pour Jérémie Zimmermann, «…»"
    return [], False


@lru_cache(maxsize=4096)
def sentence_speaker(sentence: str) -> Speaker | None:
    """The speaker of reported speech in a sentence ("X said that …", "according to X")."""
    sentence = sentence[: HEAD_CHARS * 2]
    for start, end, _ in find_quotes(sentence):
        sentence = sentence[:start] + " " * (end - start) + sentence[end:]  # quoted words
    words = _words(sentence)[:60]
    for k, w in enumerate(words):
        size = _according_at(words, k)
        if size:
            subject = _subject_after(words[k + size :])
            return Speaker(" ".join(subject)) if subject else None
        if not is_cue(w, words[k - 1] if k else ""):
            continue
        if k and words[k - 1] in ",-–—":
            # "…, заявил министр Чед Вульф", "… - powiedział polski premier": inverted
            subject = _subject_after(words[k + 1 :])
            if subject:
                return Speaker(" ".join(subject))
        subject = _subject_of_cue(words, k)
        return Speaker(" ".join(subject)) if subject else None
    return None
