"""Answers, brief controls and stats as chat messages (Slack, Discord, console markdown).

Everything in an answer came from a web page or a model: it is defanged
(``bot.render.common.defang``: no pings, no clickable links), trimmed, then
escaped for the platform, as briefs are. Controls carry the brief's version,
which makes Regenerate idempotent per click (``bot.followup.controls``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.followup.answer import NOT_IN_ARTICLE, Answer
from bot.render import discord as discord_render
from bot.render import markdown as markdown_render
from bot.render import slack as slack_render
from bot.render.common import defang, fit_escaped, text_len

TEXT_LIMIT = 400
QUOTE_LIMIT = 600
SLACK_SECTION_LIMIT = 3000
DISCORD_CONTENT_LIMIT = 2000

# Button ids: "<prefix>:<action>"; the value (Slack) or id suffix (Discord) is the version.
ACTION_PREFIX = "linkbrief"
REGENERATE, DELETE, UP, DOWN = "regenerate", "delete", "up", "down"
ACTIONS = (REGENERATE, DELETE, UP, DOWN)
CONTROLS_BLOCK_ID = f"{ACTION_PREFIX}_controls"


def _lines(answer: Answer, escape: Callable[[str], str], bold: str, quote_mark: str) -> list[str]:
    if answer.status == "not_in_article":
        out = [NOT_IN_ARTICLE]
    elif answer.status == "unsupported":
        reasons = "; ".join(dict.fromkeys(answer.withheld)) or "it could not be checked"
        out = [
            "The article does not support the answer I drafted "
            f"({escape(defang(reasons, single_line=True))}), so I won't give it."
        ]
    else:
        out = []
        for part in answer.parts:
            if part.text and part.text.strip() != part.quote.strip():
                out.append(fit_escaped(defang(part.text, single_line=True), TEXT_LIMIT, escape))
            quote = fit_escaped(defang(part.quote, single_line=True), QUOTE_LIMIT, escape)
            who = defang(part.speaker, single_line=True)
            if part.source and part.source.lower() not in (part.speaker.lower(), "the author"):
                who += f", per {defang(part.source, single_line=True)}"
            out.append(f"{quote_mark}“{quote}” — {fit_escaped(who, 300, escape)}")
        if answer.withheld:
            n = len(answer.withheld)
            out.append(
                f"_{n} more {'sentence' if n == 1 else 'sentences'} withheld: "
                f"{escape(defang('; '.join(dict.fromkeys(answer.withheld)), single_line=True))}._"
            )
    if answer.mode == "extractive" and answer.status == "answered":
        out.append("_Best-matching sentences of the article (no AI)._")
    out += [f"⚠️ {escape(defang(note, single_line=True))}" for note in answer.notes]
    return out


def _join_within(lines: list[str], limit: int) -> str:
    """Whole lines, in order, while they fit ``limit`` (each line is bounded already, so
    no escape sequence or quote is ever cut in half; what does not fit is left out)."""
    kept: list[str] = []
    size = 0
    for line in lines:
        extra = text_len(line) + (1 if kept else 0)
        if size + extra > limit:
            break
        kept.append(line)
        size += extra
    return "\n".join(kept)


def answer_slack(answer: Answer) -> dict[str, Any]:
    text = _join_within(_lines(answer, slack_render.escape, "*", "> "), SLACK_SECTION_LIMIT)
    return {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}],
    }


def answer_discord(answer: Answer) -> dict[str, Any]:
    text = _join_within(_lines(answer, discord_render.escape, "**", "> "), DISCORD_CONTENT_LIMIT)
    return {"content": text}


def answer_markdown(answer: Answer) -> str:
    return "\n".join(_lines(answer, markdown_render.escape, "**", "> ")) + "\n"


def action_id(action: str) -> str:
    return f"{ACTION_PREFIX}:{action}"


def parse_action_id(value: str) -> str | None:
    prefix, _, action = value.partition(":")
    return action if prefix == ACTION_PREFIX and action in ACTIONS else None


def slack_controls(version: int) -> dict[str, Any]:
    """The actions block under every brief."""

    def button(action: str, label: str, style: str | None = None) -> dict[str, Any]:
        b: dict[str, Any] = {
            "type": "button",
            "action_id": action_id(action),
            "text": {"type": "plain_text", "text": label, "emoji": True},
            "value": str(version),
        }
        if style:
            b["style"] = style
        return b

    return {
        "type": "actions",
        "block_id": CONTROLS_BLOCK_ID,
        "elements": [
            button(REGENERATE, "🔄 Regenerate"),
            button(UP, "👍"),
            button(DOWN, "👎"),
            button(DELETE, "🗑 Delete", "danger"),
        ],
    }


def with_slack_controls(message: dict[str, Any], version: int) -> dict[str, Any]:
    blocks = list(message.get("blocks") or [])
    if len(blocks) >= slack_render.MAX_BLOCKS:
        blocks = blocks[: slack_render.MAX_BLOCKS - 1]
    return {**message, "blocks": [*blocks, slack_controls(version)]}


def discord_custom_id(action: str, version: int) -> str:
    return f"{action_id(action)}:{version}"


def parse_discord_custom_id(custom_id: str) -> tuple[str, int] | None:
    head, _, version = custom_id.rpartition(":")
    action = parse_action_id(head)
    if action is None or not version.isdigit():
        return None
    return action, int(version)


def vote_text(up: int, down: int) -> str:
    return f"Thanks, noted. This brief has 👍 {up} · 👎 {down}."
