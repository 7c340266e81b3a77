"""Text normalisation for matching a model's quote against the article.

``normalize_for_match`` folds away the differences a faithful quote may still
have from the page: Unicode compatibility forms, case, curly versus straight
quotes, the dash family, ellipsis spellings, whitespace, invisible characters
and the ``> `` prefixes of quoted blocks. It works on whole strings with
``str.translate`` and a few regexes, so a long article costs well under a
millisecond.

``normalize_with_offsets`` gives the same text plus, for every output
character, the offset of the input character it came from (for pointing back
into the article); it is slower (a Python loop) and meant for single
paragraphs or quotes, not hot paths.
"""

from __future__ import annotations

import re
import unicodedata

# Invisible characters that change nothing a reader sees but break matching:
# zero-width space/joiners, word joiner, BOM, soft hyphen, Mongolian vowel
# separator, bidi marks/embeddings/isolates, and the Unicode tag block
# (used to smuggle hidden text).
_INVISIBLE = [
    *(0x00AD, 0x061C, 0x180E, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF),
    *range(0x202A, 0x202F),
    *range(0x2061, 0x2065),
    *range(0x2066, 0x206A),
    *range(0xE0000, 0xE0080),
]
# C0 controls other than tab and newline, and DEL: never part of readable text.
_CONTROLS = [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F]
_STRIP_TABLE: dict[int, None] = dict.fromkeys([*_INVISIBLE, *_CONTROLS])

_SINGLE_QUOTES = "‘’‚‛′`´"
_DOUBLE_QUOTES = "“”„‟«»″〝〞＂"
_DASHES = "‐‑‒–—―−﹘﹣－"

# Applied before NFKC: NFKC would turn "″" into two primes, and would leave the
# curly quotes and dashes as they are.
_FOLD_TABLE: dict[int, str | None] = {cp: None for cp in _INVISIBLE}
_FOLD_TABLE.update({ord(c): "'" for c in _SINGLE_QUOTES})
_FOLD_TABLE.update({ord(c): '"' for c in _DOUBLE_QUOTES})
_FOLD_TABLE.update({ord(c): "-" for c in _DASHES})
_FOLD_TABLE[ord("…")] = "..."

# The same two mappings applied with ``str.replace`` for just the characters a
# text holds: ``str.translate`` with a table walks a non-ASCII string at ~50 ns
# a character (0.2 ms for a 4 KB article, several times per brief), while
# ``set(text)`` and a few replaces run at C speed. No replacement yields a
# character that is itself mapped, so the result is the same as ``translate``.
_STRIP_MAP = {chr(cp): "" for cp in _STRIP_TABLE}
_FOLD_MAP = {chr(cp): to or "" for cp, to in _FOLD_TABLE.items()}


def _apply(text: str, mapping: dict[str, str]) -> str:
    for char in mapping.keys() & set(text):
        text = text.replace(char, mapping[char])
    return text


_QUOTE_PREFIX = re.compile(r"(?m)^[ \t]*(?:>[ \t]?)+")
# Any spelling of an ellipsis becomes "... ": no space before, one after.
_SPACED_ELLIPSIS = re.compile(r" ?\.(?: ?\.){2,} ?")
_WHITESPACE = re.compile(r"\s+")


def strip_invisible(text: str) -> str:
    """``text`` without invisible, direction-changing or control characters.

    Extraction applies it, so hidden text smuggled in zero-width or tag
    characters never reaches a model; renderers apply it again to model output.
    """
    return _apply(text, _STRIP_MAP)


def normalize_for_match(text: str) -> str:
    """Fold ``text`` into the canonical form quotes and articles are compared in."""
    text = _QUOTE_PREFIX.sub("", text)
    text = _apply(text, _FOLD_MAP)
    text = unicodedata.normalize("NFKC", text).casefold()
    # NFKC can produce new curly forms from compatibility characters (rare),
    # and case folding never does; one more pass keeps the output canonical.
    text = _apply(text, _FOLD_MAP)
    text = _WHITESPACE.sub(" ", text).strip()
    return _SPACED_ELLIPSIS.sub("... ", text).rstrip()


def _fold_cluster(cluster: str) -> str:
    folded = cluster.translate(_FOLD_TABLE)
    folded = unicodedata.normalize("NFKC", folded).casefold()
    return folded.translate(_FOLD_TABLE)


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """``normalize_for_match(text)`` plus the input offset of every output character.

    Characters are folded one base character (with its combining marks) at a
    time, which agrees with whole-string NFKC for ordinary text.
    """
    # Drop the quote prefixes first, remembering where the kept characters were.
    kept: list[tuple[str, int]] = []
    pos = 0
    for match in _QUOTE_PREFIX.finditer(text):
        kept.extend((text[i], i) for i in range(pos, match.start()))
        pos = match.end()
    kept.extend((text[i], i) for i in range(pos, len(text)))

    out: list[str] = []
    offsets: list[int] = []
    i = 0
    while i < len(kept):
        j = i + 1
        while j < len(kept) and unicodedata.combining(kept[j][0]):
            j += 1
        folded = _fold_cluster("".join(ch for ch, _ in kept[i:j]))
        origin = kept[i][1]
        for ch in folded:
            if ch.isspace():
                if out and out[-1] != " ":
                    out.append(" ")
                    offsets.append(origin)
            else:
                out.append(ch)
                offsets.append(origin)
        i = j
    if out and out[-1] == " ":
        out.pop()
        offsets.pop()

    # Spaced ellipses ". . ." collapse to "..." keeping the first dot's offset.
    joined = "".join(out)
    result: list[str] = []
    result_offsets: list[int] = []
    pos = 0
    for match in _SPACED_ELLIPSIS.finditer(joined):
        result.append(joined[pos : match.start()])
        result_offsets.extend(offsets[pos : match.start()])
        result.append("... ")
        result_offsets.extend([offsets[match.start()]] * 3 + [offsets[match.end() - 1]])
        pos = match.end()
    result.append(joined[pos:])
    result_offsets.extend(offsets[pos:])
    folded = "".join(result)
    if folded.endswith(" "):
        folded, result_offsets = folded[:-1], result_offsets[:-1]
    return folded, result_offsets
