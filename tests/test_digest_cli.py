"""`linkbrief digest …` as a script would run it: a real subprocess, a real database,
the feed server on loopback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.digest_support import DB_PARAMS, PG_URL, ROOT, items, reset_postgres
from tests.servers.feed_server import RSS, FeedServer, rss_feed


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    srv = FeedServer()
    srv.start_in_thread()
    now = datetime.now(UTC)
    srv.set_feed("a", rss_feed("Outlet A", srv.url("/"), items("a", 3, now), srv.base_url), RSS)
    yield srv
    srv.stop()


@pytest.fixture(params=DB_PARAMS)
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    if request.param == "postgresql":
        await reset_postgres(PG_URL)
        url = PG_URL
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    keep = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "OPENAI_"))
    }
    return {
        **keep,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": url,
        "FETCH_ALLOWED_PRIVATE_HOSTS": "127.0.0.1",
        "SUMMARIZER": "extractive",
    }


def cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "digest", *args],
        env=env,
        cwd=cwd,  # no .env here
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_add_list_preview_run_now(env: dict[str, str], server: FeedServer, tmp_path: Path) -> None:
    feed = server.url("/feeds/a")
    added = cli(env, tmp_path, "add", "--channel", "slack:C123", feed)
    assert added.returncode == 0, added.stderr
    assert "Following Outlet A" in added.stdout and "3 items" in added.stdout

    listed = cli(env, tmp_path, "list", "--channel", "slack:C123")
    assert listed.returncode == 0 and feed in listed.stdout and "ok, polled" in listed.stdout
    everything = cli(env, tmp_path, "list")
    assert everything.returncode == 0 and "slack:C123" in everything.stdout

    preview = cli(env, tmp_path, "preview", "--channel", "slack:C123")
    assert preview.returncode == 0, preview.stderr
    assert preview.stdout.startswith("# Daily digest — ")
    assert preview.stdout.count("**[") == 3
    as_slack = cli(env, tmp_path, "preview", "--channel", "slack:C123", "--format", "slack")
    assert json.loads(as_slack.stdout)["blocks"][0]["type"] == "header"

    first = cli(env, tmp_path, "run-now", "--channel", "slack:C123")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("# Daily digest — ")
    assert "printed here (no Slack connection for slack:C123)" in first.stderr
    # Today's digest went out: a second run-now does not send it again.
    second = cli(env, tmp_path, "run-now", "--channel", "slack:C123")
    assert second.returncode == 0 and second.stdout == ""
    assert re.search(r": already printed today at \d\d:\d\d — nothing sent$", second.stderr.strip())

    assert (
        cli(env, tmp_path, "time", "--channel", "slack:C123", "07:15", "Asia/Tokyo").returncode == 0
    )
    assert "07:15 Asia/Tokyo" in cli(env, tmp_path, "list", "--channel", "slack:C123").stdout
    removed = cli(env, tmp_path, "remove", "--channel", "slack:C123", feed)
    assert removed.returncode == 0 and "Stopped following" in removed.stdout


def test_mistakes_exit_non_zero_with_one_line(env: dict[str, str], tmp_path: Path) -> None:
    no_channel = cli(env, tmp_path, "add", "https://example.org/feed")
    assert no_channel.returncode == 2  # a usage error
    assert (
        no_channel.stderr.strip().count("\n") == 0 and "--channel slack:C123" in no_channel.stderr
    )
    assert "Traceback" not in no_channel.stderr
    bad_time = cli(env, tmp_path, "time", "--channel", "discord:42", "25:99")
    assert bad_time.returncode == 1 and "not a time" in bad_time.stdout
    unknown = cli(env, tmp_path, "run-now", "--channel", "slack:NOPE")
    assert unknown.returncode != 0 and "has no digest" in unknown.stderr


def test_language_sets_the_digest_language(
    env: dict[str, str], server: FeedServer, tmp_path: Path
) -> None:
    shown = cli(env, tmp_path, "language", "--channel", "slack:C9")
    assert (
        shown.returncode == 0 and shown.stdout.strip() == "This channel's language is English (en)."
    )
    assert (
        cli(env, tmp_path, "add", "--channel", "slack:C9", server.url("/feeds/a")).returncode == 0
    )
    chosen = cli(env, tmp_path, "language", "--channel", "slack:C9", "DE")
    assert chosen.returncode == 0
    assert chosen.stdout.strip() == "Die Sprache dieses Kanals ist jetzt Deutsch (de)."
    preview = cli(env, tmp_path, "preview", "--channel", "slack:C9")
    assert preview.stdout.startswith("# Tages-Digest — "), preview.stdout
    assert "_3 Meldungen_" in preview.stdout
    bad = cli(env, tmp_path, "language", "--channel", "slack:C9", "klingon")
    assert bad.returncode == 1
    assert "Unbekannte Sprache „klingon“" in bad.stdout and "en, de, fr, es, ru" in bad.stdout
    back = cli(env, tmp_path, "language", "--channel", "slack:C9", "default")
    assert back.stdout.strip() == "This channel's language is now English (en)."
    assert cli(env, tmp_path, "preview", "--channel", "slack:C9").stdout.startswith(
        "# Daily digest"
    )
