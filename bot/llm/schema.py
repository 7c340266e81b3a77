"""The answer the model must return, its strict JSON schema, and how it is validated.

``{title, summary, claims: [{claim, speaker, source, quote, kind}]}`` as in
docs/architecture.md (Contracts). The schema sent as structured output is generated from the
pydantic model and made strict-mode compatible (every property required, no
additional properties, no defaults), so the two can't drift apart.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from bot.pipeline.models import Draft, DraftClaim

SCHEMA_NAME = "article_brief"
KINDS = ("fact", "claim", "assessment", "opinion")


class AnswerClaim(BaseModel):
    model_config = ConfigDict(extra="forbid")

    claim: str
    speaker: str
    source: str
    quote: str
    kind: Literal["fact", "claim", "assessment", "opinion"]

    @field_validator("kind", mode="before")
    @classmethod
    def _kind_case(cls, value: object) -> object:
        # "Opinion" or " fact" is the same answer; don't spend a repair round on case.
        return value.strip().lower() if isinstance(value, str) else value


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    summary: str
    claims: list[AnswerClaim]

    def to_draft(self) -> Draft:
        return Draft(
            title=self.title.strip(),
            summary=self.summary.strip(),
            claims=[DraftClaim(**c.model_dump()) for c in self.claims],
        )


def answer_json_schema() -> dict[str, Any]:
    """The strict-mode JSON schema of ``Answer`` (inlined, all required, closed objects)."""
    raw = Answer.model_json_schema()
    return _strict(raw, raw.get("$defs", {}))


def _strict(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_strict(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _strict(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("title", "default", "$defs", "description"):
            continue
        if key == "properties":
            out[key] = {name: _strict(prop, defs) for name, prop in value.items()}
        else:
            out[key] = _strict(value, defs)
    if out.get("type") == "object":
        out["required"] = list(out.get("properties", {}))
        out["additionalProperties"] = False
    return out


def parse_answer(data: object) -> Answer:
    """Validate a decoded JSON value; raises ``ValueError`` with a short, model-readable reason."""
    try:
        return Answer.model_validate(data)
    except ValidationError as exc:
        raise ValueError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError, limit: int = 6) -> str:
    """One line per problem, naming the JSON path, for the repair message."""
    lines = []
    for err in exc.errors()[:limit]:
        path = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
        lines.append(f"{path}: {err.get('msg', 'invalid')}")
    more = len(exc.errors()) - limit
    if more > 0:
        lines.append(f"... and {more} more")
    return "; ".join(lines)


def schema_text() -> str:
    """The schema as compact JSON (what counts against the prompt budget)."""
    return json.dumps(answer_json_schema(), separators=(",", ":"))


_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.DOTALL)


def extract_json_object(text: str) -> dict[str, Any]:
    """The JSON object in a model's answer: the whole text, a ```json fence, or the
    first balanced ``{...}`` block. Raises ``ValueError`` saying what was wrong."""
    stripped = text.strip()
    if not stripped:
        raise ValueError("the answer was empty")
    candidates = [stripped]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    block = _first_balanced_object(text)
    if block is not None:
        candidates.append(block)
    last_error = "no JSON object found in the answer"
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError as exc:
            last_error = f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            continue
        if isinstance(value, dict):
            return value
        last_error = f"expected a JSON object, got {type(value).__name__}"
    raise ValueError(last_error)


def _first_balanced_object(text: str) -> str | None:
    """Scan for the first ``{`` and its matching ``}``, skipping braces inside strings."""
    start = text.find("{")
    while start != -1:
        depth = 0
        in_string = False
        escaped = False
        for i in range(start, len(text)):
            ch = text[i]
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return text[start : i + 1]
        start = text.find("{", start + 1)
        if start != -1 and depth > 0:
            # Unbalanced to the end of the text: no later "{" can close either.
            return None
    return None
