"""Whether two ways of writing a speaker name the same one.

``same_speaker(claimed, attributed) -> bool``
    "Donald Trump" and "Trump", "Mr. Tedeschi" and "Tedeschi", "Jimmy Rollins" and
    "the shortstop Jimmy Rollins", "Kurz" and "akademika Kurze", "Fernando Gandra" and
    "Fernanda Gandry", "Liz Truss" and "Liz Trussová" are the same speaker;
    "Hillary Clinton" and "Bill Clinton" are not, nor "Trump" and "Pence". Titles,
    roles and articles are ignored; a body matches by its words ("Moody's",
    "Arianespace officials" and "Arianespace").

``name_tokens(text) -> list[str]``
    The comparable words of a name: case, accents and "ё" folded; titles, roles and
    articles dropped.

Inflection is matched by endings, not by a dictionary: two words are the same when
they share a stem of at least four letters and differ only in endings of up to four
("Merkelová"/"Merkel", "Писеева"/"Писеев", "Morawieckiego"/"Morawiecki"). Short
words must match exactly ("Lee", "Li").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from bot.pipeline.cues import ROLE_NOUNS
from bot.pipeline.sentences import word_set

_WORD = re.compile(r"[^\W\d_][\w'’.-]*")
MIN_STEM = 4
MAX_ENDING = 4
# Titles, ranks and articles: never what tells two speakers apart.
_IGNORED = word_set(
    """
    the a an mr mrs ms miss dr prof sir dame lord lady sen rep gen col lt sgt capt adm st
    rev hon mme mlle m herr frau don doña sr sra signor signora dott pan pani paní
    der die das den dem des ein eine le la les l' un une el los las il lo gli i o os as
    de del della di da do dos das van von du y e et and und und
    former acting deputy vice chief senior top head us u.s. uk eu un
    with of for from at in on by to
    president presidente président präsident prezident prezydent президент
    prime minister premier ministr ministra ministro ministre министр міністр
    senator governor mayor secretary spokesman spokeswoman spokesperson
    """
)


_FEMININE_ENDINGS = ("ovou", "ova", "ove", "ovej")  # folded: -ová, -ové


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold().replace("ё", "е").replace("’", "'"))
    return "".join(c for c in text if not unicodedata.combining(c))


@lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[str, ...]:
    out = []
    for raw in _WORD.findall(_fold(text)):
        token = raw.strip(".'-").removesuffix("'s")
        if len(token) < 2 or token in _IGNORED or token in ROLE_NOUNS:
            continue
        for ending in _FEMININE_ENDINGS:
            # Czech and Slovak surnames: "Mayová" is May, "Merkelovou" is Merkel.
            if token.endswith(ending) and len(token) - len(ending) >= 2:
                token = token[: -len(ending)]
                break
        out.append(token)
    return tuple(out)


def _roles(text: str) -> frozenset[str]:
    return frozenset(
        w for w in _WORD.findall(_fold(text)) if w.rstrip("s") in ROLE_NOUNS or w in ROLE_NOUNS
    )


def name_tokens(text: str) -> list[str]:
    """The comparable words of a name (see module docstring)."""
    return list(_tokens(text))


def same_word(a: str, b: str) -> bool:
    """Whether two folded words are one word, maybe inflected differently."""
    if a == b:
        return True
    shared = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        shared += 1
    return shared >= MIN_STEM and len(a) - shared <= MAX_ENDING and len(b) - shared <= MAX_ENDING


def _covered(words: tuple[str, ...], by: tuple[str, ...]) -> bool:
    return all(any(same_word(w, b) for b in by) for w in words)


def same_speaker(claimed: str, attributed: str) -> bool:
    """Whether ``claimed`` names the speaker the text calls ``attributed``."""
    said, text = _tokens(claimed), _tokens(attributed)
    if not said or not text:
        # Only roles on one side ("the shortstop", "a spokesperson with the company"):
        # the same description, more or less fully written.
        said_roles, text_roles = _roles(claimed), _roles(attributed)
        if said or text or not said_roles or not text_roles:
            return False
        return said_roles <= text_roles or text_roles <= said_roles
    # "Trump" / "Donald Trump", "Verbandsdirektor Volker Leienbach" / "Leienbach".
    # A given name on both sides must agree: the surname alone is shared by
    # "Hillary Clinton" and "Bill Clinton", and neither covers the other.
    return _covered(said, text) or _covered(text, said)


def named_in(speaker: str, text: str) -> bool:
    """Whether ``text`` names ``speaker``: its surname (last word) occurs, inflected or not."""
    words = _tokens(speaker)
    if not words:
        return False
    surname = words[-1]
    return any(same_word(surname, w) for w in _tokens(text))
