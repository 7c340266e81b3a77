"""Token estimates made locally, with no tokenizer download.

A calibrated heuristic, not a tokenizer. It is tuned to err on the high side
for the GPT-4-era BPE vocabularies (cl100k / o200k), where English prose runs
about 4 characters or 0.75 words per token. We take the larger of a
character-based and a word-based estimate, charge punctuation separately
(quotes, brackets, footnote markers and URLs split into many short tokens),
and charge non-ASCII text by script: CJK is about one token per character,
other scripts (Cyrillic, Greek, accented Latin, Arabic...) about one token per
two characters.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping

_WORD = re.compile(r"[A-Za-z0-9_]+")
_PUNCT = re.compile(r"[!-/:-@\[-`{-~]")  # ASCII punctuation only
_CJK_START = 0x2E80  # CJK radicals onwards: ideographs, kana, hangul
_CJK = re.compile(f"[{chr(_CJK_START)}-{chr(0x10FFFF)}]")

# Chat-format framing the servers add around each message and the reply primer.
PER_MESSAGE_TOKENS = 4
PER_REQUEST_TOKENS = 3


def estimate_tokens(text: str) -> int:
    """Estimate how many tokens ``text`` costs; meant to over- rather than under-count."""
    if not text:
        return 0
    # Counted with C-speed string operations, not a Python loop over characters:
    # this runs several times per brief on the whole article, and the loop was
    # 5% of the bot's CPU per link (py-spy, bench/own_work.py).
    if text.isascii():
        ascii_chars, cjk, other = len(text), 0, 0
    else:
        ascii_chars = len(text.encode("ascii", "ignore"))
        cjk = len(_CJK.findall(text))
        other = len(text) - ascii_chars - cjk
    by_chars = ascii_chars / 3.6
    words = len(_WORD.findall(text))
    punct = len(_PUNCT.findall(text))
    by_words = words * 1.3 + punct * 0.6
    ascii_tokens = max(by_chars, by_words)
    return math.ceil(ascii_tokens + cjk * 1.25 + other * 0.55)


def estimate_schema_tokens(schema: Mapping[str, object] | None) -> int:
    """What a JSON schema sent as structured output adds to the prompt."""
    if not schema:
        return 0
    return estimate_tokens(json.dumps(schema, separators=(",", ":")))


def estimate_chat_tokens(
    messages: Iterable[Mapping[str, object]], schema: Mapping[str, object] | None = None
) -> int:
    """Prompt tokens of a chat request: every message, its framing, and the schema if any."""
    total = PER_REQUEST_TOKENS
    for message in messages:
        content = message.get("content", "")
        total += PER_MESSAGE_TOKENS + estimate_tokens(content if isinstance(content, str) else "")
    return total + estimate_schema_tokens(schema)
