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
    CUE_STEMS,
    CUE_WORDS,
    FIRST_PERSON,
    FUNCTION_WORDS,
    PRONOUNS,
    ROLE_NOUNS,
)
from bot.pipeline.names import name_tokens
from bot.pipeline.sentences import word_set

HEAD_CHARS = 240
TAIL_CHARS = 160
MAX_QUOTE_CHARS = 3000
MAX_SPEAKER_WORDS = 9
_OPENERS = {'"': '"', "“": "”“", "„": "“”", "«": "»", "»": "«", "‘": "’", "‚": "‘’"}
_TOKEN = re.compile(
    r"(?:Mr|Mrs|Ms|Dr|St|Gen|Sen|Rep|Prof|Lt|Col|Sgt|Gov|Jr|Sr|Mme|Sra|Sr)\.(?=\s)"
    r"|[^\W\d_]\.(?=\s[^\W\d_])"  # an initial: "V. Sapounov"
    r"|[^\W_](?:[\w'’-]|\.(?=\w))*"
    r"|[,;:()!?.]|[-–—]"
)
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
_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)]*(?:\[\d{1,3}\])*\s+(?=[\"'“„«(\[]?[^\W\d_])")
_ABBREVIATIONS = word_set("mr mrs ms dr st gen sen rep prof jr sr lt col sgt gov u.s dott ing")


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


def is_cue(token: str, before: str = "") -> bool:
    """Whether ``token`` reports speech (``before``: the word in front of it)."""
    low = token.lower()
    if before.lower() in _DETERMINERS or before.lower().endswith("'s"):
        return False  # "this claimed withdrawal", "Russia's stated aim": adjectives
    return low in CUE_WORDS or (len(low) > 3 and low.startswith(CUE_STEMS))


_DETERMINERS = word_set(
    "the an this that these those its their his her our my was were is are be been to zu"
)


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


_ARTICLES = word_set("a an the o os as el la los las le les l il lo gli der die das den dem")
_OBJECT_PRONOUNS = word_set("його її его её их їх něj ní nich niego niej nich zdaniem")


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


def _is_leading_subject(before: list[str]) -> bool:
    return any(_is_name(w) or w.lower() in PRONOUNS or w.lower() in ROLE_NOUNS for w in before)


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


# Capitalised, but never a name: a sentence's first word ("The", "But", "Allegedly").
_NOT_NAMES = FUNCTION_WORDS | PRONOUNS | _SENTENCE_ADVERBS | _ARTICLES
