"""Every bad setting or unreachable dependency: one line on stderr, exit status 3, naming
the setting and the fix. ``linkbrief run`` as a real process, one row per mistake."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pg_support import NEEDS_PG, PG_URL
from tests.servers.slack_api import SlackApiServer


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_url(**parts: str) -> str:
    """The test server's URL with one part (user, password, database) changed."""
    from sqlalchemy.engine import make_url

    return make_url(PG_URL).set(**parts).render_as_string(hide_password=False)


@dataclass(frozen=True)
class Mistake:
    name: str
    env: Callable[[str], dict[str, str]]  # fake Slack API base URL -> environment
    says: tuple[str, ...]  # every one of these is in the line
    marks: tuple = ()


MISTAKES = [
    Mistake(
        "postgresql-without-driver",
        lambda _: {"DATABASE_URL": "postgresql://u:hunter22@127.0.0.1:5999/db"},
        ("DATABASE_URL uses postgresql://", "postgresql+asyncpg://u:***@127.0.0.1:5999/db"),
    ),
    Mistake(
        "postgres-alias",
        lambda _: {"DATABASE_URL": "postgres://u:hunter22@db/linkbrief"},
        ("DATABASE_URL uses postgres://", "postgresql+asyncpg://"),
    ),
    Mistake(
        "sqlite-without-driver",
        lambda _: {"DATABASE_URL": "sqlite:///plain.db"},
        ("DATABASE_URL uses sqlite://", "sqlite+aiosqlite:///plain.db"),
    ),
    Mistake(
        "not-a-url",
        lambda _: {"DATABASE_URL": "garbage"},
        ("DATABASE_URL 'garbage' is not a database URL", "sqlite+aiosqlite:///"),
    ),
    Mistake(
        "mysql",
        lambda _: {"DATABASE_URL": "mysql://u:hunter22@db/x"},
        ("DATABASE_URL uses mysql://", "postgresql+asyncpg://"),
    ),
    Mistake(
        "postgres-not-listening",
        lambda _: {"DATABASE_URL": f"postgresql+asyncpg://u:hunter22@127.0.0.1:{closed_port()}/db"},
        ("DATABASE_URL", "cannot reach PostgreSQL at 127.0.0.1:", "start the server"),
    ),
    Mistake(
        "postgres-host-unknown",
        lambda _: {"DATABASE_URL": "postgresql+asyncpg://u:hunter22@no-such-host.invalid/db"},
        ("DATABASE_URL", "cannot find the database host 'no-such-host.invalid'"),
    ),
    Mistake(
        "sqlite-file-cannot-be-made",
        lambda _: {"DATABASE_URL": "sqlite+aiosqlite:////proc/linkbrief/none/x.db"},
        ("DATABASE_URL", "cannot open the SQLite file", "writable directory"),
    ),
    Mistake(
        "postgres-unknown-user",  # the test server trusts loopback: passwords are not asked
        lambda _: {"DATABASE_URL": pg_url(username="no_such_user", password="wrong-password")},
        ("DATABASE_URL", "check the user and password"),
        (NEEDS_PG,),
    ),
    Mistake(
        "postgres-no-such-database",
        lambda _: {"DATABASE_URL": pg_url(database="linkbrief_missing")},
        ("DATABASE_URL", "no database 'linkbrief_missing'", "createdb"),
        (NEEDS_PG,),
    ),
    Mistake(
        "discord-unreachable",
        lambda _: {
            "DISCORD_TOKEN": "x",
            "DISCORD_API_BASE_URL": f"http://127.0.0.1:{closed_port()}/api/v10",
        },
        ("cannot reach Discord at http://127.0.0.1:", "DISCORD_API_BASE_URL"),
    ),
    Mistake(
        "slack-unreachable",
        lambda _: {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_APP_TOKEN": "xapp-1",
            "SLACK_API_BASE_URL": f"http://127.0.0.1:{closed_port()}/api/",
        },
        ("cannot reach Slack at http://127.0.0.1:", "SLACK_API_BASE_URL"),
    ),
    Mistake(
        "slack-token-refused",
        lambda api: {
            "SLACK_BOT_TOKEN": "xoxb-not-the-right-one",
            "SLACK_APP_TOKEN": "xapp-1",
            "SLACK_API_BASE_URL": api,
        },
        ("Slack rejected SLACK_BOT_TOKEN (invalid_auth)", "OAuth & Permissions"),
    ),
    Mistake(
        "slack-tokens-swapped",
        lambda _: {"SLACK_BOT_TOKEN": "xapp-1-A", "SLACK_APP_TOKEN": "xoxb-1"},
        ("SLACK_BOT_TOKEN should start with xoxb- but starts with xapp-",),
    ),
    Mistake(
        "model-url-without-scheme",
        lambda _: {"OPENAI_BASE_URL": "localhost:11434/v1"},
        ("OPENAI_BASE_URL 'localhost:11434/v1' is not a http/https URL", "https://"),
    ),
    Mistake(
        "port-not-a-number",
        lambda _: {"SLACK_HTTP_PORT": "abc"},
        ("SLACK_HTTP_PORT", "valid integer", "'abc'"),
    ),
    Mistake(
        "http-mode-without-secret",
        lambda _: {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_MODE": "http"},
        ("SLACK_SIGNING_SECRET is required when SLACK_MODE=http",),
    ),
]


async def run_linkbrief(tmp_path: Path, env: dict[str, str]) -> tuple[int, str, str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "OPENAI_", "DATABASE_", "LOG_"))
    }
    environment["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'ok.db'}"
    environment.update(env)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,  # no stray .env
        env=environment,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize(
    "mistake",
    [pytest.param(m, id=m.name, marks=m.marks) for m in MISTAKES],
)
async def test_a_mistake_is_one_line_and_exit_3(tmp_path: Path, mistake: Mistake) -> None:
    async with SlackApiServer() as slack_api:
        status, out, err = await run_linkbrief(tmp_path, mistake.env(slack_api.url))
    lines = [line for line in err.splitlines() if not line.startswith(("INFO ", "WARNING "))]
    assert status == 3, err
    assert len(lines) == 1, err
    [line] = lines
    assert line.startswith("linkbrief: ")
    for words in mistake.says:
        assert words in line, line
    assert "hunter22" not in err and "wrong-password" not in err  # no password echoed
    assert "Traceback" not in err and out == ""
    assert "PyNaCl" not in err and "davey" not in err  # voice is never used: no warning
