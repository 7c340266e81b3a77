"""Counting words in any script: by spaces where words are spaced, by characters where
they are not (Chinese, Japanese, Thai, Lao, Khmer, Burmese).

Used by the quality gate and by the article's size figures, so "almost no text" and
"reduced by N%" mean the same in every language.
"""

from __future__ import annotations

import re

# Scripts written without spaces: this many characters count as one word (about a
# word's length in Chinese; Japanese and Thai words run a little longer).
CHARS_PER_WORD = 2
_UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]"
)


def word_count(text: str) -> int:
    """Words of spaced scripts plus characters of unspaced ones, ``CHARS_PER_WORD`` a word."""
    unspaced = len(_UNSPACED.findall(text))
    if not unspaced:
        return len(text.split())
    spaced = sum(1 for token in text.split() if not _UNSPACED.search(token))
    return spaced + unspaced // CHARS_PER_WORD


def has_unspaced(text: str) -> bool:
    return _UNSPACED.search(text) is not None
