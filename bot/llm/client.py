"""The one place that talks to an OpenAI-compatible chat server (the only importer of openai).

``ChatClient.complete_json`` asks for a JSON answer and returns it decoded and
validated. Structured output is tried in order ``json_schema`` (strict) →
``json_object`` → plain text with the JSON dug out of the answer; the first
mode a server accepts is remembered so later calls skip the ones it rejected.
An answer that isn't valid gets one repair round (the validation error is sent
back, asking for corrected JSON only); a second bad answer is ``LLMBadOutput``.

Every openai exception is mapped to a ``bot.errors`` one by ``bot.llm.errors``,
with a message naming the model, the server and, when it cannot carry the API
key, the server's own words.

The SDK is used as shipped, through its public API only: ``AsyncOpenAI`` (or
``AsyncAzureOpenAI`` for classic ``api-version`` deployments) and
``chat.completions.create``, with its own HTTP client (httpx2), retries and
timeouts configured from settings, and ``LLM_EXTRA_HEADERS`` sent on every call.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import openai

from bot.errors import LLMBadOutput, LLMError
from bot.llm.errors import model_error
from bot.llm.schema import extract_json_object
from bot.llm.tokens import estimate_chat_tokens, estimate_tokens

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

OutputMode = Literal["json_schema", "json_object", "text"]
MODES: tuple[OutputMode, ...] = ("json_schema", "json_object", "text")
DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Local servers (Ollama, llama.cpp, vLLM) need some key in the header, but ignore it.
PLACEHOLDER_API_KEY = "not-needed"
# How much of a bad answer is echoed back in the repair round: enough to fix it,
# bounded so the repair request stays near the size of the first one.
REPAIR_ECHO_CHARS = 4000


class ContextTooLong(LLMError):
    """The server said the prompt exceeds the model's context window."""

    default_message = "That article is too long for the language model."


@dataclass(slots=True)
class ChatResult:
    """A decoded answer: ``data`` is the JSON object, ``value`` what ``validate`` returned."""

    data: dict[str, Any]
    value: Any
    text: str
    prompt_tokens: int
    completion_tokens: int
    mode: OutputMode
    requests: int


@dataclass(slots=True)
class _Reply:
    text: str
    prompt_tokens: int
    completion_tokens: int
    truncated: bool


class ChatClient:
    """An ``AsyncOpenAI`` with explicit timeouts, a concurrency cap and the JSON fallbacks."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 2,
        concurrency: int = 4,
        max_output_tokens: int = 1200,
        extra_headers: Mapping[str, str] | None = None,
        azure: AzureDeployment | None = None,
    ) -> None:
        self.model = model
        self.max_output_tokens = max_output_tokens
        self.timeout_s = timeout_s
        # Never the SDK's 600 s default: a stuck model must not hold a chat thread.
        timeout = openai.Timeout(timeout_s, connect=min(timeout_s, 10.0))
        headers = dict(extra_headers or {})
        self._sdk: openai.AsyncOpenAI
        if azure is not None:
            self._sdk = openai.AsyncAzureOpenAI(
                azure_endpoint=azure.endpoint,
                azure_deployment=azure.deployment or model,
                api_version=azure.api_version,
                api_key=api_key or PLACEHOLDER_API_KEY,
                timeout=timeout,
                max_retries=max_retries,
                default_headers=headers,
            )
        else:
            self._sdk = openai.AsyncOpenAI(
                base_url=base_url or DEFAULT_BASE_URL,
                api_key=api_key or PLACEHOLDER_API_KEY,
                timeout=timeout,
                max_retries=max_retries,
                default_headers=headers,
            )
        self._slots = asyncio.Semaphore(concurrency)
        self._mode: OutputMode = "json_schema"
        self._token_param = "max_tokens"

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatClient:
        azure = None
        if settings.azure_openai_endpoint:
            azure = AzureDeployment(
                endpoint=settings.azure_openai_endpoint,
                api_version=settings.azure_openai_api_version,
                deployment=settings.azure_openai_deployment,
            )
        key = settings.llm_api_key
        return cls(
            model=settings.llm_model,
            base_url=settings.openai_base_url,
            api_key=key,
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            concurrency=settings.llm_concurrency,
            max_output_tokens=settings.max_output_tokens,
            extra_headers=settings.llm_extra_headers_map,
            azure=azure,
        )

    def __repr__(self) -> str:  # no key, ever
        return f"ChatClient(model={self.model!r}, mode={self._mode!r})"

    @property
    def mode(self) -> OutputMode:
        """The structured-output mode the next request will try first."""
        return self._mode

    async def aclose(self) -> None:
        """Close the SDK's HTTP client (connections included)."""
        await self._sdk.close()

    async def complete_json(
        self,
        system: str,
        user: str,
        schema: dict[str, Any],
        schema_name: str,
        *,
        validate: Callable[[dict[str, Any]], Any] | None = None,
        max_tokens: int | None = None,
    ) -> ChatResult:
        """Ask for a JSON object; ``validate`` raises ``ValueError`` on a bad one (one repair)."""
        messages: list[dict[str, str]] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        limit = max_tokens or self.max_output_tokens
        first = await self._send(messages, schema, schema_name, limit)
        mode = self._mode
        try:
            data, value = _decode(first.text, validate)
            return ChatResult(
                data, value, first.text, first.prompt_tokens, first.completion_tokens, mode, 1
            )
        except ValueError as problem:
            log.info("LLM answer invalid (%s); asking once for a repair", _short(problem))
            messages += [
                {"role": "assistant", "content": first.text[:REPAIR_ECHO_CHARS]},
                {"role": "user", "content": _repair_request(problem, first.truncated)},
            ]
        second = await self._send(messages, schema, schema_name, limit)
        prompt_tokens = first.prompt_tokens + second.prompt_tokens
        completion_tokens = first.completion_tokens + second.completion_tokens
        try:
            data, value = _decode(second.text, validate)
        except ValueError as problem:
            log.warning("LLM answer still invalid after repair: %s", _short(problem))
            raise LLMBadOutput(
                "The language model's answer was not usable, even after asking it to fix it."
            ) from None
        return ChatResult(data, value, second.text, prompt_tokens, completion_tokens, self._mode, 2)

    async def _send(
        self, messages: list[dict[str, str]], schema: dict[str, Any], name: str, limit: int
    ) -> _Reply:
        try:
            return await self._send_walking_modes(messages, schema, name, limit)
        except LLMError as exc:
            # The SDK's exception (still reachable as __context__ despite "from
            # None") can echo the request, key included: cut the chain here.
            exc.__context__ = exc.__cause__ = None
            raise

    async def _send_walking_modes(
        self, messages: list[dict[str, str]], schema: dict[str, Any], name: str, limit: int
    ) -> _Reply:
        """One chat request, walking down the structured-output modes the server rejects."""
        switched_token_param = False
        while True:
            mode = self._mode
            options: dict[str, Any] = {self._token_param: limit}
            if mode == "json_schema":
                options["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": name, "schema": schema, "strict": True},
                }
            elif mode == "json_object":
                options["response_format"] = {"type": "json_object"}
            try:
                async with self._slots:
                    completion = await self._sdk.chat.completions.create(
                        model=self.model,
                        messages=messages,  # type: ignore[arg-type]  # plain role/content dicts
                        **options,
                    )
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                detail = _error_text(exc)
                if _is_context_length(exc, detail):
                    raise ContextTooLong() from None
                if (
                    not switched_token_param
                    and self._token_param == "max_tokens"
                    and "max_tokens" in detail
                ):
                    # Newer OpenAI models only take max_completion_tokens.
                    self._token_param = "max_completion_tokens"
                    switched_token_param = True
                    continue
                if mode != "text":
                    self._mode = MODES[MODES.index(mode) + 1]
                    log.info(
                        "LLM server rejected %s output (%s); using %s from now on",
                        mode,
                        exc.status_code,
                        self._mode,
                    )
                    continue
                raise self._error(exc) from None
            except openai.OpenAIError as exc:
                raise self._error(exc) from None
            return _reply(completion, messages, schema if mode == "json_schema" else None)

    def _error(self, exc: openai.OpenAIError) -> LLMError:
        """Words naming the model, the server and what it said (``bot.llm.errors``)."""
        return model_error(
            exc,
            model=self.model,
            base_url=str(self._sdk.base_url),
            api_key=self._sdk.api_key,
            timeout_s=self.timeout_s,
        )


@dataclass(frozen=True, slots=True)
class AzureDeployment:
    """A classic Azure OpenAI deployment: ``{endpoint}/openai/deployments/{name}?api-version=``."""

    endpoint: str
    api_version: str
    deployment: str | None = None  # None: the deployment is named like LLM_MODEL


def _reply(
    completion: Any, messages: list[dict[str, str]], schema: dict[str, Any] | None
) -> _Reply:
    """The first choice of a ``ChatCompletion``; servers that leave fields out are tolerated."""
    try:
        choice = completion.choices[0]
        text = choice.message.content or ""
        truncated = choice.finish_reason == "length"
        if not isinstance(text, str):
            raise TypeError("content is not text")
    except (ValueError, LookupError, TypeError, AttributeError):
        raise LLMBadOutput("The language model server sent an answer I couldn't read.") from None
    usage = getattr(completion, "usage", None)
    # Some local servers omit usage; fall back to our own estimate so budgets still count.
    prompt = _count(usage, "prompt_tokens") or estimate_chat_tokens(messages, schema)
    completion_tokens = _count(usage, "completion_tokens") or estimate_tokens(text)
    return _Reply(text, prompt, completion_tokens, truncated)


def _count(usage: Any, key: str) -> int:
    """A token count from ``usage``; 0 when missing or unreadable (then we estimate)."""
    value = getattr(usage, key, None)
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _decode(
    text: str, validate: Callable[[dict[str, Any]], Any] | None
) -> tuple[dict[str, Any], Any]:
    data = _whole_json_object(text)
    if data is None:  # fenced, wrapped in prose, or broken: the full search and its error
        data = extract_json_object(text)
    value = validate(data) if validate else data
    return data, value


def _whole_json_object(text: str) -> dict[str, Any] | None:
    """The answer when it is exactly one JSON object, the usual case with structured
    output; ``extract_json_object`` would return the same, after scanning every brace."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _repair_request(problem: ValueError, truncated: bool) -> str:
    why = _short(problem, 600)
    if truncated:
        why += " (the answer was cut off: keep it shorter)"
    return (
        f"Your answer could not be used: {why}. Reply with the corrected JSON object only, "
        "matching the schema exactly, with no other text."
    )


def _short(problem: Exception, limit: int = 300) -> str:
    text = str(problem)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_text(exc: openai.APIStatusError) -> str:
    """The server's error message and code, lower-cased, for matching only (never shown)."""
    parts = [str(getattr(exc, "code", "") or ""), str(getattr(exc, "param", "") or "")]
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            parts.append(str(inner.get("message", "")))
        elif isinstance(inner, str):
            parts.append(inner)
        parts.append(str(body.get("message", "")))
        parts.append(str(body.get("detail", "")))
    elif isinstance(body, str):
        parts.append(body)
    parts.append(exc.message)
    return " ".join(parts).lower()


_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "context length",
    "context window",
    "maximum context",
    "too many tokens",
    "prompt is too long",
    "exceeds the model",
    "context size",  # llama.cpp's server: "the request exceeds the available context size"
)


def _is_context_length(exc: openai.APIStatusError, detail: str) -> bool:
    return any(marker in detail for marker in _CONTEXT_MARKERS)
