"""The LLM answerer: a question about an article, answered with quotes the verifier accepts.

The prompt (``bot/prompts/followup/``) fences the article, the thread so far and
the question between delimiters carrying a random boundary: all three are
data. The model returns ``{found, sentences: [{text, quote, speaker, source}]}``;
every sentence goes through ``verify_draft`` exactly as a brief's claims do
(quote in one paragraph of the article, speaker named where it stands). A
sentence that fails is withheld and the reason kept; if none is left, the
answer is "the article does not support it", never the model's unchecked words.
"""

from __future__ import annotations

import logging
from pathlib import Path
from string import Template
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.followup.answer import MAX_PARTS, Answer, AnswerPart, human_reason, terms
from bot.llm.prompts import DEFAULT_PROMPTS_DIR, PromptError, new_boundary, template_variables
from bot.llm.summarizer import JSONChat
from bot.llm.tokens import estimate_chat_tokens, estimate_tokens
from bot.pipeline.attribution import split_blocks
from bot.pipeline.models import Article, Draft, DraftClaim
from bot.pipeline.verify import clean_summary, verify_draft

log = logging.getLogger(__name__)

SCHEMA_NAME = "linkbrief_answer"
USER_VARIABLES = frozenset({"article", "boundary", "title", "history", "question"})
MAX_QUESTION_CHARS = 500
MAX_HISTORY_CHARS = 3000
MAX_OUTPUT_TOKENS = 600
DEFAULT_MAX_INPUT_TOKENS = 12_000  # MAX_INPUT_TOKENS' default (bot/config.py)


class _Sentence(BaseModel):
    model_config = ConfigDict(extra="ignore")
    text: str = ""
    quote: str = ""
    speaker: str = ""
    source: str = ""


class ModelAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    found: bool = False
    sentences: list[_Sentence] = Field(default_factory=list, max_length=6)


def answer_schema() -> dict[str, Any]:
    sentence = {
        "type": "object",
        "additionalProperties": False,
        "required": ["text", "quote", "speaker", "source"],
        "properties": {k: {"type": "string"} for k in ("text", "quote", "speaker", "source")},
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["found", "sentences"],
        "properties": {
            "found": {"type": "boolean"},
            "sentences": {"type": "array", "items": sentence},
        },
    }


def parse_model_answer(data: dict[str, Any]) -> ModelAnswer:
    try:
        return ModelAnswer.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"answer does not match the schema: {exc.errors()[0]['msg']}") from None


class FollowupPrompts(BaseModel):
    """``bot/prompts/followup/system.txt`` (no variables) and ``user.txt`` (known ones only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    system: str
    user: str

    def render_user(self, **variables: str) -> str:
        return Template(self.user).substitute(variables)


def load_followup_prompts(directory: Path | None = None) -> FollowupPrompts:
    folder = directory or DEFAULT_PROMPTS_DIR / "followup"
    texts = {}
    for name in ("system", "user"):
        path = folder / f"{name}.txt"
        try:
            texts[name] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise PromptError(
                f"Prompt file followup/{name}.txt is missing or unreadable."
            ) from None
    if template_variables(texts["system"], where="followup/system.txt"):
        raise PromptError("followup/system.txt may not use variables.")
    names = template_variables(texts["user"], where="followup/user.txt")
    unknown = names - USER_VARIABLES
    if unknown:
        raise PromptError(f"followup/user.txt uses unknown variable ${sorted(unknown)[0]}")
    missing = USER_VARIABLES - names
    if missing:
        raise PromptError(f"followup/user.txt must use ${sorted(missing)[0]}")
    return FollowupPrompts(**texts)


class ModelAnswerer:
    """Asks the model, then keeps only what the article backs."""

    mode = "llm"

    def __init__(
        self,
        client: JSONChat,
        prompts: FollowupPrompts,
        *,
        max_input_tokens: int = DEFAULT_MAX_INPUT_TOKENS,
    ) -> None:
        self.client = client
        self.prompts = prompts
        self.schema = answer_schema()
        self.max_input_tokens = max_input_tokens

    async def answer(self, article: Article, question: str, history: str) -> Answer:
        """Raises ``LLMError`` when the model is unavailable (the caller falls back)."""
        question = " ".join(question.split())[:MAX_QUESTION_CHARS]
        history = (history or "(no earlier questions)")[-MAX_HISTORY_CHARS:]
        title = " ".join(article.title.split())[:200] or "(none)"
        boundary = new_boundary()
        while any(boundary in part for part in (article.text, history, question)):
            boundary = new_boundary()
        variables = {"boundary": boundary, "title": title, "history": history,
                     "question": question}  # fmt: skip
        overhead = estimate_chat_tokens(
            [{"role": "system", "content": self.prompts.system},
             {"role": "user", "content": self.prompts.render_user(article="", **variables)}],
            self.schema,
        )  # fmt: skip
        text = excerpt_for(article.text, question, self.max_input_tokens - overhead)
        user = self.prompts.render_user(article=text, **variables)
        result = await self.client.complete_json(
            self.prompts.system.replace("$$", "$"),
            user,
            self.schema,
            SCHEMA_NAME,
            validate=parse_model_answer,
            max_tokens=MAX_OUTPUT_TOKENS,
        )
        drafted = (
            result.value
            if isinstance(result.value, ModelAnswer)
            else parse_model_answer(result.data)
        )
        answer = checked_answer(article, question, drafted)
        answer.tokens = result.prompt_tokens + result.completion_tokens
        return answer


def excerpt_for(text: str, question: str, budget_tokens: int) -> str:
    """``text`` if it fits ``budget_tokens``, else its paragraphs most relevant to the
    question (BM25), in article order, within the budget. A quoted paragraph brings the
    line that introduces its block, so who is speaking stays visible. Quotes are still
    verified against the whole article."""
    if estimate_tokens(text) <= budget_tokens:
        return text
    from rank_bm25 import BM25Okapi  # deferred: numpy is slow to import

    blocks = [b for b in split_blocks(text) if b.text.strip()]
    if not blocks:
        return ""
    ranker = BM25Okapi([terms(b.text) or ["\x00"] for b in blocks])
    scores = ranker.get_scores(terms(question) or ["\x00"])
    order = sorted(range(len(blocks)), key=lambda i: (-scores[i], i))
    chosen: set[int] = set()
    used = 0
    for i in order:
        wanted = [i]
        if blocks[i].quoted:  # the introducer is the non-quoted block just before the run
            j = i - 1
            while j >= 0 and blocks[j].quoted:
                j -= 1
            if j >= 0 and blocks[j].introduces:
                wanted.insert(0, j)
        cost = sum(estimate_tokens(text[blocks[k].start : blocks[k].end]) + 1
                   for k in wanted if k not in chosen)  # fmt: skip
        if used + cost > budget_tokens:
            continue
        chosen.update(wanted)
        used += cost
    return "\n\n".join(text[blocks[k].start : blocks[k].end] for k in sorted(chosen))


def checked_answer(article: Article, question: str, drafted: ModelAnswer) -> Answer:
    """The model's answer with every sentence verified; refused ones leave only a reason."""
    answer = Answer(question=question, status="not_in_article", mode="llm",
                    title=article.title, url=article.url)  # fmt: skip
    sentences = [s for s in drafted.sentences if s.text.strip() or s.quote.strip()]
    if not drafted.found or not sentences:
        return answer
    draft = Draft(claims=[
        DraftClaim(claim=s.text or s.quote, speaker=s.speaker, source=s.source, quote=s.quote)
        for s in sentences[:MAX_PARTS]
    ])  # fmt: skip
    for claim in verify_draft(article, draft):
        if claim.verified:
            text = clean_summary(claim.claim, article)
            answer.parts.append(AnswerPart(text, claim.quote, claim.speaker, claim.source))
        else:
            answer.withheld.append(human_reason(claim.reason))
            log.info("follow-up answer sentence withheld: %s", claim.reason)
    answer.status = "answered" if answer.parts else "unsupported"
    return answer
