"""The three renderers: no pings, no foreign links, platform limits, honest labels."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from bot.pipeline.models import Brief, BriefStats, Claim
from bot.render import (
    render_discord,
    render_discord_error,
    render_discord_placeholder,
    render_error_markdown,
    render_markdown,
    render_slack,
    render_slack_error,
    render_slack_placeholder,
)
from bot.render.common import fit_escaped, trim
from bot.render.slack import escape as slack_escape
from tests import render_checks as checks

URL = "https://news.example.org/2022/03/regroup"
NASTY = (
    "<!channel> <!here> <!everyone> @everyone @here <@U123> <@&123> <@!456> <#C42> "
    "<!subteam^S1> [click](https://evil.example) ![img](https://evil.example/x.png) "
    "<https://evil.example|spoof> www.evil.example/a https://evil.example/raw "
    "@every\u200bone <\u200b!channel> [cl\u200bick](https://evil.example/zw) \u202eevil "
    "R&D <b>bold</b> &amp; a > b"
)
# Text a renderer must never show: the spoofed link text's target and unverified claims.
FORBIDDEN = ("evil.example", "UNVERIFIED-CLAIM", "UNVERIFIED-QUOTE")

Renderer = Callable[[Brief], Any]


def make_claim(i: int, *, verified: bool = True, size: int = 0) -> Claim:
    quote = f"QUOTE-{i} {NASTY}" + (" R&D <x>" * (size // 8))
    return Claim(
        claim=f"CLAIM-{i} {NASTY}" if verified else f"UNVERIFIED-CLAIM {NASTY}",
        speaker=f"Speaker-{i} @here",
        source=f"Source-{i} <!channel>",
        quote=quote if verified else "UNVERIFIED-QUOTE",
        kind="claim",
        verified=verified,
        reason="" if verified else "quote not found",
    )


def nasty_brief(*, mode: str = "llm") -> Brief:
    return Brief(
        url=URL,
        canonical_url=URL,
        title=f"Title {NASTY}",
        site=f"Site {NASTY}",
        author="@everyone",
        published="2022-03-30",
        mode=mode,  # type: ignore[arg-type]
        summary=f"Summary start. {NASTY}\n\nSecond paragraph {NASTY}",
        claims=[
            make_claim(1),
            make_claim(0, verified=False),
            make_claim(2),
            make_claim(3, verified=False),
        ],
        stats=BriefStats(article_words=900, reduced_by_pct=62),
        warnings=[f"model unavailable, showing the extractive brief {NASTY}"],
    )


def huge_brief() -> Brief:
    claims = [make_claim(i, size=2000) for i in range(40)]
    claims += [make_claim(100 + i, verified=False) for i in range(3)]
    return Brief(
        url=URL,
        canonical_url=URL,
        title="T&<> " * 200,
        site="S&" * 300,
        author="A&" * 300,
        published="2022-03-30",
        mode="llm",
        summary=("Summary R&D <tag> & more. " * 400)[:10_000],
        claims=claims,
        stats=BriefStats(article_words=5000, reduced_by_pct=80),
        warnings=["W&<> " * 700],
    )


def all_text(payload: Any) -> str:
    return "\n".join(checks.strings(payload))


def visible(payload: Any) -> str:
    """The text with zero-width spaces and markup escapes taken out, as a reader sees it."""
    text = all_text(payload).replace("\u200b", "")
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"\\(.)", r"\1", text)


def assert_safe(kind: str, payload: Any) -> None:
    if kind == "slack":
        checks.assert_safe_slack(payload, URL)
    elif kind == "discord":
        checks.assert_safe_discord(payload, URL)
    else:
        checks.assert_safe_markdown(payload, URL)


RENDERERS: list[tuple[str, Renderer]] = [
    ("slack", render_slack),
    ("discord", render_discord),
    ("markdown", render_markdown),
]


@pytest.mark.parametrize(("kind", "render"), RENDERERS)
def test_hostile_brief_renders_without_pings_or_foreign_links(kind: str, render: Renderer) -> None:
    payload = render(nasty_brief())
    assert_safe(kind, payload)
    text = all_text(payload)
    for bad in FORBIDDEN:
        assert bad not in text
    # What was neutralised is still there to read, minus its power.
    seen = visible(payload)
    assert "CLAIM-1" in seen and "QUOTE-2" in seen and "Speaker-2" in seen
    assert "click" in seen and "spoof" in seen and "R&D" in seen
    assert "@everyone" in seen  # readable once the zero-width space is removed
    assert "\u202e" not in text


@pytest.mark.parametrize(("kind", "render"), RENDERERS)
def test_labels_counts_and_attribution(kind: str, render: Renderer) -> None:
    seen = visible(render(nasty_brief(mode="llm")))
    assert "AI summary" in seen
    assert "-word article" in seen and "reduced by" not in seen
    assert re.search(r"\d+ claims checked, 2 withheld", seen)
    assert "2 claims could not be checked against the article" in seen
    assert "Speaker-1 @here (per Source-1 <!channel>)" in seen
    assert "model unavailable, showing the extractive brief" in seen
    assert "Title" in seen and "2022-03-30" in seen
    extractive = visible(render(nasty_brief(mode="extractive")))
    assert "extractive summary, no AI" in extractive and "AI summary" not in extractive


@pytest.mark.parametrize(("kind", "render"), RENDERERS)
def test_one_withheld_claim_is_singular(kind: str, render: Renderer) -> None:
    brief = nasty_brief()
    brief.claims = brief.claims[:3]
    assert "1 claim could not be checked against the article" in visible(render(brief))


@pytest.mark.parametrize(("kind", "render"), RENDERERS)
def test_overlong_brief_fits_every_limit(kind: str, render: Renderer) -> None:
    payload = render(huge_brief())
    assert_safe(kind, payload)
    seen = visible(payload)
    assert "CLAIM-0" in seen  # claims are trimmed and dropped, not all lost
    assert "CLAIM-39" not in seen
    assert "…" in seen  # the summary or quotes were cut with an ellipsis
    assert "3 claims could not be checked against the article" in seen
    assert "more checked claims not shown" in seen


def test_slack_structure_and_the_one_link() -> None:
    payload = render_slack(nasty_brief())
    assert set(payload) == {"text", "blocks"}
    assert payload["blocks"][0]["type"] == "header"
    links = re.findall(r"<(https?://[^|>]+)\|", all_text(payload))
    assert links and set(links) == {URL}
    # Untrusted mrkdwn is sent verbatim, so Slack links nothing on its own.
    for block in payload["blocks"]:
        for obj in checks._text_objects(block):
            if obj["type"] == "mrkdwn":
                assert obj["verbatim"] is True
    quotes = [
        b for b in payload["blocks"] if b["type"] == "section" and "\n> QUOTE-" in b["text"]["text"]
    ]
    assert len(quotes) == 2


def test_slack_overlong_keeps_sections_and_header_in_bounds() -> None:
    payload = render_slack(huge_brief())
    header = payload["blocks"][0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("…")
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert max(len(s) for s in sections) <= 3000
    assert any(len(s) > 2500 for s in sections)  # the summary uses the room it has


def test_discord_structure_and_the_one_link() -> None:
    import discord

    payload = render_discord(nasty_brief())
    assert payload["content"] == ""
    [embed] = payload["embeds"]
    assert embed["url"] == URL
    parsed = discord.Embed.from_dict(embed)
    assert parsed.url == URL and len(parsed.fields) == 2
    assert parsed.fields[0].value.startswith("— ")


def test_discord_overlong_fills_but_never_exceeds_6000() -> None:
    [embed] = render_discord(huge_brief())["embeds"]
    size = checks.discord_embed_size(embed)
    assert 5000 < size <= 6000
    assert len(embed["title"]) <= 256 and embed["title"].endswith("…")
    assert embed.get("fields"), "a long summary must not push out every claim"


@pytest.mark.parametrize(("kind", "render"), RENDERERS)
def test_article_urls_with_queries_and_parentheses_stay_links(kind: str, render: Renderer) -> None:
    url = "https://en.example.org/wiki/Foo_(bar)?a=1&b=2"
    payload = render(Brief(url=url, canonical_url=url, title="Foo", summary="S"))
    checks.assert_no_live_mentions(payload)
    checks.assert_no_foreign_links(payload, url)
    assert "Foo_%28bar%29?a=1" in all_text(payload)
    if kind == "slack":
        checks.assert_slack_entities_whole(payload)
    with pytest.raises(AssertionError):
        checks.assert_no_foreign_links(payload, "https://en.example.org/wiki/Other")


def test_markdown_links_only_the_article() -> None:
    text = render_markdown(nasty_brief())
    assert text.startswith("# Title")
    assert f"<{URL}>" in text
    assert "](" not in text.replace("\\](", "")


@pytest.mark.parametrize(
    ("render", "kind"),
    [
        (render_slack_error, "slack"),
        (render_discord_error, "discord"),
        (render_error_markdown, "md"),
    ],
)
def test_error_messages_are_escaped_and_safe(render: Callable[[str], Any], kind: str) -> None:
    payload = render(f"That link isn't an article ({NASTY}). " + "x&" * 3000)
    assert_safe(kind, payload)
    assert "That link isn't an article" in visible(payload)


@pytest.mark.parametrize(
    ("render", "kind"),
    [(render_slack_placeholder, "slack"), (render_discord_placeholder, "discord")],
)
def test_placeholders_name_the_host(render: Callable[[str], Any], kind: str) -> None:
    payload = render("https://www.example.com/some/story?id=1")
    assert "Reading example.com…" in visible(payload)
    assert_safe(kind, payload)
    hostile = render("https://<!channel>@evil.example/")
    checks.assert_no_live_mentions(hostile)


# --- trimming helpers -------------------------------------------------------------


def test_trim_cuts_on_a_word_with_an_ellipsis() -> None:
    assert trim("alpha beta gamma delta", 13) == "alpha beta…"
    assert trim("short", 10) == "short"
    assert trim("x" * 50, 10) == "x" * 9 + "…"
    assert len(trim("😀" * 10, 7)) <= 4  # astral characters count double


@pytest.mark.parametrize("limit", [1, 5, 6, 7, 11, 50])
def test_fit_escaped_never_splits_an_entity(limit: int) -> None:
    out = fit_escaped("&&&& <<>> plain & text", limit, slack_escape)
    assert len(out) <= limit
    assert re.sub(r"&(amp|lt|gt);", "", out).count("&") == 0


def test_checks_catch_what_they_guard_against() -> None:
    """The shared checks fail on bad payloads (they are not vacuous)."""
    bad: list[tuple[Callable[[Any], None], Any]] = [
        (checks.assert_no_live_mentions, {"text": "hi <!here>"}),
        (checks.assert_no_live_mentions, {"content": "@everyone look"}),
        (checks.assert_no_live_mentions, {"content": "hey <@&123>"}),
        (lambda p: checks.assert_no_foreign_links(p, URL), {"text": "<https://evil.example|x>"}),
        (lambda p: checks.assert_no_foreign_links(p, URL), {"d": "[x](https://evil.example)"}),
        (lambda p: checks.assert_no_foreign_links(p, URL), {"d": "see https://evil.example"}),
        (lambda p: checks.assert_no_foreign_links(p, URL), {"image": {"url": URL}}),
        (checks.assert_slack_entities_whole, {"text": "cut &am"}),
        (checks.assert_slack_limits, {"blocks": [{"type": "divider"}] * 51}),
        (checks.assert_discord_limits, {"content": "x" * 2001}),
        (checks.assert_discord_limits, {"embeds": [{"title": "t", "description": "d" * 4097}]}),
        (checks.assert_discord_escapes_whole, {"content": "cut \\"}),
    ]
    for check, payload in bad:
        with pytest.raises(AssertionError):
            check(payload)
