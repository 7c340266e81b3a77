"""The command line as a user runs it: a real subprocess, the article server on
loopback, a fresh SQLite file, no model configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.article_server import ArticleServer

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "tests" / "fixtures" / "pages"


@pytest.fixture(scope="module")
def server() -> Iterator[ArticleServer]:
    srv = ArticleServer(host="127.0.0.2")
    srv.start_in_thread()
    try:
        yield srv
    finally:
        srv.stop()


def run_cli(args: list[str], tmp_path: Path, stdin: str = "", **env: str):
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "OPENAI_"))
    }
    environment.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        FETCH_ALLOWED_PRIVATE_HOSTS="127.0.0.2",
        FETCH_TIMEOUT_S="10",
        **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,  # no stray .env from the checkout
        env=environment,
        timeout=120,
    )


def test_run_without_tokens_is_the_console(server: ArticleServer, tmp_path: Path) -> None:
    url = server.url("/pages/example_article.html")
    result = run_cli(["run"], tmp_path, stdin=f"look at this <{url}> please\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Is Russia pulling back to regroup?" in out
    for speaker in ("Fomin", "Medinsky", "Zelensky", "Podolyak"):
        assert speaker in out
    assert "Popular posts" not in out
    assert "Traceback" not in result.stderr


def test_summarize_json_has_the_contract_fields(server: ArticleServer, tmp_path: Path) -> None:
    result = run_cli(["summarize", server.url("/pages/example_article.html"), "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    brief = json.loads(result.stdout)
    assert set(brief) == {
        "url", "canonical_url", "title", "site", "author", "published", "language", "mode",
        "summary", "claims", "stats", "warnings", "image", "kind", "thread",
    }  # fmt: skip
    assert brief["mode"] == "extractive"
    assert set(brief["stats"]) == {
        "article_words", "reduced_by_pct", "prompt_tokens", "completion_tokens"
    }  # fmt: skip
    assert brief["claims"]
    for claim in brief["claims"]:
        assert set(claim) == {"claim", "speaker", "source", "quote", "kind", "verified", "reason"}
        assert claim["kind"] in {"fact", "claim", "assessment", "opinion"}


def test_summarize_a_local_file(tmp_path: Path) -> None:
    result = run_cli(["summarize", str(PAGES / "example_article.html")], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Medinsky" in result.stdout


def test_extract_formats_and_out_dir(server: ArticleServer, tmp_path: Path) -> None:
    url = server.url("/pages/example_article.html")
    text = run_cli(["extract", url], tmp_path)
    assert text.returncode == 0, text.stderr
    assert "ISW:" in text.stdout and "\n> " in text.stdout
    assert "Popular posts from this blog" not in text.stdout
    as_json = run_cli(["extract", url, "--format", "json"], tmp_path)
    assert json.loads(as_json.stdout)["text"] == text.stdout.rstrip("\n")
    out = tmp_path / "out"
    many = run_cli(
        ["extract", url, str(PAGES / "sample.pdf"), "--format", "markdown", "--out", str(out)],
        tmp_path,
    )
    assert many.returncode == 0, many.stderr
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 2 and all(name.endswith(".md") for name in files)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["summarize", "http://127.0.0.1:9/admin"], "private or local address"),
        (["summarize", "http://169.254.169.254/latest/meta-data/"], "private or local address"),
        (["summarize", "ftp://example.com/x"], "http"),
        (["summarize", "no-such-file.html"], "No such file"),
        (["extract", "notes.docx"], "No such file"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_non_zero(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    result = run_cli(args, tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]
    assert "Traceback" not in result.stderr


def test_not_found_and_not_an_article(server: ArticleServer, tmp_path: Path) -> None:
    missing = run_cli(["summarize", server.url("/status/404")], tmp_path)
    assert missing.returncode == 1 and "404" in missing.stderr
    image = run_cli(["summarize", server.url("/image.png")], tmp_path)
    assert image.returncode == 1 and "isn't an article" in image.stderr


def test_unsupported_local_file(tmp_path: Path) -> None:
    doc = tmp_path / "notes.docx"
    doc.write_bytes(b"PK\x03\x04")
    result = run_cli(["summarize", str(doc)], tmp_path)
    assert result.returncode == 1
    assert ".pdf" in result.stderr and "Traceback" not in result.stderr


def test_bad_configuration_fails_at_start_naming_the_setting(tmp_path: Path) -> None:
    result = run_cli(["run"], tmp_path, SLACK_BOT_TOKEN="xoxb-test", SLACK_MODE="http")
    assert result.returncode == 3
    assert "SLACK_SIGNING_SECRET" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_discord_sync_needs_a_token(tmp_path: Path) -> None:
    result = run_cli(["discord", "sync"], tmp_path)
    assert result.returncode == 3
    assert "DISCORD_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_the_console_logs_warnings_only_unless_log_level_says_so(
    server: ArticleServer, tmp_path: Path
) -> None:
    missing = server.url("/status/404")
    quiet = run_cli(["run"], tmp_path, stdin=f"{missing}\n")
    assert quiet.returncode == 0, quiet.stderr
    assert "404" in quiet.stdout and "INFO" not in quiet.stderr
    chatty = run_cli(["run"], tmp_path, stdin=f"{missing}\n", LOG_LEVEL="INFO")
    assert "INFO bot.pipeline.service: brief failed (http_status)" in chatty.stderr
    assert "INFO" not in chatty.stdout  # logs never reach stdout


def test_summarize_json_carries_the_image_kind_and_thread(
    server: ArticleServer, tmp_path: Path
) -> None:
    result = run_cli(["summarize", server.url("/pages/reddit_thread.html"), "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    brief = json.loads(result.stdout)
    assert brief["image"] == "https://eastvale.example/img/trench.jpg"
    assert brief["kind"] == "discussion"
    assert [p["commenter"] for p in brief["thread"]] == [
        "BureaucratWatch",
        "skeptical_ratepayer",
        "hydrologist_k",
    ]
    assert all(set(p) == {"commenter", "quote", "verified", "reason"} for p in brief["thread"])


def test_a_local_file_over_the_size_cap_is_refused(server: ArticleServer, tmp_path: Path) -> None:
    page = tmp_path / "big.html"
    page.write_bytes(b"<html><body><p>" + b"word " * 4_000 + b"</p></body></html>")
    result = run_cli(["summarize", str(page)], tmp_path, FETCH_MAX_BYTES="10000")
    assert result.returncode != 0
    assert "larger than" in result.stderr and "Traceback" not in result.stderr
