"""Briefs as Discord messages: ``{"content": str, "embeds": [embed dict]}``.

Plain dicts, compatible with ``discord.Embed.from_dict`` (no discord import).
Untrusted text is defanged by ``brief_view`` (mentions broken with a
zero-width space, URLs made non-clickable), trimmed, then markdown-escaped.
The article's URL is the embed's ``url``, the one link a brief carries. The
adapter also sends ``allowed_mentions`` none; the text is safe without it.

Limits kept: content 2000, title 256, description 4096, 25 fields, field name
256, field value 1024, footer 2048, author name 256, 6000 per embed in all.
"""

from __future__ import annotations

import re
from typing import Any

from bot.pipeline.models import Brief
from bot.render.common import (
    BriefView,
    ClaimView,
    PointView,
    brief_view,
    defang,
    fit_escaped,
    host_of,
    text_len,
    trim,
)

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
MAX_FIELDS = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
EMBED_TOTAL_LIMIT = 6000
# A summary longer than this is not a summary; it also leaves room for claims.
SUMMARY_LIMIT = 2000
MAX_CLAIMS = 12
MAX_POINTS = 3
QUOTE_LIMIT = 600
WARNING_LIMIT = 300
FOOTER_BUDGET = 1000
# The footer's "N more checked claims not shown" changes length with N.
FOOTER_SLACK = 48
MIN_FIELD_ROOM = 160
COLOR_LLM = 0x5865F2
COLOR_EXTRACTIVE = 0x99AAB5

_MARKDOWN = re.compile(r"([\\*_~`|>#\-\[\]()<:])")

Embed = dict[str, Any]


def escape(text: str) -> str:
    """Backslash every character Discord markdown gives a meaning to."""
    return _MARKDOWN.sub(r"\\\1", text)


def _plain(text: str, limit: int) -> str:
    """For footers and author names, which Discord shows without markdown."""
    return trim(text, limit)


def _field(claim: ClaimView, room: int = FIELD_NAME_LIMIT + FIELD_VALUE_LIMIT) -> dict[str, Any]:
    """A claim as an embed field of at most ``room`` characters (name plus value)."""
    name = fit_escaped(claim.claim or "Claim", min(FIELD_NAME_LIMIT, room // 3), escape)
    value_room = min(FIELD_VALUE_LIMIT, room - text_len(name))
    who = fit_escaped(claim.attribution(), min(300, value_room // 3), escape)
    quote_room = min(QUOTE_LIMIT, value_room - text_len(who) - 4)
    quote = fit_escaped(claim.quote, quote_room, escape)
    return {"name": name, "value": f"— {who}\n> {quote}", "inline": False}


def _point_field(point: PointView) -> dict[str, Any]:
    """A thread point as an embed field: the commenter, then their verbatim words."""
    name = fit_escaped(f"What the thread says — {point.commenter}", FIELD_NAME_LIMIT, escape)
    quote = fit_escaped(point.quote, min(QUOTE_LIMIT, FIELD_VALUE_LIMIT - 2), escape)
    return {"name": name, "value": f"> {quote}", "inline": False}


def _field_size(field: dict[str, Any]) -> int:
    return text_len(field["name"]) + text_len(field["value"])


def _footer_text(view: BriefView, hidden: int) -> str:
    parts = [f"⚠ {trim(w, WARNING_LIMIT)}" for w in view.warnings]
    parts.append(view.status())
    if view.withheld_note():
        parts.append(view.withheld_note())
    if hidden > 0:
        parts.append(view.hidden_note(hidden).rstrip("."))
    return _plain(" · ".join(parts), min(FOOTER_BUDGET, FOOTER_LIMIT))


def embed_size(embed: Embed) -> int:
    """What Discord counts against the 6000-character embed limit."""
    size = text_len(embed.get("title", "")) + text_len(embed.get("description", ""))
    size += text_len(embed.get("footer", {}).get("text", ""))
    size += text_len(embed.get("author", {}).get("name", ""))
    for field in embed.get("fields", []):
        size += text_len(field["name"]) + text_len(field["value"])
    return size


def _embed(
    view: BriefView, description: str, fields: list[dict[str, Any]], points: int = 0
) -> Embed:
    """``points``: how many of ``fields`` (the first ones) are thread points, not claims."""
    title = view.title or view.untitled()
    embed: Embed = {
        "type": "rich",
        "title": fit_escaped(title, TITLE_LIMIT, escape),
        "color": COLOR_LLM if view.llm else COLOR_EXTRACTIVE,
    }
    if view.url:
        embed["url"] = view.url
    if view.image:
        embed["thumbnail"] = {"url": view.image}  # Discord loads it; the bot never does
    byline = view.byline()
    if byline:
        embed["author"] = {"name": _plain(byline, AUTHOR_LIMIT)}
    if description:
        embed["description"] = description
    if fields:
        embed["fields"] = fields
    claims_shown = max(0, len(fields) - points)
    embed["footer"] = {"text": _footer_text(view, len(view.claims) - claims_shown)}
    return embed


def render_discord(brief: Brief, lang: str | None = None) -> dict[str, Any]:
    """The brief as one embed; claims are trimmed and dropped, then the summary cut."""
    view = brief_view(brief, lang)
    description = fit_escaped(view.summary, min(SUMMARY_LIMIT, DESCRIPTION_LIMIT), escape)
    room = EMBED_TOTAL_LIMIT - embed_size(_embed(view, description, [])) - FOOTER_SLACK
    fields: list[dict[str, Any]] = []
    for point in view.thread[:MAX_POINTS]:
        field = _point_field(point)
        if _field_size(field) <= room:
            fields.append(field)
            room -= _field_size(field)
    points = len(fields)
    for claim in view.claims[: min(MAX_CLAIMS, MAX_FIELDS - points)]:
        field = _field(claim)
        if _field_size(field) > room:
            if room >= MIN_FIELD_ROOM:
                fields.append(_field(claim, room))  # the last one, shortened to fit
            break
        fields.append(field)
        room -= _field_size(field)
    embed = _embed(view, description, fields, points)
    while embed_size(embed) > EMBED_TOTAL_LIMIT and fields:
        fields = fields[:-1]
        points = min(points, len(fields))
        embed = _embed(view, description, fields, points)
    if embed_size(embed) > EMBED_TOTAL_LIMIT:
        room = EMBED_TOTAL_LIMIT - (embed_size(embed) - text_len(description))
        description = fit_escaped(view.summary, max(0, room), escape)
        embed = _embed(view, description, fields, points)
    return {"content": "", "embeds": [embed]}


def render_discord_error(message: str) -> dict[str, Any]:
    """A failure, said plainly (the message may quote a server's content type)."""
    text = "⚠️ " + fit_escaped(defang(message), CONTENT_LIMIT - 3, escape)
    return {"content": text, "embeds": []}


def render_discord_placeholder(url: str) -> dict[str, Any]:
    """``Reading example.com…`` while the brief is being built."""
    host = host_of(url) or "the link"
    return {"content": f"Reading {escape(trim(host, 200))}…", "embeds": []}
