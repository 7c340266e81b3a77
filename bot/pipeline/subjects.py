"""Who a cue's subject is: the words before or after a reporting verb, made a speaker.

Part of the attribution model (``bot.pipeline.quotes`` finds the cues and windows; this
module reads the subject out of them):

``clean_speaker(words) -> list[str]``
    The speaker phrase in a few words, or [] when they are no speaker at all (a
    function word, a first-person phrase, a fragment).
``_subject_after(words)``
    After a cue: "said Jimmy Rollins, who …", "říká analytik ENA a ředitel … Jiří
    Gavor", "said the coach", "сказав він на прес-конференції".
``_subject_before(words)`` / ``_subject_of_cue(words, k)``
    Before a cue: "Jonathon Monken, director of …, said", "Regarding …, Stan remarked",
    "…, but he replied", "Zelensky left open …, but also said that …".

Everything works on a bounded list of words, so each call costs at most a few dozen
steps.
"""

from __future__ import annotations

import re

from bot.pipeline.cues import (
    CUE_STEMS,
    CUE_WORDS,
    FIRST_PERSON,
    FUNCTION_WORDS,
    PRONOUNS,
    ROLE_NOUNS,
)
from bot.pipeline.names import name_tokens
from bot.pipeline.sentences import word_set

MAX_SPEAKER_WORDS = 9

_AUXILIARIES = word_set("has had have ha hat a est è é ont han hanno s'est se si sich")
_WEAK_ACCORDING = word_set("pour para per für dla для")
_LEADING_SKIP = FUNCTION_WORDS | word_set("meanwhile later earlier instead also still then")
_TRAILING_SKIP = word_set(
    """
    also again then later once still already just recently repeatedly reportedly publicly
    privately earlier previously further separately yesterday today tonight saturday
    sunday monday tuesday wednesday thursday friday candidly gravely quietly simply
    firmly wryly heute gestern hoy ayer oggi ieri hoje ontem сегодня вчера dnes včera
    dziś wczoraj always
    """
)
_ABBREVIATIONS = word_set("mr mrs ms dr st gen sen rep prof jr sr lt col sgt gov u.s dott ing")


def is_cue(token: str, before: str = "") -> bool:
    """Whether ``token`` reports speech (``before``: the word in front of it)."""
    low = token.lower()
    if before.lower() in _DETERMINERS or before.lower().endswith("'s"):
        return False  # "this claimed withdrawal", "Russia's stated aim": adjectives
    return low in CUE_WORDS or (len(low) > 3 and low.startswith(CUE_STEMS))


_DETERMINERS = word_set(
    "the an this that these those its their his her our my was were is are be been to zu"
)


_ARTICLES = word_set("a an the o os as el la los las le les l il lo gli der die das den dem")


def _is_name(token: str) -> bool:
    low = token.lower()
    if low.endswith(("ly", "mente")) and len(low) > 5:
        return False  # "Allegedly, …", "Finalmente, …": an adverb opening a sentence
    return token[:1].isupper() and low not in _NOT_NAMES


_SENTENCE_ADVERBS = word_set(
    """
    regarding however meanwhile still yet entretanto además también asimismo néanmoins
    toutefois cependant ainsi enfin inoltre tuttavia intanto ainda contudo porém однако
    также кроме однак також проте navíc však přesto ponadto jednak natomiast zatem
    citado citada según segundo selon secondo laut podle według zdaniem por
    """
)


def clean_speaker(words: list[str]) -> list[str]:
    """The speaker phrase in ``words``, or [] when they are no speaker at all."""
    words = [w for w in words if w not in "()"]
    while words and (words[0].lower() in _LEADING_SKIP or words[0] in ",;:-–—"):
        if words[0].lower() in PRONOUNS and len(words) == 1:
            break
        words = words[1:]
    for dash in ("--", "-", "–", "—"):
        if dash in words[:4] and all(w.isupper() for w in words[: words.index(dash)] if w):
            words = words[words.index(dash) + 1 :]  # "BERLIN -- The agency"
    while words and (words[-1].lower() in _TRAILING_SKIP | FUNCTION_WORDS or words[-1] in ",;:-"):
        if words[-1].lower() in PRONOUNS and len(words) == 1:
            break
        words = words[:-1]
    if not words or len(words) > MAX_SPEAKER_WORDS:
        return []
    lowered = [w.lower() for w in words]
    if lowered[0] in FIRST_PERSON or any(w in FIRST_PERSON for w in lowered[:2]):
        return []
    if len(words) == 1 and lowered[0] in PRONOUNS:
        return words
    if any(_is_name(w) for w in words) or any(w in ROLE_NOUNS for w in lowered):
        return words if name_tokens(" ".join(words)) or _has_role(lowered) else []
    return []


def _has_role(lowered: list[str]) -> bool:
    return any(w in ROLE_NOUNS or w.rstrip("s") in ROLE_NOUNS for w in lowered)


def _subject_after(words: list[str]) -> list[str]:
    """The speaker after a cue: "said Jimmy Rollins, who …" → Jimmy Rollins; "říká
    analytik ENA a ředitel Asociace … Jiří Gavor." → Jiří Gavor; "said the coach" →
    the coach; "сказав він на прес-конференції" → він; "řekl ve státní televizi" → no
    one named (the last person)."""
    window: list[str] = []
    for w in words[:18]:
        if w in "!?;" or (w == "." and not (window and _is_abbreviation(window[-1]))):
            break
        window.append(w)
    start = 0
    while start < len(window) and window[start].lower() in _TRAILING_SKIP:
        start += 1  # "řekl dnes Duda"
    if start == len(window) or window[start].lower() in _PREPOSITIONS:
        return []  # "řekl ve státní televizi": the subject is the one before
    if window[start].lower() in PRONOUNS:
        return [window[start]]
    runs: list[tuple[int, int]] = []
    i = start
    while i < len(window):
        if _is_name(window[i]) and window[i].lower() not in _TRAILING_SKIP:
            j = i + 1
            while j < len(window) and (
                _is_name(window[j]) or (window[j].lower() in _PARTICLES and j + 1 < len(window))
            ):
                j += 1
            if not (i and window[i - 1].lower() in _PREPOSITIONS):
                runs.append((i, j))
            i = j
        else:
            i += 1
    for i, j in runs:
        follows = window[j] if j < len(window) else ""
        if _is_role(follows) or _ORG_WORD.search(" ".join(window[i:j])):
            continue  # "Clippers coach Vinny Del Negro": a team, then the coach
        described = all(_is_role(w) or w.lower() in _ARTICLES for w in window[start:i])
        if i == start or described or not follows or follows in ",(:-–—":
            return clean_speaker(window[i:j])  # "said economist Bill Cheney of …"
    if runs and runs[0][0] == start:
        i, j = runs[0]
        return clean_speaker(window[i:j])
    clause: list[str] = []
    for w in window[start:]:
        if w in ",:(" or (clause and w.lower() in _STOP_AFTER):
            break
        clause.append(w)
    roles = [k for k, w in enumerate(clause) if _is_role(w)]
    return clean_speaker(clause[: roles[-1] + 1]) if roles else []


_PREPOSITIONS = word_set(
    """
    in on at to after before during about of for from with into by
    im am zu mit nach vor bei auf aus à au aux après avant pendant dans sur avec
    en tras durante con desde sobre a dopo prima durante con su da em após durante com
    в на у з із зі после после перед при від до після під
    v ve na po z ze se s u před při o k
    w we na po z ze przed przy o u do dla podczas
    """
)


def _is_role(word: str) -> bool:
    low = word.lower()
    if low in ROLE_NOUNS or any(part in ROLE_NOUNS for part in low.split("-")):
        return True
    # inflected: "premiera", "ministra", "министра", "prezydenta"
    return any(len(low) - cut >= 5 and low[:-cut] in ROLE_NOUNS for cut in (1, 2, 3))


def _is_abbreviation(word: str) -> bool:
    return (len(word) <= 3 and word.islower()) or word.lower() in _ABBREVIATIONS


_ORG_WORD = re.compile(
    r"verband|ministeri|gesellschaft|institut|partei|bank|zeitung|agentur|"
    r"\b(?:Day|School|University|Association|Agency|Department|Ministry|Institute|"
    r"Council|Committee|Party|Company|Bank|Group|Securities|Times|Post|News|Journal)\b",
    re.IGNORECASE,
)


_PARTICLES = word_set("de van von da del der di du la le al bin ibn dos das")
_STOP_AFTER = word_set(
    """
    who which that in on at to after before when while as during about of for from with
    into der dem des zu im am qui que à au après lors quien que en tras durante
    chi che a dopo durante quem que em após который которая в на после на kdo který
    ve po kto który w na po
    """
)


def _subject_before(words: list[str]) -> list[str]:
    """The speaker before a cue: "Jonathon Monken, director of …, said" → Jonathon Monken."""
    words = [w for w in words if w not in "()"]
    aside = bool(words) and words[-1] == ","  # "X, editor at the Gazette, said"
    while words and (words[-1].lower() in _TRAILING_SKIP or words[-1] in ",-–—"):
        words = words[:-1]
    if not words:
        return []
    if aside and "," in words:
        first = words[: words.index(",")]
        end_run = len(words) - next(
            (i for i, w in enumerate(reversed(words)) if not _is_name(w)), len(words)
        )
        by_comma = end_run > 0 and words[end_run - 1] == ","
        if not by_comma and any(_is_name(w) for w in first) and len(first) <= 6:
            return clean_speaker(first)
    if words[-1].lower() in PRONOUNS:
        return [words[-1]]  # "…, but he replied"
    for back in (1, 2, 3):
        # "Pierre Moscovici, a pour sa part ajouté": a name, then a few small words
        tail = words[-back:]
        rest = words[:-back]
        if (
            len(words) > back
            and all(w[:1].islower() for w in tail)
            and rest
            and (rest[-1] == "," or _is_name(rest[-1]))
        ):
            trimmed = rest[:-1] if rest[-1] == "," else rest
            if trimmed and _is_name(trimmed[-1]):
                words = trimmed
                break
    roles: list[str] = []
    while words and _is_role(words[-1]) and len(roles) < 2:
        roles.insert(0, words[-1])  # "Arianespace officials said"
        words = words[:-1]
    run: list[str] = []
    for w in reversed(words):
        if _is_name(w) or (run and w.lower() in _PARTICLES | ROLE_NOUNS | _TITLES_LOWER):
            run.insert(0, w)
        else:
            break
    if not run and roles:
        words = [*words, *roles]
        roles = []
    run = [*run, *roles] if run else run
    if run:
        # "Regarding …, Stan remarked", "one punch Lt Garcia said": the name next to it
        lead = words[: len(words) - len(run)]
        if lead and lead[-1].lower() in _DETERMINERS | ROLE_NOUNS:
            run = [*lead[-3:], *run] if lead[-1].lower() in ROLE_NOUNS else [lead[-1], *run]
        return clean_speaker(run)
    # the clause the cue belongs to: after the last subordinating word or semicolon
    cut = 0
    for i, w in enumerate(words):
        if w in ";:" or w.lower() in ("that", "que", "dass", "che", "что", "що", "že", "że"):
            cut = i + 1
    words = words[cut:]
    if "," in words:
        first = words[: words.index(",")]
        if any(_is_name(w) for w in first[1:]) or (first and _is_name(first[0]) and len(first) < 5):
            return clean_speaker(first)  # "Podolyak, an adviser to Zelensky, said"
        words = words[len(words) - words[::-1].index(",") :]
    loose = [w for w in words if w[:1].islower() and w.lower() not in _PARTICLES | ROLE_NOUNS]
    if len(words) > 3 and len(loose) > 1 and _is_name(words[0]):
        return _leading_subject(words)  # "Jespersen was a proponent of … and wrote"
    return clean_speaker(words[-MAX_SPEAKER_WORDS:])


_TITLES_LOWER = word_set("mr mrs ms dr lt sen rep gen gov prof st")


_CONJUNCTIONS = word_set("and but und aber et mais y pero e ma и но і але a ale i")


def _leading_subject(words: list[str]) -> list[str]:
    """The subject a sentence opens with ("Ukraine's delegation offered …")."""
    run: list[str] = []
    for x in words:
        if x == "…" or (not run and is_cue(x)):
            return []  # out of reach, or a participle ("Estimant que …"), not a subject
        if run and run[-1].endswith(("'s", "’s")):
            run.append(x)  # "Ukraine's delegation"
            continue
        if not (_is_name(x) or (run and x.lower() in _PARTICLES | ROLE_NOUNS)):
            break
        run.append(x)
    return clean_speaker(run)


def _subject_of_cue(words: list[str], k: int) -> list[str]:
    """The subject of the cue at ``words[k]``, looking back."""
    before = [x for x in words[:k] if x.lower() not in _AUXILIARIES]
    while before and before[-1].lower() in _TRAILING_SKIP:
        before.pop()
    gerund = words[k].lower().endswith(("ing", "ant", "ando", "endo", "iendo"))
    if (before and before[-1].lower() in _CONJUNCTIONS) or gerund:
        # "Zelensky left open …, but also said that …", "…, emphasizing that …"
        return _leading_subject(words)
    return _subject_before(before)


def _is_leading_subject(before: list[str]) -> bool:
    return any(_is_name(w) or w.lower() in PRONOUNS or w.lower() in ROLE_NOUNS for w in before)


# Capitalised, but never a name: a sentence's first word ("The", "But", "Allegedly").
_NOT_NAMES = FUNCTION_WORDS | PRONOUNS | _SENTENCE_ADVERBS | _ARTICLES
