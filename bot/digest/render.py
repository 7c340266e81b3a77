"""A digest as Markdown, Slack Block Kit and a Discord embed.

Titles, lines and outlet names came from feeds, so they are untrusted: each is
defanged (``bot.render.common.defang``: no mentions, no smuggled links), then
trimmed, then escaped for the target markup. The only links are the entries'
own URLs, passed through ``safe_url``. Every output fits its platform's limits
(Slack: 50 blocks, 3000 characters a section; Discord: 4096 in a description,
6000 in an embed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.digest.models import Digest, DigestEntry
from bot.render import discord as discord_md
from bot.render import markdown as md
from bot.render import slack as slack_md
from bot.render.common import defang, fit_escaped, safe_url, text_len, trim

TITLE_LIMIT = 200
LINE_LIMIT = 240
SOURCES_SHOWN = 4
EMPTY_TEXT = "Nothing new in the followed feeds or shared links since the last digest."
SLACK_MAX_ENTRIES = 20  # two blocks each, inside Slack's 50
DISCORD_DESCRIPTION_BUDGET = 3900
DISCORD_TITLE_LIMIT = 256


@dataclass(frozen=True, slots=True)
class RenderedDigest:
    markdown: str
    slack: dict[str, Any]  # {"text": fallback, "blocks": [...]}
    discord: dict[str, Any]  # {"content": "", "embeds": [embed]}


def render_digest(digest: Digest) -> RenderedDigest:
    return RenderedDigest(
        markdown=render_markdown(digest),
        slack=render_slack(digest),
        discord=render_discord(digest),
    )


def _clean(text: str, limit: int) -> str:
    return trim(defang(text, single_line=True), limit)


def _also(entry: DigestEntry) -> list[str]:
    names = [_clean(s.name, 80) for s in entry.also_covered_by]
    if len(names) > SOURCES_SHOWN:
        names = [*names[:SOURCES_SHOWN], f"{len(names) - SOURCES_SHOWN} more"]
    return names


def _count(digest: Digest) -> str:
    n = len(digest.entries)
    return f"{n} {'story' if n == 1 else 'stories'}"


# --- Markdown --------------------------------------------------------------------


def render_markdown(digest: Digest) -> str:
    lines = [f"# {md.escape(_clean(digest.title, TITLE_LIMIT))}", ""]
    if digest.empty:
        return "\n".join([*lines, f"_{EMPTY_TEXT}_"]) + "\n"
    lines += [f"_{_count(digest)}_", ""]
    for n, entry in enumerate(digest.entries, 1):
        title = md.escape(_clean(entry.title, TITLE_LIMIT))
        url = safe_url(entry.url)
        head = f"{n}. **[{title}]({url})**" if url else f"{n}. **{title}**"
        line = md.escape(_clean(entry.line, LINE_LIMIT))
        lines.append(f"{head} — {line}" if line else head)
        first = _clean(entry.sources[0].name, 80) if entry.sources else ""
        meta = [md.escape(first)] if first else []
        also = _also(entry)
        if also:
            meta.append("also covered by " + ", ".join(md.escape(a) for a in also))
        if entry.shares:
            meta.append(f"shared {entry.shares}× here")
        if meta:
            lines.append(f"   _{'; '.join(meta)}_")
    return "\n".join(lines) + "\n"


# --- Slack Block Kit ------------------------------------------------------------------


def _slack_entry(n: int, entry: DigestEntry) -> list[dict[str, Any]]:
    esc = slack_md.escape
    title = fit_escaped(_clean(entry.title, TITLE_LIMIT), TITLE_LIMIT, esc)
    url = safe_url(entry.url)
    head = f"*{n}. <{esc(url)}|{title}>*" if url else f"*{n}. {title}*"
    line = fit_escaped(_clean(entry.line, LINE_LIMIT), slack_md.SECTION_LIMIT - 600, esc)
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"{head}\n{line}".strip(), "verbatim": True},
        }
    ]
    meta = _meta(entry, esc)
    if meta:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": " · ".join(meta), "verbatim": True}],
            }
        )
    return blocks


def _meta(entry: DigestEntry, esc: Callable[[str], str]) -> list[str]:
    """Where an entry comes from: first source, the others, and shares in the channel."""
    meta = []
    if entry.sources:
        meta.append(esc(_clean(entry.sources[0].name, 80)))
    also = _also(entry)
    if also:
        meta.append("also covered by " + ", ".join(esc(a) for a in also))
    if entry.shares:
        meta.append(f"shared {entry.shares}× here")
    return meta


def render_slack(digest: Digest) -> dict[str, Any]:
    header_text = trim(_clean(digest.title, slack_md.HEADER_LIMIT), slack_md.HEADER_LIMIT)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header_text}}
    ]
    if digest.empty:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": EMPTY_TEXT}]})
    shown = digest.entries[:SLACK_MAX_ENTRIES]
    for n, entry in enumerate(shown, 1):
        blocks.extend(_slack_entry(n, entry))
    fallback = f"{header_text}: {_count(digest)}" if shown else f"{header_text}: {EMPTY_TEXT}"
    return {"text": slack_md.escape(fallback), "blocks": blocks[: slack_md.MAX_BLOCKS]}


# --- Discord ----------------------------------------------------------------------------


def _discord_entry(n: int, entry: DigestEntry) -> str:
    esc = discord_md.escape
    title = fit_escaped(_clean(entry.title, TITLE_LIMIT), TITLE_LIMIT, esc)
    url = safe_url(entry.url)
    head = f"**{n}. [{title}]({url})**" if url else f"**{n}. {title}**"
    parts = [head]
    line = fit_escaped(_clean(entry.line, LINE_LIMIT), 400, esc)
    if line:
        parts.append(line)
    meta = _meta(entry, esc)
    if meta:
        parts.append("*" + " · ".join(meta) + "*")
    return "\n".join(parts)


def render_discord(digest: Digest) -> dict[str, Any]:
    title = trim(_clean(digest.title, DISCORD_TITLE_LIMIT), DISCORD_TITLE_LIMIT)
    chunks: list[str] = []
    used = 0
    for n, entry in enumerate(digest.entries, 1):
        chunk = _discord_entry(n, entry)
        if used + text_len(chunk) + 2 > DISCORD_DESCRIPTION_BUDGET:
            break  # whole entries only; the embed stays well under 6000
        chunks.append(chunk)
        used += text_len(chunk) + 2
    description = "\n\n".join(chunks) if chunks else discord_md.escape(EMPTY_TEXT)
    embed = {
        "title": title,
        "description": description,
        "color": discord_md.COLOR_EXTRACTIVE,
        "footer": {"text": trim(f"linkbrief digest · {_count(digest)}", 200)},
    }
    return {"content": "", "embeds": [embed]}
