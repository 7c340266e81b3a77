"""The LLM summarizer package: the only code that imports openai.

``build_llm_summarizer(settings)`` is what the composition root calls; the
rest of the pipeline only sees the ``Summarizer`` protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.llm.client import ChatClient, ChatResult, ContextTooLong
from bot.llm.prompts import PromptError, Prompts, load_prompts
from bot.llm.summarizer import LLMSummarizer

if TYPE_CHECKING:
    from pathlib import Path

    from bot.config import Settings

__all__ = [
    "ChatClient",
    "ChatResult",
    "ContextTooLong",
    "LLMSummarizer",
    "PromptError",
    "Prompts",
    "build_llm_summarizer",
    "load_prompts",
]


def build_llm_summarizer(settings: Settings, prompts_dir: Path | None = None) -> LLMSummarizer:
    """Load and validate the prompts (a bad prompt file fails here, at start) and wire a client."""
    prompts = load_prompts(prompts_dir)
    return LLMSummarizer(
        ChatClient.from_settings(settings),
        prompts,
        max_input_tokens=settings.max_input_tokens,
        max_output_tokens=settings.max_output_tokens,
        summary_language=settings.summary_language,
    )
