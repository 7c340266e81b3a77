"""LLMSummarizer: budgets, cutting at paragraphs, parts and merging, context-length retries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.errors import LLMError
from bot.llm import build_llm_summarizer
from bot.llm.client import ChatClient, ChatResult, ContextTooLong
from bot.llm.prompts import load_prompts
from bot.llm.schema import answer_json_schema, parse_answer
from bot.llm.summarizer import (
    LLMSummarizer,
    merge_drafts,
    pack_parts,
    split_units,
    take_units,
)
from bot.llm.tokens import estimate_tokens
from bot.pipeline.models import Article, Draft, DraftClaim
from tests.servers.chat_server import ChatServer, article_from_request, brief_from_article
from tests.servers.chat_server import ContextTooLong as ContextTooLongReply

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "example_article.txt"
BUDGET = 2000  # MAX_INPUT_TOKENS for these tests: ~1200 tokens of article room


def paragraph(n: int) -> str:
    return " ".join(
        f"Paragraph {n} sentence {k} reports that the council reviewed item {n * 10 + k}."
        for k in range(1, 5)
    )


def make_article(paragraphs: int) -> Article:
    text = "\n\n".join(paragraph(n) for n in range(1, paragraphs + 1))
    return Article(
        url="https://example.org/long",
        canonical_url="https://example.org/long",
        text=text,
        title="Council minutes",
        site="example.org",
    )


@pytest.fixture
async def server() -> AsyncIterator[ChatServer]:
    async with ChatServer(default=brief_from_article) as srv:
        yield srv


def summarizer_for(srv: ChatServer, max_input_tokens: int = BUDGET, **kw: Any) -> LLMSummarizer:
    client = ChatClient(model="m", base_url=srv.base_url, timeout_s=5.0, max_retries=0)
    return LLMSummarizer(
        client, load_prompts(), max_input_tokens=max_input_tokens, max_output_tokens=600, **kw
    )


async def test_short_article_goes_whole_without_warning(server: ChatServer) -> None:
    article = make_article(3)
    draft = await summarizer_for(server).summarize(article)
    assert article_from_request(server.requests[0].body) == article.text
    assert draft.warnings == []
    assert draft.claims and draft.claims[0].quote in article.text
    assert draft.prompt_tokens == server.requests[0].prompt_tokens


async def test_over_budget_article_is_cut_at_a_paragraph_with_a_warning(
    server: ChatServer,
) -> None:
    article = make_article(40)  # ~2.5 budgets of article
    draft = await summarizer_for(server).summarize(article)
    assert len(server.requests) == 1
    request = server.requests[0]
    assert request.prompt_tokens <= BUDGET
    sent = article_from_request(request.body)
    assert len(sent) < len(article.text)
    assert article.text.startswith(sent)
    assert article.text[len(sent) :].startswith("\n\n")  # cut between paragraphs
    kept = sent.count("Paragraph ") // 4
    pct = 100 * len(sent.split()) // len(article.text.split())
    assert kept >= 10
    assert draft.warnings == [f"Article was long: the brief covers the first {pct}% of it."]


async def test_very_long_article_is_briefed_in_parts_and_merged(server: ChatServer) -> None:
    article = make_article(90)  # ~5.5 budgets: more than MAX_PARTS budgets
    draft = await summarizer_for(server).summarize(article)
    assert len(server.requests) == 4
    parts = [article_from_request(r.body) for r in server.requests]
    for request, part in zip(server.requests, parts, strict=True):
        assert request.prompt_tokens <= BUDGET
        assert part in article.text
        assert "This is part" in request.messages[1]["content"]
    # Consecutive, non-overlapping parts from the start of the article (the parts are
    # asked at once, so they may reach the server in any order).
    parts.sort(key=article.text.index)
    assert "\n\n".join(parts) == article.text[: len("\n\n".join(parts))]
    # Claims come from several parts, in article order, at most six, no duplicates.
    assert 4 <= len(draft.claims) <= 6
    positions = [article.text.index(c.quote) for c in draft.claims]
    assert positions == sorted(positions)
    assert sum(1 for part in parts if any(c.quote in part for c in draft.claims)) == 4
    assert draft.prompt_tokens == sum(r.prompt_tokens for r in server.requests)
    assert len(draft.warnings) == 1
    assert "in 4 parts" in draft.warnings[0] and "first" in draft.warnings[0]


async def test_context_length_error_is_retried_at_half_budget(server: ChatServer) -> None:
    server.script([ContextTooLongReply()])
    article = make_article(20)  # fits 4000 tokens whole; at 2000 it must be cut
    draft = await summarizer_for(server, max_input_tokens=4000).summarize(article)
    assert len(server.requests) == 2
    assert article_from_request(server.requests[0].body) == article.text
    assert server.requests[1].prompt_tokens <= 2000
    assert article.text.startswith(article_from_request(server.requests[1].body))
    assert draft.claims
    assert any("Article was long" in w for w in draft.warnings)


async def test_context_length_twice_gives_a_plain_message(server: ChatServer) -> None:
    server.script([ContextTooLongReply(), ContextTooLongReply()])
    with pytest.raises(LLMError) as info:
        await summarizer_for(server).summarize(make_article(5))
    assert isinstance(info.value, ContextTooLong)
    assert "maximum context length" not in str(info.value)
    assert len(server.requests) == 2


async def test_summary_language_reaches_the_prompt(server: ChatServer) -> None:
    await summarizer_for(server, summary_language="German").summarize(make_article(2))
    assert "in German" in server.requests[0].messages[1]["content"]


async def test_founding_example_fits_and_reaches_the_model_intact(server: ChatServer) -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    article = Article(url="https://x.example/p", canonical_url="https://x.example/p", text=text)
    await summarizer_for(server, max_input_tokens=12000).summarize(article)
    assert article_from_request(server.requests[0].body) == text


def test_cut_keeps_an_introducer_with_its_quoted_block() -> None:
    intro_text = "A long opening paragraph about the offensive. " * 8
    text = (
        f"{intro_text}\n\nISW:\n\n> The Kremlin is regrouping.[1]\n\n> A second quoted paragraph."
    )
    units = split_units(text, budget=1000)
    assert [u.text for u in units][1] == "ISW:\n\n> The Kremlin is regrouping.[1]"
    # A budget with room for "ISW:" but not its quote keeps neither.
    budget = units[0].tokens + 1 + estimate_tokens("ISW:") + 2
    kept = take_units(units, budget)
    assert [u.text for u in kept] == [units[0].text]


def test_a_part_opening_inside_a_quote_repeats_its_introducer() -> None:
    quotes = "\n\n".join(f"> Quoted paragraph {i} " + "word " * 60 for i in range(6))
    text = "Opening words.\n\nISW:\n\n" + quotes
    units = split_units(text, budget=400)
    parts = pack_parts(units, budget=150, max_parts=4)
    assert len(parts) == 4
    for part in parts[1:]:
        assert part[0].text == "ISW:"
        assert part[1].text.startswith("> ")
        assert sum(u.tokens for u in part) + len(part) - 1 <= 150


def test_a_paragraph_bigger_than_the_budget_is_split_at_sentences() -> None:
    big = " ".join(f"Sentence number {i} is here." for i in range(200))
    units = split_units(big, budget=100)
    assert len(units) > 1
    assert all(u.tokens <= 100 for u in units)
    assert " ".join(u.text for u in units) == big
    assert all(u.text.endswith(".") for u in units)


def test_merge_dedupes_claims_and_keeps_every_part() -> None:
    def claim(quote: str) -> DraftClaim:
        return DraftClaim(claim=quote, speaker="the author", source="blog", quote=quote)

    drafts = [
        Draft(
            title="T", summary="One. Two. Three.", claims=[claim("a1"), claim("a2"), claim("a3")]
        ),
        Draft(summary="Four. Five.", claims=[claim("A1 "), claim("b2"), claim("b3")]),
        Draft(summary="Six.", claims=[claim("c1"), claim("c2")], prompt_tokens=5),
    ]
    merged = merge_drafts(drafts)
    assert merged.title == "T"
    assert merged.summary == "One. Two. Four. Six."
    assert [c.quote for c in merged.claims] == ["a1", "a2", "a3", "b2", "c1", "c2"]
    assert merged.prompt_tokens == 5


class RecordingFake:
    """A protocol-compatible client that answers from the user prompt (no HTTP)."""

    def __init__(self) -> None:
        self.users: list[str] = []

    async def complete_json(
        self, system: str, user: str, schema: dict[str, Any], schema_name: str, **kw: Any
    ) -> ChatResult:
        self.users.append(user)
        assert schema == answer_json_schema()
        reply = brief_from_article({"messages": [{"role": "user", "content": user}]})
        data = reply.obj
        return ChatResult(data, parse_answer(data), "", 10, 5, "json_schema", 1)


async def test_summarizer_accepts_any_client_with_complete_json() -> None:
    fake = RecordingFake()
    summarizer = LLMSummarizer(fake, load_prompts(), max_input_tokens=BUDGET, max_output_tokens=600)
    draft = await summarizer.summarize(make_article(3))
    assert len(fake.users) == 1
    assert (draft.prompt_tokens, draft.completion_tokens) == (10, 5)
    assert summarizer.mode == "llm"


def test_build_from_settings_wires_the_budgets() -> None:
    from bot.config import load_settings

    settings = load_settings(
        env_file=None,
        openai_base_url="http://127.0.0.1:9/v1",
        max_input_tokens=5000,
        max_output_tokens=700,
        summary_language="French",
    )
    summarizer = build_llm_summarizer(settings)
    assert summarizer.max_input_tokens == 5000
    assert summarizer.max_output_tokens == 700
    assert summarizer.summary_language == "French"
    assert isinstance(summarizer.client, ChatClient)


def test_token_estimate_is_subadditive_so_paragraph_sums_bound_the_whole() -> None:
    # The cutter budgets by summing paragraph estimates; that is only safe if the
    # estimate of a joined text never exceeds the sum of its pieces.
    text = FIXTURE.read_text(encoding="utf-8") + "\n\nПривет, мир! Это проверка. 日本語のテキスト。"
    pieces = text.split("\n\n")
    assert estimate_tokens("\n\n".join(pieces)) <= sum(estimate_tokens(p) + 1 for p in pieces)
    assert estimate_tokens("") == 0


def test_token_estimate_charges_non_latin_scripts_more_per_character() -> None:
    english = estimate_tokens("The council met on Tuesday to review the budget.")
    russian = estimate_tokens("Совет собрался во вторник, чтобы рассмотреть бюджет.")
    assert russian > english
    # English prose: at least one token per four characters (the usual BPE ratio).
    sample = FIXTURE.read_text(encoding="utf-8")
    assert estimate_tokens(sample) >= len(sample) / 4


def test_a_budget_smaller_than_the_prompt_fails_at_start() -> None:
    from bot.errors import ConfigError

    with pytest.raises(ConfigError, match="MAX_INPUT_TOKENS"):
        LLMSummarizer(RecordingFake(), load_prompts(), max_input_tokens=600, max_output_tokens=600)
