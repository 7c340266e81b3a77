"""Defanging that cannot be slipped, judged by real link parsers.

Each slippery spelling (a URL glued to ``_`` or a letter, an IP literal, upper
case, ``www.``, a Slack ``<url|text>``, a Markdown link with parentheses…) is put in
every untrusted field of a brief; the brief is rendered for Slack, Discord and
Markdown, and then

* the Markdown is rendered by **cmark-gfm** (GitHub's own renderer, with its
  autolink extension) and the Discord text too: the only ``<a href>`` may be the
  article's own URL;
* the Slack blocks and fallback text are read with Slack's link syntax
  (``<url>`` / ``<url|text>``, which only a literal ``<`` can open) and checked
  for a scheme (``://``) or a bare host Slack would link.
"""

from __future__ import annotations

import re

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from bot.pipeline.models import Brief, BriefStats, Claim
from bot.render import render_discord, render_markdown, render_slack
from bot.render.common import defang

ARTICLE = "https://news.example.org/story"
SLIPS = [
    "a_http://evil.example/x",
    "xhttp://evil.example/y",
    "see_https://evil.example/z",
    "HTTPS://EVIL.EXAMPLE/UP",
    "hTtP://evil.example/mixed",
    "http://10.0.0.1/admin",
    "http://[::1]/v6",
    "go to 192.168.1.20/login now",
    "1.2.3.4:8080",
    "www.evil.example",
    "x_www.evil.com/y",
    "evil.com/path",
    "evil.co.uk",
    "mail me at victim@evil.com",
    "<https://evil.example|click here>",
    "<http://evil.example>",
    "[text](https://evil.example/a_(b))",
    '[text](https://evil.example/a "title")',
    "![img](https://evil.example/i.png)",
    "[unclosed](https://evil.example/",
    "ftp://evil.example/file",
    "javascript://evil.example/%0aalert(1)",
    "h\u200bttps://evil.example/zero-width",
    "https:\u200b//evil.example/zw2",
    "(https://evil.example/in-parens)",
    "https://evil.example/a.b.c.d",
    "a.b.c.d.evil.com",
]
HREF = re.compile(r"""<a\s[^>]*href=["']([^"']*)""", re.IGNORECASE)
SLACK_LINK = re.compile(r"<([^<>|\s]+)(?:\|[^<>]*)?>")
SCHEME = re.compile(r"://")
BARE_HOST = re.compile(r"(?<![\w.-])(?:[a-z0-9-]+\.)+(?:com|uk|example)\b(?![\w-]*\[)", re.I)
IPV4 = re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")


def brief_with(text: str) -> Brief:
    claim = Claim(
        claim=f"Claim {text}",
        speaker=f"Speaker {text}",
        source=f"Source {text}",
        quote=f"Quote {text}",
        kind="claim",
        verified=True,
    )
    return Brief(
        url=ARTICLE,
        canonical_url=ARTICLE,
        title=f"Title {text}",
        site=f"Site {text}",
        author=f"Author {text}",
        published="2024-01-01",
        language="en",
        mode="llm",
        summary=f"Summary {text}",
        claims=[claim],
        stats=BriefStats(
            article_words=100, reduced_by_pct=50, prompt_tokens=1, completion_tokens=1
        ),
        warnings=[f"Warning {text}"],
    )


def gfm_hrefs(markdown: str) -> list[str]:
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    return HREF.findall(html)


def _strings(payload: object) -> list[str]:
    if isinstance(payload, str):
        return [payload]
    if isinstance(payload, dict):
        return [s for value in payload.values() for s in _strings(value)]
    if isinstance(payload, list):
        return [s for value in payload for s in _strings(value)]
    return []


def _article(href: str) -> bool:
    return href.rstrip("/") == ARTICLE.rstrip("/")


def test_the_checks_can_fail() -> None:
    # Without defanging, cmark-gfm and Slack's syntax both see the foreign links.
    assert gfm_hrefs("a_http://evil.example/x and www.evil.example")
    assert SLACK_LINK.search("<https://evil.example|click>")


@pytest.mark.parametrize("slip", SLIPS)
def test_markdown_has_no_foreign_link_in_github_flavoured_markdown(slip: str) -> None:
    markdown = render_markdown(brief_with(slip))
    foreign = [h for h in gfm_hrefs(markdown) if not _article(h)]
    assert not foreign, f"{slip!r} rendered as a link: {foreign}"


@pytest.mark.parametrize("slip", SLIPS)
def test_discord_text_has_no_foreign_link(slip: str) -> None:
    payload = render_discord(brief_with(slip))
    for text in _strings(payload):
        if _article(text):
            continue  # the embed's url field: the article's own link
        foreign = [h for h in gfm_hrefs(text) if not _article(h)]
        assert not foreign, f"{slip!r} rendered as a link in {text[:120]!r}"
        assert not SCHEME.search(text.replace(ARTICLE, "")), text[:200]


@pytest.mark.parametrize("slip", SLIPS)
def test_slack_blocks_and_fallback_have_no_foreign_link(slip: str) -> None:
    payload = render_slack(brief_with(slip))
    for text in _strings(payload):
        for target in SLACK_LINK.findall(text):
            assert _article(target.replace("&amp;", "&")), f"Slack link to {target!r}"
        rest = SLACK_LINK.sub(" ", text)
        assert not SCHEME.search(rest), f"{slip!r}: live scheme in {rest[:200]!r}"
        assert not BARE_HOST.search(rest), f"{slip!r}: linkable host in {rest[:200]!r}"
        assert not IPV4.search(rest), f"{slip!r}: IP literal in {rest[:200]!r}"


def test_every_slip_is_inert_text_after_defang() -> None:
    for slip in SLIPS:
        out = defang(slip)
        assert "://" not in out, (slip, out)
        assert not gfm_hrefs(out), (slip, out)


def test_readable_words_stay_readable() -> None:
    text = "Node.js e.g. v1.2.3 U.S. 3.14 example.test and a.b"
    assert defang(text) == text


def test_defang_is_linear_on_the_title_that_froze_the_loop() -> None:
    # 200 KB of "a.a.a." (the title) and of "[a](": a complexity bug would take
    # minutes here; the assertion is on the output, the size is the check.
    title = "a." * 100_000
    assert defang(title, single_line=True) == title[:-1] + "." or defang(title)
    assert "[a](" not in render_markdown(brief_with("[a](" * 50_000))
