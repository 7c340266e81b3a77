"""The console front end as a person and a script meet it: the real app, the article
server on loopback, stdin/stdout handed in (a terminal, or a pipe)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from bot.adapters.console import PROMPT, run_console
from bot.app import build_app
from bot.pipeline import progress
from tests.app_support import local_settings
from tests.servers.article_server import PAGES_DIR, ArticleServer

PARAGRAPH = (
    "<p>The council said on Monday that the new budget would grow by four percent, "
    "and the mayor told reporters that Wday.ru! had misreported the plan. "
    "“We will publish every line of it,” said Mayor Ana Ruiz, who chairs the council.</p>"
)
PAGE = (
    "<html><head><title>Recipe | The Anti-June Cleaver</title></head><body><article>"
    "<h1>Recipe | The Anti-June Cleaver</h1>" + PARAGRAPH * 6 + "</article></body></html>"
)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Stream(io.StringIO):
    """A stdin or stdout that says whether it is a terminal."""

    def __init__(self, text: str = "", *, tty: bool) -> None:
        super().__init__(text)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.fixture
async def pages(tmp_path: Path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "cleaver.html").write_text(PAGE)
    (site / "example_article.html").write_bytes((PAGES_DIR / "example_article.html").read_bytes())
    async with ArticleServer(host="127.0.0.2", pages_dir=site) as srv:
        yield srv


async def console_output(tmp_path: Path, text: str, *, tty: bool) -> str:
    app = await build_app(local_settings(tmp_path))
    stdout = Stream(tty=tty)
    try:
        await run_console(app, Stream(text, tty=tty), stdout)
    finally:
        await app.aclose()
    return stdout.getvalue()


async def test_a_script_gets_plain_briefs_one_blank_line_apart(
    tmp_path: Path, pages: ArticleServer
) -> None:
    first, second = pages.url("/pages/cleaver.html"), pages.url("/pages/example_article.html")
    out = await console_output(tmp_path, f"{first} and {second}\n", tty=False)
    assert not ANSI.search(out) and PROMPT not in out
    assert "Recipe | The Anti-June Cleaver" in out  # no Slack/Markdown escapes
    assert "\\|" not in out and "\\[" not in out and "\\!" not in out
    assert "Is Russia pulling back to regroup?" in out
    # One blank line between the two briefs, none doubled anywhere.
    assert "\n\n\n" not in out
    assert "\n\nIs Russia pulling back to regroup?\n" in out
    assert re.search(r"\d[\d,]*-word article · \d+-sentence summary", out)


async def test_a_terminal_sees_status_lines_rich_briefs_and_a_prompt_after_each(
    tmp_path: Path, pages: ArticleServer
) -> None:
    link = pages.url("/pages/example_article.html")
    out = await console_output(tmp_path, f"{link}\nnothing here\n", tty=True)
    seen = ANSI.sub("", out)
    # The status line walked through the pipeline's steps, with the host.
    for step in ("fetching", "reading", "summarizing", "checking quotes"):
        assert f"127.0.0.2 — {step}…" in seen, step
    assert "\x1b[1m" in out  # bold title
    assert "Is Russia pulling back to regroup?" in seen and "Fomin" in seen
    # A prompt at the start, after the brief, and after the line without a link.
    assert seen.count(PROMPT) == 3
    assert seen.index("Is Russia pulling back") < seen.index(PROMPT, seen.index(PROMPT) + 1)
    assert "No http(s) link in that line." in seen


async def test_progress_reports_each_step_of_a_brief_in_order(
    tmp_path: Path, pages: ArticleServer
) -> None:
    steps: list[str] = []
    app = await build_app(local_settings(tmp_path))
    try:
        with progress.watching(lambda _url, step: steps.append(step)):
            await app.service.brief_url(pages.url("/pages/example_article.html"))
        await app.service.brief_url(pages.url("/pages/cleaver.html"))  # nobody watching
    finally:
        await app.aclose()
    assert steps == ["fetching", "reading", "summarizing", "checking"]
