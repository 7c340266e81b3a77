"""The LLM answerer: a question about an article, answered with quotes the verifier accepts.

The prompt (``prompts/followup/``) fences the article, the thread so far and
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

from bot.followup.answer import MAX_PARTS, Answer, AnswerPart, human_reason
from bot.llm.prompts import DEFAULT_PROMPTS_DIR, PromptError, new_boundary, template_variables
from bot.llm.summarizer import JSONChat
from bot.pipeline.models import Article, Draft, DraftClaim
from bot.pipeline.verify import clean_summary, verify_draft

log = logging.getLogger(__name__)

SCHEMA_NAME = "linkbrief_answer"
USER_VARIABLES = frozenset({"article", "boundary", "title", "history", "question"})
MAX_QUESTION_CHARS = 500
MAX_ARTICLE_CHARS = 60_000  # ~15k tokens: questions are about articles the bot briefed
MAX_OUTPUT_TOKENS = 600


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
    """``prompts/followup/system.txt`` (no variables) and ``user.txt`` (known ones only)."""

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

    def __init__(self, client: JSONChat, prompts: FollowupPrompts) -> None:
        self.client = client
        self.prompts = prompts
        self.schema = answer_schema()

    async def answer(self, article: Article, question: str, history: str) -> Answer:
        """Raises ``LLMError`` when the model is unavailable (the caller falls back)."""
        text = article.text[:MAX_ARTICLE_CHARS]
        boundary = new_boundary()
        while any(boundary in part for part in (text, history, question)):
            boundary = new_boundary()
        user = self.prompts.render_user(
            article=text,
            boundary=boundary,
            title=" ".join(article.title.split())[:200] or "(none)",
            history=history or "(no earlier questions)",
            question=" ".join(question.split())[:MAX_QUESTION_CHARS],
        )
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
