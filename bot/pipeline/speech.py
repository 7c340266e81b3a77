"""Reported speech in one sentence: who says it, with which verb, and what.

``find_reported_speech(sentence, previous_speaker=None) -> ReportedSpeech | None``
    The speaker, reporting verb and reported clause of "<speaker> <verb> (that) …"
    or "…, according to <speaker>": "Chief Russian negotiator Vladimir Medinsky
    falsely framed …" → speaker "Chief Russian negotiator Vladimir Medinsky".
    Adjectival and passive uses ("the Kremlin's claimed withdrawal", "was
    claimed") are not speech; "he"/"she"/"they" resolve to ``previous_speaker``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.pipeline.attribution import (
    ARTICLES,
    AUTHOR,
    NAME_PARTICLES,
    NATIONALITY_WORDS,
    ROLE_WORDS,
    is_person,
    name_tokens,
)
from bot.pipeline.sentences import word_set

# -- reported speech: "X said that Y" ---------------------------------------------------
# Heuristics, not a parser: the subject is the text before the verb, cut back to the
# clause that holds it, with adverbs, auxiliaries and time phrases dropped.

# Reporting verbs and the kind of statement they introduce.
_ASSESSING_VERBS = word_set("assessed assesses estimated estimates concluded concludes")
_REPORTING_VERBS = word_set(
    """
    said says claimed claims stated states assessed assesses emphasized emphasised
    emphasizes framed frames warned warns argued argues announced announces denied denies
    insisted insists told tells noted notes added adds reported reports wrote writes
    asserted asserts alleged alleges acknowledged admitted suggested declared explained
    confirmed estimated estimates predicted promised vowed pledged accused urged demanded
    concluded concludes stressed maintained contended revealed threatened
    say claim warn argue insist deny allege assert tell write assess conclude admit
    acknowledge confirm suggest
    """
)
# Forms that are also plural nouns ("news reports say"): a verb only before a clause.
_NOUN_LIKE_VERBS = word_set("reports claims notes states estimates concludes")
_VERB_RE = re.compile(
    r"\b(called for|calls for|" + "|".join(sorted(_REPORTING_VERBS, key=len, reverse=True)) + r")\b"
)
_ACCORDING_RE = re.compile(r"\b[Aa]ccording to\s+((?:the\s+)?[A-Z][^,;:.]{0,80})")
# A verb right after these is an adjective or a passive ("its claimed withdrawal").
_NOT_A_SUBJECT_END = word_set(
    "the a an its their his her this that these those our my was were is are be been being"
)
_FILLER = word_set(
    """
    also has have had again then later once still already just recently repeatedly
    reportedly publicly privately earlier previously further separately meanwhile
    """
)
_GROUP_NOUNS = word_set(
    """
    officials analysts experts sources authorities residents witnesses researchers
    scientists investigators prosecutors police critics diplomats observers lawmakers
    officers leaders report study statement ministry government spokesperson spokesman
    spokeswoman military army delegation negotiators author reports media
    """
)
_PRONOUNS = word_set("he she they it")
_CLAUSE_BOUNDARY_RE = re.compile(
    r"[;:()—–]|,\s|\b(?:that|which|who|whom|while|after|before|when|because|but|as|if|"
    r"though|although|whereas|where|since|so|and)\s"
)
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
# Every "\s+" that opens a pattern starts where a run of spaces starts and takes it
# whole ("(?<!\s)\s++"): a run of spaces is then read once, not once per space.
_TIME_TAIL_RE = re.compile(
    r"(?<!\s)\s++(?:(?:on|in|last|this|earlier|late|early)\s+(?:[A-Z][a-z]+day|week|month|year|"
    rf"\d{{4}}|(?:{_MONTHS})(?:\s+\d{{1,2}})?)|in\s+an?\s+[\w\s-]{{1,40}})$"
)
_THAT_CLAUSE_RE = re.compile(
    r"^(?:[a-z]+\s|(?:on|in|at|during|to|before|after|with)\b[^,;“\"]{0,70}?\s)?that\s+(.+)$",
    re.DOTALL,
)
_DIRECT_CONTENT_VERBS = word_set("said says stated states claimed claims insisted insists wrote")


@dataclass(frozen=True, slots=True)
class ReportedSpeech:
    """Who a sentence says is speaking, and what they say."""

    speaker: str  # as the sentence names them ("Zelensky"), or AUTHOR for "I"/"we"
    verb: str
    content: str  # the reported clause ("that ..." dropped) or the whole sentence
    kind: str  # "claim", "assessment" or "opinion"


def find_reported_speech(
    sentence: str, previous_speaker: str | None = None
) -> ReportedSpeech | None:
    """The first "<speaker> <reporting verb>" (or "according to <speaker>") in a sentence.

    ``previous_speaker`` resolves "he"/"she"/"they"; without it such a sentence
    has no speaker and gives None.
    """
    for match in _VERB_RE.finditer(sentence):
        prefix = sentence[: match.start()]
        words_before = prefix.split()
        if not words_before:
            continue
        last = words_before[-1].lower().replace("’", "'")
        if last in _NOT_A_SUBJECT_END or last.endswith("'s"):
            continue
        if match.group(1) in _NOUN_LIKE_VERBS and not _clause_follows(sentence[match.end() :]):
            continue
        speaker = _speaker_before(prefix, sentence)
        if speaker is None:
            continue
        if speaker.lower() in _PRONOUNS:
            if previous_speaker is None:
                return None
            speaker = previous_speaker
        verb = match.group(1)
        kind = "assessment" if verb in _ASSESSING_VERBS else "claim"
        if speaker in ("I", "We", "we"):
            speaker, kind = AUTHOR, "opinion"
        return ReportedSpeech(speaker, verb, _content(sentence, match, verb), kind)
    according = _ACCORDING_RE.search(sentence)
    if according:
        speaker = according.group(1).strip()
        speaker = re.split(r"(?<!\s)\s++(?:on|in|at|during|and|but)\s", speaker)[0]
        speaker = speaker.strip(" ”’\"'")
        if speaker:
            return ReportedSpeech(speaker, "according to", sentence, "claim")
    return None


def _clause_follows(rest: str) -> bool:
    first = rest.split(maxsplit=1)[0] if rest.strip() else ""
    return first in ("that", "the", "a", "an", ",") or first[:1].isupper()


def _speaker_before(prefix: str, sentence: str) -> str | None:
    text = prefix.rstrip()
    if text.endswith(","):
        # "Podolyak, an adviser to Zelensky, said": the name stands before the aside.
        head, comma, _ = text[:-1].rpartition(",")
        text = head if comma and head.strip() else text[:-1]
    words = text.split()
    while words and (
        words[-1].lower() in _FILLER or (words[-1].endswith("ly") and words[-1].islower())
    ):
        words.pop()
    text = _TIME_TAIL_RE.sub("", " ".join(words))
    cut, by_conjunction = _clause_start(text)
    subject = text[cut:].strip(" ,\"“”'’")
    if not subject:
        # "Zelensky left open ... but also said": the subject is the sentence's own.
        return _leading_subject(sentence) if by_conjunction else None
    if text[:cut].endswith(", ") and subject.split()[0].lower() in ROLE_WORDS:
        # "Rob Goldman, President of Ascom, says": the name is before the title.
        named = text[: cut - 2].rpartition(",")[2].strip()
        if named and _looks_like_speaker(named) and is_person(named):
            return named
    return subject if _looks_like_speaker(subject) else None


def _clause_start(text: str) -> tuple[int, bool]:
    """Where the clause holding the verb starts, and whether a conjunction opened it."""
    cut, by_conjunction = 0, False
    padded = text + " "
    for match in _CLAUSE_BOUNDARY_RE.finditer(padded):
        word = match.group(0).strip()
        if word == "and" and not _has_clause_words(padded[cut : match.start()]):
            continue  # "Russia and Ukraine said": one subject, not two clauses
        cut, by_conjunction = match.end(), word in ("and", "but")
    return min(cut, len(text)), by_conjunction


def _has_clause_words(text: str) -> bool:
    return any(
        t[:1].islower() and t not in NAME_PARTICLES and t not in ROLE_WORDS
        for t in name_tokens(text)
    )


def _looks_like_speaker(subject: str) -> bool:
    tokens = name_tokens(subject)
    if not tokens or len(tokens) > 12:
        return False
    if subject.lower() in _PRONOUNS or subject in ("I", "We", "we"):
        return True
    named = any(t[:1].isupper() for t in tokens[1:]) or (
        tokens[0][:1].isupper() and tokens[0].lower() not in ARTICLES | _PRONOUNS
    )
    if not named and tokens[-1].lower() not in _GROUP_NOUNS:
        return False
    loose = [
        t
        for t in tokens
        if t[:1].islower()
        and t.lower() not in ROLE_WORDS | NAME_PARTICLES | _GROUP_NOUNS | NATIONALITY_WORDS
    ]
    # "I've got to (say)", "is expected to (say)": a verb phrase, not a speaker.
    return len(loose) <= 1 and tokens[-1].lower() != "to"


def _leading_subject(sentence: str) -> str | None:
    taken: list[str] = []
    for token in sentence.split():
        bare = token.strip(",;:")
        if bare[:1].isupper() or (taken and bare.lower() in ROLE_WORDS | NAME_PARTICLES):
            taken.append(bare)
            if bare != token:
                break
        elif taken and taken[-1].replace("’", "'").endswith("'s"):
            taken.append(bare)  # "Ukraine's delegation"
            break
        else:
            break
    subject = " ".join(taken)
    return subject if taken and _looks_like_speaker(subject) else None


def _content(sentence: str, match: re.Match[str], verb: str) -> str:
    rest = sentence[match.end() :].strip(" \t\n:,")
    that = _THAT_CLAUSE_RE.match(rest)
    content = that.group(1) if that else ""
    if not content and verb in _DIRECT_CONTENT_VERBS and not re.match(r"(?:on|in|at)\b", rest):
        content = rest
    if len(content.split()) < 4:
        return sentence
    return content[:1].upper() + content[1:]
