"""Who speaks where in article text: quoted blocks, their introducers, speaker names.

Shared by the extractive summarizer and the quote verifier; pure functions, no I/O.

``split_blocks(text) -> list[Block]``
    Cuts ``Article.text`` into paragraphs. Lines starting with ``>`` form quoted
    blocks (a bare ``>`` line or a blank line separates paragraphs inside one);
    ``#`` lines are headings. A quoted block's ``introducer`` is the name on the
    line just before the quoted run — ``"ISW"`` from ``ISW:``, ``"the ISW"`` from
    ``According to the ISW:`` — and every paragraph of that run carries it.
    ``Block.lines`` hold each line's content (without ``> ``) with its offset in
    the text, so ``text[line.start:line.start + len(line.text)] == line.text``.

``block_at(blocks, offset) -> Block | None``
    The block whose span holds a character offset of the article text.

``name_variants(speaker) -> set[str]``
    Lower-case strings that count as naming the speaker: the whole string, the
    string without roles and titles, the personal name and the surname, an
    organisation's acronym. "Chief Russian negotiator Vladimir Medinsky" →
    {"chief russian negotiator vladimir medinsky", "vladimir medinsky", "medinsky"}.

``is_named_in(speaker, text) -> bool``
    Whether any name variant occurs in ``text`` as whole words (case, curly
    apostrophes and whitespace ignored). "the author" is named nowhere: the
    writer's own voice needs no name, so callers treat it on its own.

``speaker_key(speaker) -> str`` / ``is_person(speaker) -> bool``
    One key per speaker ("medinsky" for every form of Medinsky; "isw" for the
    Institute for the Study of War), and whether the speaker is a named person.

``introducer_name(line) -> str | None``
    The name in a line ending in ``:`` that introduces a quote.

The reported-speech finder (``find_reported_speech``) lives in ``bot.pipeline.speech``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from bot.pipeline.sentences import word_set

AUTHOR = "the author"

# Words that describe a speaker's job or rank, not who they are; never a name.
ROLE_WORDS = word_set(
    """
    president presidential vice prime minister ministers deputy defense defence foreign
    interior secretary chief head negotiator negotiators adviser advisor advisers advisors
    spokesman spokeswoman spokesperson press official officials officer officers general
    colonel colonel-general lieutenant major captain sergeant admiral commander marshal
    senator sen rep representative congressman congresswoman governor mayor ambassador
    envoy director ceo cfo cto founder chairman chairwoman chair leader professor prof
    dr mr mrs ms sir lord lady king queen prince princess pope bishop judge justice
    attorney analyst analysts expert experts researcher researchers reporter correspondent
    editor columnist author economist scientist former acting senior top lead assistant
    undersecretary state national security military army navy staff aide aides
    delegation delegate delegates negotiating team
    """
)
NATIONALITY_WORDS = word_set(
    """
    russian ukrainian american british chinese german french turkish belarusian polish
    european israeli palestinian iranian indian japanese korean north south western
    eastern nato us u.s. uk eu un
    """
)
ORG_WORDS = word_set(
    """
    institute university ministry department council agency party committee corporation
    company inc ltd bank times news post journal center centre foundation association
    office commission court army forces group kremlin government administration pentagon
    parliament senate congress house assembly union organization organisation service
    """
)
NAME_PARTICLES = word_set("de da di del der van von bin al la le du dos das of for the and")
ARTICLES = word_set("the a an")
_INTRO_LEAD_RE = re.compile(
    r"^(?:according to|here(?:'s| is) what|from|via|per|as|in|quoting)\s+", re.IGNORECASE
)
# Starts only where a run of spaces starts, and takes the run whole: linear.
_INTRO_TAIL_RE = re.compile(
    r"(?<!\s)\s++(?:wrote|writes|said|says|reported|reports|notes|noted|assessed|assesses|"
    r"explains|explained|put it|puts it|observed|observes|concluded|concludes|adds|added)"
    r"\b.*$",
    re.IGNORECASE,
)
_PROPER_RUN_RE = re.compile(
    r"(?:[A-Z][\w'’.-]*)(?:\s+(?:(?:of|for|the|and|de|von|van)\s+)*[A-Z][\w'’.-]*)*"
)
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s")
_QUOTE_RE = re.compile(r"^\s{0,3}>")
_TOKEN_RE = re.compile(r"[\w][\w.'’-]*")
MAX_INTRODUCER_WORDS = 20


@dataclass(frozen=True, slots=True)
class Line:
    """A line's content (``> `` removed) and the offset where it starts in the text."""

    start: int
    text: str


@dataclass(frozen=True, slots=True)
class Block:
    """One paragraph of article text."""

    text: str  # the lines' content (``> `` removed), joined by "\n"
    quoted: bool
    introducer: str | None  # who the quoted block is from, e.g. "ISW"; None outside quotes
    start: int  # offset of the paragraph's first character (including any "> ")
    end: int  # offset just past its last character
    lines: tuple[Line, ...] = ()
    heading: bool = False
    introduces: bool = False  # its last line is the introducer of the quoted block after it


def split_blocks(text: str) -> list[Block]:
    """The paragraphs of ``text``, with quoted blocks and their introducers marked."""
    raw: list[tuple[str, list[Line], int, int]] = []  # (kind, lines, start, end)
    kind = ""
    lines: list[Line] = []
    block_start = block_end = 0

    def close() -> None:
        nonlocal lines, kind
        if lines:
            raw.append((kind, lines, block_start, block_end))
        lines, kind = [], ""

    def add(new_kind: str, line_start: int, content_at: int, line: str) -> None:
        nonlocal kind, block_start, block_end
        if kind != new_kind:
            close()
            kind, block_start = new_kind, line_start
        lines.append(Line(line_start + content_at, line[content_at:].rstrip()))
        block_end = line_start + len(line.rstrip())

    offset = 0
    for raw_line in text.splitlines(keepends=True):
        line = raw_line.rstrip("\r\n")
        if _QUOTE_RE.match(line):
            content_at = line.index(">") + 1
            if line[content_at : content_at + 1] == " ":
                content_at += 1
            if line[content_at:].strip():
                add("quote", offset, content_at, line)
            else:
                close()  # a bare ">" separates paragraphs inside a quote
        elif not line.strip():
            close()
        elif _HEADING_RE.match(line):
            close()
            add("heading", offset, 0, line)
            close()
        else:
            add("text", offset, 0, line)
        offset += len(raw_line)
    close()
    return _mark_introducers(raw)


def block_at(blocks: list[Block], offset: int) -> Block | None:
    """The block whose span holds ``offset``, or None (between blocks)."""
    for block in blocks:
        if block.start <= offset < block.end:
            return block
    return None


def introducer_name(line: str) -> str | None:
    """The name in a line that introduces a quote: "According to the ISW:" → "the ISW"."""
    line = line.strip().lstrip(">").strip()
    if not line.endswith(":") or len(line.split()) > MAX_INTRODUCER_WORDS:
        return None
    name = _INTRO_TAIL_RE.sub("", _INTRO_LEAD_RE.sub("", line[:-1].strip())).strip(" ,")
    if not name:
        return None
    if len(name.split()) > 6:
        # A whole sentence ("Here is the key passage from the Institute for the Study
        # of War:"): the last run of capitalised words names the source.
        runs = [m.group(0) for m in _PROPER_RUN_RE.finditer(name) if m.start() > 0]
        if runs:
            return runs[-1].rstrip(".")
    return name


def name_variants(speaker: str) -> set[str]:
    """The lower-case strings that count as naming ``speaker`` (see module docstring)."""
    return set(_name_variants(speaker))


def speaker_key(speaker: str) -> str:
    """One key per speaker: the surname of a person, else the name without "the"."""
    tokens = name_tokens(speaker)
    run = _name_run(tokens)
    if run and not _is_organisation(tokens, run):
        return run[-1].lower()
    capitalised = [t for t in run if t[:1].isupper()]
    if len(capitalised) >= 3:
        return "".join(t[0] for t in capitalised).lower()  # the Institute for... == ISW
    cleaned = _normalise(speaker)
    return re.sub(r"^(?:the|a|an)\s+", "", cleaned)


def is_person(speaker: str) -> bool:
    """Whether ``speaker`` reads as a named person ("Podolyak"), not a group or body."""
    tokens = name_tokens(speaker)
    run = _name_run(tokens)
    return bool(run) and not _is_organisation(tokens, run) and not run[0].isupper()


def is_named_in(speaker: str, text: str) -> bool:
    """Whether ``text`` names ``speaker`` by any of its variants, as whole words."""
    if _normalise(speaker) in (AUTHOR, "author", ""):
        return False
    haystack = _normalise(text)
    return any(_contains_words(haystack, variant) for variant in _name_variants(speaker))


@lru_cache(maxsize=1024)
def _name_variants(speaker: str) -> frozenset[str]:
    full = _normalise(speaker)
    if not full:
        return frozenset()
    variants = {full}
    without_article = re.sub(r"^(?:the|a|an)\s+", "", full)
    variants.add(without_article)
    variants.add(without_article.replace("'s ", " "))
    tokens = name_tokens(speaker)
    run = _name_run(tokens)
    if run:
        name = " ".join(run).lower()
        variants.add(name)
        capitalised = [t for t in run if t[:1].isupper()]
        if _is_organisation(tokens, run):
            if len(capitalised) >= 3:
                variants.add("".join(t[0] for t in capitalised).lower())  # ISW
        else:
            variants.add(run[-1].lower())  # the surname
            if len(run) > 2:
                variants.add(f"{run[0]} {run[-1]}".lower())
    return frozenset(v for v in variants if v)


def name_tokens(speaker: str) -> list[str]:
    return _TOKEN_RE.findall(speaker.replace("’", "'"))


def _name_run(tokens: list[str]) -> list[str]:
    """The last run of capitalised tokens that are not roles or nationalities."""
    best: list[str] = []
    current: list[str] = []
    for token in tokens:
        lower = token.lower()
        is_name = (
            token[:1].isupper()
            and not token.endswith("'s")
            and lower not in ROLE_WORDS
            and lower not in NATIONALITY_WORDS
            and lower not in ARTICLES
            and not all(part in ROLE_WORDS for part in lower.split("-"))
        )
        joins_name = bool(current) and lower in NAME_PARTICLES  # "Institute for the..."
        if is_name or joins_name:
            current.append(token)
        else:
            if current:
                best = current
            current = []
    if current:
        best = current
    while best and best[-1].lower() in NAME_PARTICLES:
        best = best[:-1]
    return best


def _is_organisation(tokens: list[str], run: list[str]) -> bool:
    lowered = [t.lower() for t in run]
    if any(t in ORG_WORDS for t in lowered) or any(t in ("of", "for") for t in lowered):
        return True
    if tokens and tokens[0].lower() == "the":
        return True  # "The Kremlin", "the Pentagon": bodies, not people
    return len(run) == 1 and run[0].isupper() and len(run[0]) > 1  # an acronym: ISW, NATO


def _normalise(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("\u00a0", " ")
    return " ".join(text.lower().split()).strip(" .,:;")


def _contains_words(haystack: str, needle: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack) is not None


def _mark_introducers(raw: list[tuple[str, list[Line], int, int]]) -> list[Block]:
    blocks: list[Block] = []
    for kind, lines, start, end in raw:
        text = "\n".join(line.text for line in lines)
        introducer: str | None = None
        if kind == "quote" and blocks:
            previous = blocks[-1]
            if previous.quoted:
                introducer = previous.introducer
            elif not previous.heading and previous.lines:
                introducer = introducer_name(previous.lines[-1].text)
                if introducer is not None:
                    blocks[-1] = replace(previous, introduces=True)
        blocks.append(
            Block(
                text=text,
                quoted=kind == "quote",
                introducer=introducer,
                start=start,
                end=end,
                lines=tuple(lines),
                heading=kind == "heading",
            )
        )
    return blocks
