"""The LLM summarizer: one article in, one draft brief out, within a token budget.

``MAX_INPUT_TOKENS`` bounds every request, prompt overhead included. An article
over the budget is cut at paragraph boundaries (a quoted block is kept with
the line that introduces it, so attribution survives the cut) and the draft
says how much it covers. One over three budgets is briefed in at most
``MAX_PARTS`` parts, each within budget, merged locally: no extra model call.
If the server still reports a context-length overflow (its tokenizer counts
differently from our estimate), the whole brief is retried once at half the
budget; the raw context error never reaches a user.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.errors import ConfigError, LLMError
from bot.llm.client import ChatResult, ContextTooLong
from bot.llm.prompts import Prompts, new_boundary
from bot.llm.schema import SCHEMA_NAME, Answer, answer_json_schema, parse_answer
from bot.llm.tokens import estimate_chat_tokens, estimate_tokens
from bot.pipeline.models import Article, Draft, DraftClaim

log = logging.getLogger(__name__)

MAX_PARTS = 4
LONG_FACTOR = 3  # over this many budgets, brief in parts instead of cutting
MAX_CLAIMS = 6
SUMMARY_SENTENCES = 4
MIN_ARTICLE_TOKENS = 200
SEPARATOR_TOKENS = 1  # the blank line between two paragraphs
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
# After end punctuation, a closing quote/bracket or a footnote marker ("...Kyiv.[4] Next").
_SENTENCE_END = re.compile(r"(?<=[.!?…\]”\"’)])\s+|(?<=[。！？])")


class JSONChat(Protocol):
    """What the summarizer needs from a client: ``ChatClient`` or a test fake."""

    async def complete_json(
        self,
        system: str,
        user: str,
        schema: dict[str, Any],
        schema_name: str,
        *,
        validate: Callable[[dict[str, Any]], Any] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult: ...


@dataclass(slots=True)
class Unit:
    """A piece the cutter never splits: a paragraph, or an introducer with its quote."""

    text: str
    tokens: int
    words: int
    intro: str = ""  # for a "> " paragraph: the line that introduced its block


class LLMSummarizer:
    mode = "llm"

    def __init__(
        self,
        client: JSONChat,
        prompts: Prompts,
        *,
        max_input_tokens: int,
        max_output_tokens: int,
        summary_language: str = "",
    ) -> None:
        self.client = client
        self.prompts = prompts
        self.max_input_tokens = max_input_tokens
        self.max_output_tokens = max_output_tokens
        self.summary_language = summary_language.strip()
        self.schema = answer_json_schema()
        self.system_text = prompts.system_text
        # Everything but the user message is fixed: estimated once, not twice per brief.
        self._fixed_tokens = estimate_chat_tokens(
            [{"role": "system", "content": self.system_text}, {"role": "user", "content": ""}],
            self.schema,
        )
        overhead = self._overhead(Article(url="", canonical_url="", text=""))
        if max_input_tokens < overhead + MIN_ARTICLE_TOKENS:
            raise ConfigError(
                f"Invalid setting MAX_INPUT_TOKENS: {max_input_tokens} leaves no room for the "
                f"article (the prompt alone takes about {overhead}); use at least "
                f"{overhead + 4 * MIN_ARTICLE_TOKENS}."
            )

    # --- budget ---------------------------------------------------------------
    def fixed_overhead_tokens(self) -> int:
        """System prompt + user template (empty article) + schema + chat framing."""
        return self._overhead(Article(url="", canonical_url="", text=""))

    def _variables(
        self, article: Article, text: str, boundary: str, part_note: str
    ) -> dict[str, str]:
        return {
            "article": text,
            "boundary": boundary,
            # Page metadata is untrusted too: bounded so it can't eat the budget.
            "title": _one_line(article.title, 200) or "(none)",
            "site": _one_line(article.site, 100) or "(unknown)",
            "url": _one_line(article.canonical_url or article.url, 300),
            "language_instruction": self._language_instruction(),
            "part_note": part_note,
        }

    def _language_instruction(self) -> str:
        if self.summary_language:
            return (
                f"Write the title, summary and claims in {self.summary_language}; "
                "keep quotes verbatim in the article's language."
            )
        return "Write the title, summary and claims in the article's language."

    def _overhead(self, article: Article, part_note: str = "") -> int:
        user = self.prompts.render_user(**self._variables(article, "", new_boundary(), part_note))
        return self._prompt_tokens(user)

    def _prompt_tokens(self, user: str) -> int:
        """``estimate_chat_tokens`` of the system + ``user`` messages and the schema."""
        return self._fixed_tokens + estimate_tokens(user)

    # --- summarize ------------------------------------------------------------
    async def summarize(self, article: Article, language: str = "") -> Draft:
        if language and language != self.summary_language:
            # A channel's own language: the same client and prompts, another instruction.
            other = copy.copy(self)
            other.summary_language = language
            return await other.summarize(article)
        try:
            return await self._summarize(article, self.max_input_tokens)
        except ContextTooLong:
            log.info("LLM context overflow at %d tokens; retrying at half", self.max_input_tokens)
            return await self._summarize(article, self.max_input_tokens // 2)

    async def _summarize(self, article: Article, max_input: int) -> Draft:
        budget = max_input - self._overhead(article, _part_note(MAX_PARTS, MAX_PARTS))
        if budget < MIN_ARTICLE_TOKENS:
            # Only reachable on the half-budget retry: the model's window is too small.
            raise ContextTooLong()
        units = split_units(article.text, budget)
        total_tokens = _cost(units)
        total_words = sum(u.words for u in units) or 1
        if total_tokens <= budget:
            return await self._ask(article, article.text, "", max_input)
        if total_tokens <= LONG_FACTOR * budget:
            kept = take_units(units, budget)
            draft = await self._ask(article, join_units(kept), "", max_input)
            pct = _percent(sum(u.words for u in kept), total_words)
            draft.warnings.append(f"Article was long: the brief covers the first {pct}% of it.")
            return draft
        return await self._summarize_in_parts(article, units, budget, max_input, total_words)

    async def _summarize_in_parts(
        self, article: Article, units: list[Unit], budget: int, max_input: int, total_words: int
    ) -> Draft:
        parts = pack_parts(units, budget, MAX_PARTS)
        texts = [join_units(part) for part in parts]
        results = await asyncio.gather(
            *(
                self._ask(article, text, _part_note(i + 1, len(texts)), max_input)
                for i, text in enumerate(texts)
            ),
            return_exceptions=True,
        )
        drafts: list[Draft] = []
        failed: list[int] = []
        for index, result in enumerate(results, start=1):
            if isinstance(result, ContextTooLong):
                raise result
            if isinstance(result, LLMError):
                failed.append(index)
            elif isinstance(result, BaseException):
                raise result
            else:
                drafts.append(result)
        if not drafts:
            first = results[0]
            assert isinstance(first, BaseException)
            raise first
        merged = merge_drafts(drafts)
        covered = sum(u.words for part in parts for u in part)
        pct = _percent(covered, total_words)
        if pct >= 100:
            merged.warnings.append(
                f"Article was very long: it was briefed in {len(parts)} parts and merged."
            )
        else:
            merged.warnings.append(
                f"Article was long: the brief covers the first {pct}% of it, in {len(parts)} parts."
            )
        if failed:
            which = ", ".join(str(i) for i in failed)
            merged.warnings.append(f"Part {which} of {len(parts)} could not be briefed.")
        return merged

    async def _ask(self, article: Article, text: str, part_note: str, max_input: int) -> Draft:
        boundary = new_boundary()
        while boundary in text:  # never happens in practice; a forged end would be fatal
            boundary = new_boundary()
        user = self.prompts.render_user(**self._variables(article, text, boundary, part_note))
        sent = self._prompt_tokens(user)
        if sent > max_input:
            log.warning("prompt estimate %d exceeds budget %d", sent, max_input)
        result = await self.client.complete_json(
            self.system_text,
            user,
            self.schema,
            SCHEMA_NAME,
            validate=parse_answer,
            max_tokens=self.max_output_tokens,
        )
        answer = result.value if isinstance(result.value, Answer) else parse_answer(result.data)
        draft = answer.to_draft()
        draft.prompt_tokens = result.prompt_tokens
        draft.completion_tokens = result.completion_tokens
        return draft


# --- cutting at paragraph boundaries ---------------------------------------------


def _is_quote(paragraph: str) -> bool:
    return paragraph.lstrip().startswith(">")


def split_units(text: str, budget: int) -> list[Unit]:
    """Paragraphs as units; an introducer travels with the first paragraph of its quote.

    A unit bigger than ``budget`` is split further (lines, then sentences, then words)
    so that every unit fits on its own.
    """
    paragraphs = [p.strip("\n") for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
    units: list[Unit] = []
    intro = ""
    i = 0
    while i < len(paragraphs):
        paragraph = paragraphs[i]
        if _is_quote(paragraph):
            units.append(_unit(paragraph, intro))
        elif i + 1 < len(paragraphs) and _is_quote(paragraphs[i + 1]):
            intro = paragraph.splitlines()[-1]
            units.append(_unit(paragraph + "\n\n" + paragraphs[i + 1], intro=""))
            i += 1
        else:
            intro = ""
            units.append(_unit(paragraph))
        i += 1
    fitted: list[Unit] = []
    for unit in units:
        if unit.tokens <= budget:
            fitted.append(unit)
        else:
            fitted += [_unit(piece, unit.intro) for piece in _split_oversized(unit.text, budget)]
    return fitted


def _unit(text: str, intro: str = "") -> Unit:
    return Unit(text=text, tokens=estimate_tokens(text), words=len(text.split()), intro=intro)


_SPLITTERS = ((re.compile(r"\n"), "\n"), (_SENTENCE_END, " "), (re.compile(r"\s+"), " "))


def _split_oversized(text: str, budget: int, level: int = 0) -> list[str]:
    """Split by lines, then sentences, then words; by characters only as a last resort."""
    tokens = estimate_tokens(text)
    if tokens <= budget:
        return [text]
    if level >= len(_SPLITTERS):
        step = max(1, int(len(text) * budget / tokens * 0.9))
        return [text[k : k + step] for k in range(0, len(text), step)]
    pattern, glue = _SPLITTERS[level]
    pieces = [p for p in pattern.split(text) if p.strip()]
    if len(pieces) <= 1:
        return _split_oversized(text, budget, level + 1)
    out: list[str] = []
    for piece in pieces:
        out += _split_oversized(piece, budget, level + 1)
    return _pack_strings(out, budget, glue)


def _pack_strings(pieces: list[str], budget: int, glue: str) -> list[str]:
    out: list[str] = []
    current: list[str] = []
    used = 0
    for piece in pieces:
        cost = estimate_tokens(piece) + (SEPARATOR_TOKENS if current else 0)
        if current and used + cost > budget:
            out.append(glue.join(current))
            current, used = [], 0
            cost = estimate_tokens(piece)
        current.append(piece)
        used += cost
    if current:
        out.append(glue.join(current))
    return out


def _cost(units: list[Unit]) -> int:
    return sum(u.tokens for u in units) + SEPARATOR_TOKENS * max(0, len(units) - 1)


def take_units(units: list[Unit], budget: int) -> list[Unit]:
    """The longest prefix of whole units within ``budget``, not ending on a bare heading."""
    kept: list[Unit] = []
    used = 0
    for unit in units:
        cost = unit.tokens + (SEPARATOR_TOKENS if kept else 0)
        if used + cost > budget:
            break
        kept.append(unit)
        used += cost
    while len(kept) > 1 and kept[-1].text.lstrip().startswith("#"):
        kept.pop()
    return kept


def pack_parts(units: list[Unit], budget: int, max_parts: int) -> list[list[Unit]]:
    """Consecutive parts of whole units, each within ``budget``; at most ``max_parts``.

    A part that opens inside a quoted block repeats the block's introducer, so
    the model still sees who is being quoted.
    """
    parts: list[list[Unit]] = []
    index = 0
    while index < len(units) and len(parts) < max_parts:
        part: list[Unit] = []
        first = units[index]
        if first.intro:
            intro = _unit(first.intro)
            intro.words = 0  # repeated context, not new article words
            if intro.tokens + first.tokens + SEPARATOR_TOKENS <= budget:
                part.append(intro)
        taken = take_units(units[index:], budget - _cost(part) - (SEPARATOR_TOKENS if part else 0))
        if not taken:
            break
        part += taken
        index += len(taken)
        parts.append(part)
    return parts


def join_units(units: list[Unit]) -> str:
    return "\n\n".join(u.text for u in units)


# --- merging part drafts ------------------------------------------------------------


def merge_drafts(drafts: list[Draft], max_claims: int = MAX_CLAIMS) -> Draft:
    """One draft from part drafts: a summary led by the first part, claims from every part."""
    first_share = max(1, SUMMARY_SENTENCES - (len(drafts) - 1))
    sentences: list[str] = []
    for index, draft in enumerate(drafts):
        own = [s for s in _SENTENCE_END.split(draft.summary.strip()) if s]
        sentences += own[: first_share if index == 0 else 1]
    claims: list[tuple[int, int, DraftClaim]] = []
    seen: set[str] = set()
    # Round-robin so every part is represented, then back into article order.
    longest = max(len(d.claims) for d in drafts)
    for position in range(longest):
        for part, draft in enumerate(drafts):
            if position >= len(draft.claims) or len(claims) >= max_claims:
                continue
            claim = draft.claims[position]
            key = _norm(claim.quote) or _norm(claim.claim)
            if key in seen:
                continue
            seen.add(key)
            claims.append((part, position, claim))
    claims.sort(key=lambda item: (item[0], item[1]))
    return Draft(
        title=next((d.title for d in drafts if d.title), ""),
        summary=" ".join(sentences),
        claims=[c for _, _, c in claims],
        prompt_tokens=sum(d.prompt_tokens for d in drafts),
        completion_tokens=sum(d.completion_tokens for d in drafts),
        warnings=[w for d in drafts for w in d.warnings],
    )


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat[:limit]


def _part_note(index: int, count: int) -> str:
    return f" This is part {index} of {count} of a long article: brief this part only."


def _percent(part: int, whole: int) -> int:
    return max(1, min(100, (100 * part) // max(1, whole)))
