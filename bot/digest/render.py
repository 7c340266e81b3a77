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

from bot.digest.models import Digest, DigestEntry, Disagreement
from bot.i18n import translator
from bot.render import discord as discord_md
from bot.render import markdown as md
from bot.render import slack as slack_md
from bot.render.common import defang, fit_escaped, safe_url, text_len, trim

TITLE_LIMIT = 200
LINE_LIMIT = 240
SOURCES_SHOWN = 4
EMPTY_TEXT = "Nothing new in the followed feeds or shared links since the last digest."
DISAGREEMENTS_SHOWN = 3
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


def _gettext(digest: Digest) -> Callable[[str], str]:
    return translator(digest.language).gettext


def _also(entry: DigestEntry, _: Callable[[str], str]) -> list[str]:
    names = [_clean(s.name, 80) for s in entry.also_covered_by]
    if len(names) > SOURCES_SHOWN:
        more = len(names) - SOURCES_SHOWN
        names = [*names[:SOURCES_SHOWN], _("and %(n)d more") % {"n": more}]
    return names


def _count(digest: Digest) -> str:
    n = len(digest.entries)
    return translator(digest.language).ngettext("%(n)d story", "%(n)d stories", n) % {"n": n}


def _meta(entry: DigestEntry, esc: Callable[[str], str], digest: Digest) -> list[str]:
    """Where an entry comes from: its first outlet, the other outlets, shares in this channel.

    Every combination reads as a sentence fragment: a story only the channel
    shared says so and names no outlet; a shared link is never an "outlet".
    """
    t = translator(digest.language)
    meta = []
    outlets = entry.outlets
    if outlets:
        meta.append(esc(_clean(outlets[0].name, 80)))
    also = _also(entry, t.gettext)
    if also:
        names = ", ".join(esc(a) for a in also)
        meta.append(t.gettext("also covered by %(outlets)s") % {"outlets": names})
    if entry.shares:
        n = entry.shares
        meta.append(t.ngettext("shared once here", "shared %(n)d× here", n) % {"n": n})
    return meta


def disagreement_text(item: Disagreement, lang: str, esc: Callable[[str], str]) -> str:
    """``Vote: 5–2 (Tidewater Ledger) · 6–1 (Harbor Herald)``, escaped for the target markup."""
    _ = translator(lang).gettext
    labels = {
        "vote": _("Vote"),
        "amount": _("Amount"),
        "percent": _("Percentage"),
        "date": _("Date"),
    }
    if item.kind == "count":
        label = esc(_clean(item.subject, 40).capitalize())
    elif item.kind == "speaker":
        quote = _clean(item.subject, 60)
        label = _("Who said “%(quote)s”") % {"quote": esc(quote)}
    else:
        label = labels[item.kind]
    values = " · ".join(
        f"{esc(_clean(v.value, 60))} ({', '.join(esc(_clean(s, 60)) for s in v.sources[:3])})"
        for v in item.values
    )
    return f"{label}: {values}"


def _differ(entry: DigestEntry, digest: Digest, esc: Callable[[str], str]) -> list[str]:
    return [
        "⚖ " + disagreement_text(d, digest.language, esc)
        for d in entry.disagreements[:DISAGREEMENTS_SHOWN]
    ]


# --- Markdown --------------------------------------------------------------------


def render_markdown(digest: Digest) -> str:
    _ = _gettext(digest)
    lines = [f"# {md.escape(_clean(digest.title, TITLE_LIMIT))}", ""]
    if digest.empty:
        return "\n".join([*lines, f"_{_(EMPTY_TEXT)}_"]) + "\n"
    lines += [f"_{_count(digest)}_", ""]
    for n, entry in enumerate(digest.entries, 1):
        title = md.escape(_clean(entry.title, TITLE_LIMIT))
        url = safe_url(entry.url)
        head = f"{n}. **[{title}]({url})**" if url else f"{n}. **{title}**"
        line = md.escape(_clean(entry.line, LINE_LIMIT))
        lines.append(f"{head} — {line}" if line else head)
        meta = _meta(entry, md.escape, digest)
        if meta:
            lines.append(f"   _{'; '.join(meta)}_")
        lines.extend(f"   {line}" for line in _differ(entry, digest, md.escape))
    return "\n".join(lines) + "\n"


# --- Slack Block Kit ------------------------------------------------------------------


def _slack_entry(n: int, entry: DigestEntry, digest: Digest) -> list[dict[str, Any]]:
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
    lines: list[str] = []
    for line in [" · ".join(_meta(entry, esc, digest)), *_differ(entry, digest, esc)]:
        if line and text_len("\n".join([*lines, line])) <= slack_md.SECTION_LIMIT - 100:
            lines.append(line)  # whole lines only: a cut could split an escape
    if lines:
        text = "\n".join(lines)
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": text, "verbatim": True}]}
        )
    return blocks


def render_slack(digest: Digest) -> dict[str, Any]:
    header_text = trim(_clean(digest.title, slack_md.HEADER_LIMIT), slack_md.HEADER_LIMIT)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header_text}}
    ]
    if digest.empty:
        empty = _gettext(digest)(EMPTY_TEXT)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": empty}]})
    shown = digest.entries[:SLACK_MAX_ENTRIES]
    for n, entry in enumerate(shown, 1):
        blocks.extend(_slack_entry(n, entry, digest))
    empty_text = _gettext(digest)(EMPTY_TEXT)
    fallback = f"{header_text}: {_count(digest)}" if shown else f"{header_text}: {empty_text}"
    return {"text": slack_md.escape(fallback), "blocks": blocks[: slack_md.MAX_BLOCKS]}


# --- Discord ----------------------------------------------------------------------------


def _discord_entry(n: int, entry: DigestEntry, digest: Digest) -> str:
    esc = discord_md.escape
    title = fit_escaped(_clean(entry.title, TITLE_LIMIT), TITLE_LIMIT, esc)
    url = safe_url(entry.url)
    head = f"**{n}. [{title}]({url})**" if url else f"**{n}. {title}**"
    parts = [head]
    line = fit_escaped(_clean(entry.line, LINE_LIMIT), 400, esc)
    if line:
        parts.append(line)
    meta = _meta(entry, esc, digest)
    if meta:
        parts.append("*" + " · ".join(meta) + "*")
    parts.extend(_differ(entry, digest, esc))
    return "\n".join(parts)


def render_discord(digest: Digest) -> dict[str, Any]:
    title = trim(_clean(digest.title, DISCORD_TITLE_LIMIT), DISCORD_TITLE_LIMIT)
    chunks: list[str] = []
    used = 0
    for n, entry in enumerate(digest.entries, 1):
        chunk = _discord_entry(n, entry, digest)
        if used + text_len(chunk) + 2 > DISCORD_DESCRIPTION_BUDGET:
            break  # whole entries only; the embed stays well under 6000
        chunks.append(chunk)
        used += text_len(chunk) + 2
    _ = _gettext(digest)
    description = "\n\n".join(chunks) if chunks else discord_md.escape(_(EMPTY_TEXT))
    footer = _("linkbrief digest")
    embed = {
        "title": title,
        "description": description,
        "color": discord_md.COLOR_EXTRACTIVE,
        "footer": {"text": trim(f"{footer} · {_count(digest)}", 200)},
    }
    return {"content": "", "embeds": [embed]}
