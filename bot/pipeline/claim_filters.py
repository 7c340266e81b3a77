"""What may be a key claim, and who may be its speaker (for the extractive summarizer).

``valid_speaker(name) -> bool``
    A speaker is a name or a role ("Jimmy Rollins", "a State Department
    spokesperson", "Moody's"), never a pronoun, a function word, a first-person
    phrase or a sentence fragment ("As", "But she", "During the", "We've",
    "You can", "and I", "The Wikileaks founder always", "BERLIN -- The European
    Space Agency").

``looks_like_prose(sentence) -> bool``
    A claim is a sentence of prose: not a list item, a recipe or how-to step, code,
    or the debris of a PDF's text layer ("0=__NOMAGIC__").
"""

from __future__ import annotations

import re

from bot.pipeline.cues import FIRST_PERSON, FUNCTION_WORDS, PRONOUNS
from bot.pipeline.sentences import word_set
from bot.pipeline.subjects import clean_speaker

MIN_PROSE_WORDS = 5
MIN_LETTER_SHARE = 0.6
_CONTRACTION = re.compile(r"['’](?:ve|re|ll|d|m)\b", re.IGNORECASE)
_DEBRIS = re.compile(r"__|[{}<>\\|=]|\(\)|;\s*$|\b0x[0-9a-f]+|\b\w+\(\w*\)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•·–—▪►]|\d{1,3}[.)]\s|[a-z][.)]\s|step\s+\d)", re.IGNORECASE)
# Verbs that open instructions ("Preheat the oven", "Click Save"): steps, not claims.
_IMPERATIVES = word_set(
    """
    add preheat heat stir mix whisk bake place cut chop slice combine pour remove serve
    season cook bring let put set use click select open go make take enter type install
    run press tap drag drop fold knead simmer boil fry roast grill drain rinse sprinkle
    spread top transfer repeat cover store beat blend grate peel line grease melt toss
    download copy paste save check choose follow insert turn wait
    """
)


_ARTICLES = word_set("a an the der die das ein eine le la les un une el los las il lo gli o os as")


def valid_speaker(name: str) -> bool:
    """Whether ``name`` reads as a speaker (see module docstring)."""
    words = name.split()
    if not words or _CONTRACTION.search(name):
        return False
    if len(words) > 1 and words[0].lower() in _ARTICLES:
        words = words[1:]  # "a State Department spokesperson", "the shortstop"
    lowered = [w.lower().strip(",.") for w in words]
    if lowered[0] in FUNCTION_WORDS | PRONOUNS | FIRST_PERSON:
        return False
    if any(w in FIRST_PERSON for w in lowered):
        return False
    if lowered[-1].endswith("ly") and len(lowered) > 1:
        return False  # "The Wikileaks founder always", "Trump repeatedly"
    if any(w in ("--", "-", "—", "–") for w in words):
        return False  # "BERLIN -- The European Space Agency": a dateline, then a subject
    return clean_speaker(words) == words


def looks_like_prose(sentence: str) -> bool:
    """Whether ``sentence`` is prose that can carry a claim (see module docstring)."""
    words = sentence.split()
    if len(words) < MIN_PROSE_WORDS or _LIST_ITEM.match(sentence) or _DEBRIS.search(sentence):
        return False
    visible = len(sentence) - sum(map(str.isspace, sentence))
    letters = sum(map(str.isalpha, sentence))
    if not visible or letters / visible < MIN_LETTER_SHARE:
        return False
    return words[0].lower().strip("\"'“(") not in _IMPERATIVES
