"""Answers obey the brief's output rules on every platform; the follow-up prompts load and
are validated; the controls' ids round-trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.followup.answer import Answer, AnswerPart
from bot.followup.model import ModelAnswer, checked_answer, load_followup_prompts
from bot.followup.render import (
    answer_discord,
    answer_markdown,
    answer_slack,
    discord_custom_id,
    parse_action_id,
    parse_discord_custom_id,
    slack_controls,
    with_slack_controls,
)
from bot.llm.prompts import PromptError
from bot.pipeline.models import Article
from bot.render.slack import MAX_BLOCKS
from tests.render_checks import assert_safe_discord, assert_safe_markdown, assert_safe_slack

URL = "https://example.org/post"
TEXT = (Path(__file__).parent / "fixtures" / "example_article.txt").read_text()
ARTICLE = Article(url=URL, canonical_url=URL, text=TEXT, title="Is Russia pulling back?")
ZELENSKY = "Ukrainian land is important, yes, but ultimately, it's just a territory"


def test_a_hostile_answer_text_cannot_ping_or_link() -> None:
    drafted = ModelAnswer.model_validate({"found": True, "sentences": [{
        "text": "<!channel> @everyone Zelensky said so, see https://evil.example/x and "
                "[this](https://evil.example/y) <@U123>",
        "quote": ZELENSKY, "speaker": "Zelensky", "source": "ISW [8]"}]})  # fmt: skip
    answer = checked_answer(ARTICLE, "q", drafted)
    assert answer.status == "answered"
    assert "evil.example" not in answer.parts[0].text  # links the article lacks are gone
    assert_safe_slack(answer_slack(answer), URL)
    assert_safe_discord(answer_discord(answer), URL)
    assert_safe_markdown(answer_markdown(answer), URL)


def test_long_answers_fit_every_platform_with_whole_lines() -> None:
    part = AnswerPart("word " * 900, "quote & <more> " * 200, "Speaker " * 80, "ISW " * 80)
    answer = Answer(question="q", status="answered", mode="llm", parts=[part] * 3,
                    withheld=["its quote is not in the article"] * 5,
                    notes=["x" * 3000])  # fmt: skip
    slack = answer_slack(answer)
    assert_safe_slack(slack, URL)
    assert_safe_discord(answer_discord(answer), URL)


def test_the_followup_prompts_load_and_bad_ones_are_refused(tmp_path: Path) -> None:
    prompts = load_followup_prompts()
    assert "never instructions" in prompts.system
    for name in ("article", "boundary", "question", "history"):
        assert f"${name}" in prompts.user
    (tmp_path / "system.txt").write_text("Answer.")
    (tmp_path / "user.txt").write_text("$article $boundary $question $history $title $oops")
    with pytest.raises(PromptError, match="oops"):
        load_followup_prompts(tmp_path)
    (tmp_path / "user.txt").write_text("$article $boundary $title $history")
    with pytest.raises(PromptError, match="question"):
        load_followup_prompts(tmp_path)


def test_control_ids_round_trip_and_fit_the_block_limit() -> None:
    assert parse_discord_custom_id(discord_custom_id("regenerate", 7)) == ("regenerate", 7)
    assert parse_discord_custom_id("linkbrief:explode:1") is None
    assert parse_discord_custom_id("other:regenerate:1") is None
    block = slack_controls(3)
    assert {parse_action_id(e["action_id"]) for e in block["elements"]} == {
        "regenerate", "up", "down", "delete"}  # fmt: skip
    assert all(e["value"] == "3" for e in block["elements"])
    full = with_slack_controls({"text": "t", "blocks": [{"type": "divider"}] * MAX_BLOCKS}, 0)
    assert len(full["blocks"]) == MAX_BLOCKS and full["blocks"][-1] == slack_controls(0)


def test_a_long_article_is_cut_to_the_paragraphs_the_question_is_about() -> None:
    from bot.followup.model import excerpt_for
    from bot.llm.tokens import estimate_tokens

    filler = "\n\n".join(
        f"Paragraph {i} is about weather, harvests and trains." for i in range(400)
    )
    quoted = "The report said:\n\n> Analysts expect rain.\n> Zelensky said land matters."
    text = f"{filler}\n\n{TEXT}\n\n{quoted}\n\n{filler}"
    assert excerpt_for(text, "anything", 10**6) == text  # fits: sent whole
    cut = excerpt_for(text, "What did Zelensky say about territory?", 600)
    assert estimate_tokens(cut) <= 600
    assert ZELENSKY in cut and "Paragraph 7 " not in cut
    assert "The report said:" in cut  # a quoted block keeps the line introducing it
    assert all(part in text for part in cut.split("\n\n"))  # verbatim paragraphs
