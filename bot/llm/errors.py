"""What the model server's refusals mean, in words: openai SDK exceptions → ``bot.errors``.

Each message names the model, the server and, where it is safe, the server's own
words, and says what to do::

    model 'llama3.1' not found on http://localhost:11434 — ollama pull llama3.1

``LLMUnavailable`` is for a server that could not be reached or would not answer;
``LLMBadOutput`` (raised by the client) for one that answered something unusable.

The server's message is shown only when it cannot carry the API key: never for
401/403 (where servers echo the key they were sent), and never when it contains any
piece of the key or anything shaped like a token.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import openai

from bot.errors import LLMBadOutput, LLMError, LLMUnavailable

log = logging.getLogger(__name__)

SERVER_TEXT_CHARS = 160  # enough for "model 'x' not found, try pulling it first"
KEY_FRAGMENT = 8  # this many characters of the key in a message: the message is not shown
_TOKEN_SHAPES = re.compile(r"(sk-|xox[abposr]-|xapp-|Bearer\s)[A-Za-z0-9_*.-]{4,}", re.I)
OLLAMA_PORT = 11434


def server_name(base_url: str) -> str:
    """``http://localhost:11434`` for ``http://localhost:11434/v1/``: what a person recognises."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else base_url


def server_text(exc: openai.APIStatusError, api_key: str | None) -> str:
    """The server's own error message, one line and short, or "" when it is unsafe to show."""
    body = exc.body
    text = ""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            text = str(inner.get("message") or inner.get("detail") or "")
        elif isinstance(inner, str):
            text = inner
        text = text or str(body.get("message") or body.get("detail") or "")
    elif isinstance(body, str):
        text = body
    text = " ".join(text.split())
    if not text or _carries_secret(text, api_key):
        return ""
    return text if len(text) <= SERVER_TEXT_CHARS else text[: SERVER_TEXT_CHARS - 1] + "…"


def _carries_secret(text: str, api_key: str | None) -> bool:
    if _TOKEN_SHAPES.search(text):
        return True
    if not api_key or api_key == "not-needed":
        return False
    if len(api_key) <= KEY_FRAGMENT:
        return api_key in text
    return any(
        api_key[i : i + KEY_FRAGMENT] in text for i in range(len(api_key) - KEY_FRAGMENT + 1)
    )


def is_ollama(base_url: str, said: str) -> bool:
    return urlsplit(base_url).port == OLLAMA_PORT or "pulling" in said.lower()


def status_error(
    exc: openai.APIStatusError, *, model: str, base_url: str, api_key: str | None
) -> LLMError:
    """The error (and message) for a server that answered ``exc.status_code``."""
    status = exc.status_code
    server = server_name(base_url)
    said = "" if status in (401, 403) else server_text(exc, api_key)
    quoted = f": {said}" if said else ""
    if status == 404:
        if is_ollama(base_url, said):
            fix = f"ollama pull {model}"
        else:
            fix = "check LLM_MODEL against the server's model list (GET /v1/models)"
        detail = f" ({said})" if said else ""
        return LLMUnavailable(f"model {model!r} not found on {server}{detail} — {fix}")
    if status in (401, 403):
        return LLMUnavailable(
            f"the model server {server} refused the API key ({status}) — check OPENAI_API_KEY"
        )
    if status == 429:
        return LLMUnavailable(
            f"the model server {server} is rate-limiting requests for {model!r} "
            f"(429{quoted}) — try again in a while"
        )
    if status >= 500:
        return LLMUnavailable(
            f"the model server {server} had an error with {model!r} ({status}{quoted}) "
            "— try again later"
        )
    return LLMUnavailable(f"model {model!r} on {server} rejected the request ({status}{quoted})")


def connection_error(
    exc: openai.APIConnectionError, *, model: str, base_url: str, timeout_s: float
) -> LLMError:
    server = server_name(base_url)
    if isinstance(exc, openai.APITimeoutError):
        return LLMUnavailable(
            f"model {model!r} on {server} took too long to answer (over {timeout_s:g} s) "
            "— try again later, or raise LLM_TIMEOUT_S"
        )
    return LLMUnavailable(
        f"I couldn't reach the model server {server} — is it running? (OPENAI_BASE_URL)"
    )


def model_error(
    exc: openai.OpenAIError, *, model: str, base_url: str, api_key: str | None, timeout_s: float
) -> LLMError:
    """Any openai exception as a ``bot.errors`` one, logged once with the same words."""
    if isinstance(exc, openai.APIResponseValidationError):  # a 2xx body that isn't a completion
        error: LLMError = LLMBadOutput(
            f"model {model!r} on {server_name(base_url)} sent an answer that is not a chat "
            "completion"
        )
    elif isinstance(exc, openai.APIConnectionError):
        error = connection_error(exc, model=model, base_url=base_url, timeout_s=timeout_s)
    elif isinstance(exc, openai.APIStatusError):
        error = status_error(exc, model=model, base_url=base_url, api_key=api_key)
    else:
        error = LLMUnavailable(
            f"the call to model {model!r} on {server_name(base_url)} failed ({type(exc).__name__})"
        )
    log.warning("%s", error)
    return error
