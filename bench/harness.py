"""Shared machinery of the Slack benchmarks: fakes on loopback, the bot as a subprocess.

``SlackRig`` starts the fake Slack Web API (127.0.0.1), the article server
(127.0.0.2, so the fetcher's SSRF guard is really exercised), the scripted chat
server with a set model latency, and ``python -m bot run`` in Slack HTTP mode
with its own SQLite file. ``rig.send(link)`` posts one signed ``message`` event
and records the acknowledgement; ``rig.timings()`` joins the fake API's log
back to the events: time to placeholder and time to the brief (``chat.update``).

Also here: machine facts for every report (``machine()``), distributions
(``dist``), peak RSS of a process (``peak_rss_mb``) and the JSON writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.servers.article_server import ArticleServer  # noqa: E402
from tests.servers.chat_server import ChatServer, Reply, brief_from_article  # noqa: E402
from tests.servers.slack_api import BOT_TOKEN, SlackApiServer  # noqa: E402
from tests.slack_helpers import (  # noqa: E402
    SIGNING_SECRET,
    event_body,
    message_event,
    signed_headers,
)

CHANNEL = "CBENCH001"
PAGE = "/pages/example_article.html"
READY_TIMEOUT_S = 60.0


# --- facts and figures --------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What every report states about where it ran (load average taken now: call it first)."""
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = "?"
    with contextlib.suppress(OSError):
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "loadavg_at_start": load,
        "python": platform.python_version(),
    }


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (no interpolation: every figure is a measured value)."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def dist(values_s: list[float]) -> dict[str, float | int | None]:
    """Count, p50/p95/p99, max and mean of durations given in seconds, reported in ms."""
    ms = [v * 1000 for v in values_s]

    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return {
        "count": len(ms),
        "p50_ms": r(percentile(ms, 50)),
        "p95_ms": r(percentile(ms, 95)),
        "p99_ms": r(percentile(ms, 99)),
        "max_ms": r(max(ms)) if ms else None,
        "mean_ms": r(statistics.fmean(ms)) if ms else None,
    }


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_dists(rows: dict[str, dict[str, Any]], columns: tuple[str, ...]) -> None:
    """A small table: one row per distribution, the given ``*_ms`` columns."""
    print(
        f"{'':<22}{'count':>7}" + "".join(f"{c.removesuffix('_ms') + ' ms':>11}" for c in columns)
    )
    for name, row in rows.items():
        print(f"{name:<22}{row['count']:>7}" + "".join(f"{fmt(row[c]):>11}" for c in columns))


def write_json(path: Path | None, result: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"written: {path}")


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set size so far (``VmHWM``), in MB; None once it is gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def baseline_tree(value: str | None) -> Path | None:
    """``--baseline DIR``: a checkout holding ``bot/`` (and its prompts) as they were before."""
    if value is None:
        return None
    root = Path(value).resolve()
    if not (root / "bot" / "__main__.py").is_file():
        raise SystemExit(f"--baseline {value}: no bot/__main__.py there")
    return root


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def delayed_brief(delay_s: float) -> Any:
    """The chat server's default answer (a valid brief of the prompt's article) after a delay."""
    if delay_s <= 0:
        return brief_from_article

    def answer(body: dict[str, Any]) -> Reply:
        reply = brief_from_article(body)
        reply.delay = delay_s
        return reply

    return answer


# --- the bot as a subprocess ----------------------------------------------------------


def bot_env(
    workdir: Path,
    port: int,
    api_url: str,
    chat_url: str | None,
    extra: dict[str, str],
    bot_root: Path = ROOT,
) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(bot_root),  # another checkout: a "before" bot in the same run
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_MODE": "http",
        "SLACK_HTTP_PORT": str(port),
        "SLACK_API_BASE_URL": api_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
        "FETCH_ALLOWED_PRIVATE_HOSTS": "127.0.0.2",
        "LOG_LEVEL": os.environ.get("BENCH_BOT_LOG_LEVEL", "WARNING"),
        # The benches measure the briefing path, not the per-user and per-channel rate limits,
        # which would (rightly) refuse one user's 200 links an hour.
        "RATE_LIMIT_USER_PER_HOUR": "0",
        "RATE_LIMIT_CHANNEL_PER_HOUR": "0",
    }
    if chat_url is None:
        env["SUMMARIZER"] = "extractive"
    else:
        env |= {"SUMMARIZER": "llm", "OPENAI_BASE_URL": chat_url, "OPENAI_API_KEY": "sk-bench-0"}
    return env | extra


def start_bot(workdir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``python -m bot run`` in its own process group.

    ``BENCH_BOT_PREFIX`` goes before the interpreter (``py-spy record -o p.txt --``),
    ``BENCH_BOT_WRAPPER`` after it (``-X importtime``).
    """
    log = (workdir / "bot.log").open("wb")
    prefix = os.environ.get("BENCH_BOT_PREFIX", "").split()
    wrapper = os.environ.get("BENCH_BOT_WRAPPER", "").split()
    return subprocess.Popen(
        [*prefix, sys.executable, *wrapper, "-m", "bot", "run"],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,  # so Ctrl-C reaches a profiler and the bot under it alike
    )


def stop_bot(bot: subprocess.Popen[bytes]) -> None:
    if bot.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(bot.pid, signal.SIGINT)  # Ctrl-C: the bot shuts down cleanly
    try:
        bot.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(bot.pid, signal.SIGKILL)
        bot.wait()


async def wait_ready(http: aiohttp.ClientSession, url: str, bot: subprocess.Popen[bytes]) -> None:
    """Until the bot answers a signed ``url_verification`` (the port is up and bolt too)."""
    body = json.dumps({"type": "url_verification", "challenge": "ready", "token": "t"})
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if bot.poll() is not None:
            raise RuntimeError(f"the bot exited with status {bot.returncode}")
        headers = signed_headers(body, {"Content-Type": "application/json"})
        with contextlib.suppress(aiohttp.ClientError):
            async with http.post(url, data=body, headers=headers) as resp:
                if resp.status == 200:
                    return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the bot did not come up within {READY_TIMEOUT_S:.0f} s")


# --- the rig ------------------------------------------------------------------------


class SlackRig:
    """Fakes plus the bot; ``send`` events, then read ``timings``. Use as ``async with``."""

    def __init__(
        self,
        *,
        llm_delay_s: float = 0.0,
        llm: bool = True,
        env: dict[str, str] | None = None,
        bot_root: Path = ROOT,
    ) -> None:
        self.bot_root = bot_root
        self.llm_delay_s = llm_delay_s
        self.llm = llm
        self.extra_env = env or {}
        self.api = SlackApiServer()
        self.articles = ArticleServer(host="127.0.0.2")
        self.chat = ChatServer(default=delayed_brief(llm_delay_s))
        self.sent_at: dict[str, float] = {}  # event ts -> monotonic send time
        self.acks: list[float] = []
        self.failures: list[str] = []
        self.bot: subprocess.Popen[bytes] | None = None
        self.events_url = ""
        self._stack = contextlib.AsyncExitStack()
        self._http: aiohttp.ClientSession | None = None

    @property
    def http(self) -> aiohttp.ClientSession:
        assert self._http is not None, "use the rig inside 'async with'"
        return self._http

    async def __aenter__(self) -> SlackRig:
        stack = self._stack
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="linkbrief-bench-"))
        workdir = Path(tmp)
        if os.environ.get("BENCH_WORKDIR"):  # keep the bot's log and database for a look
            workdir = Path(os.environ["BENCH_WORKDIR"]) / Path(tmp).name
            workdir.mkdir(parents=True)
        await stack.enter_async_context(self.api)
        await stack.enter_async_context(self.articles)
        await stack.enter_async_context(self.chat)
        port = free_port()
        chat_url = self.chat.base_url if self.llm else None
        env = bot_env(workdir, port, self.api.url, chat_url, self.extra_env, self.bot_root)
        self.bot = start_bot(workdir, env)
        stack.callback(stop_bot, self.bot)
        connector = aiohttp.TCPConnector(limit=400)
        self._http = await stack.enter_async_context(aiohttp.ClientSession(connector=connector))
        self.events_url = f"http://127.0.0.1:{port}/slack/events"
        self.started = time.monotonic()
        await wait_ready(self.http, self.events_url, self.bot)
        self.ready_s = time.monotonic() - self.started
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    def link(self, n: int | None) -> str:
        """A distinct link per ``n`` (a fetch, extraction and model call each); None: one page."""
        return self.articles.url(PAGE if n is None else f"{PAGE}?n={n}")

    async def send(self, link: str) -> str:
        """Post one signed message event with ``link``; returns the event's ts."""
        event = message_event(f"bench <{link}>", channel=CHANNEL)
        raw = json.dumps(event_body(event))
        headers = signed_headers(raw, {"Content-Type": "application/json"})
        started = time.monotonic()
        self.sent_at[event["ts"]] = started
        try:
            async with self.http.post(self.events_url, data=raw, headers=headers) as resp:
                await resp.read()
                if resp.status != 200:
                    self.failures.append(f"HTTP {resp.status}")
                    return str(event["ts"])
        except aiohttp.ClientError as exc:
            self.failures.append(type(exc).__name__)
            return str(event["ts"])
        self.acks.append(time.monotonic() - started)
        return str(event["ts"])

    def briefs_posted(self) -> int:
        return len(self.api.calls_to("chat.update"))

    async def wait_briefs(self, count: int, timeout_s: float) -> bool:
        """Until ``count`` briefs are posted in all; False on timeout (reported as missing)."""
        try:
            await self.api.wait_for(lambda: self.briefs_posted() >= count, timeout=timeout_s)
        except TimeoutError:
            return False
        return True

    def timings(self) -> dict[str, dict[str, float]]:
        """Per event ts: seconds from sending to its placeholder and to its brief."""
        out: dict[str, dict[str, float]] = {}
        placeholder_of: dict[str, str] = {}  # placeholder ts -> event ts
        posts = self.api.calls_to("chat.postMessage")
        for call in posts:
            event_ts = str(call.params.get("thread_ts"))
            if event_ts in self.sent_at:
                out.setdefault(event_ts, {})["placeholder"] = call.at - self.sent_at[event_ts]
        for (_channel, ts), message in self.api.messages.items():
            if message.get("thread_ts") in self.sent_at:
                placeholder_of[ts] = message["thread_ts"]
        for call in self.api.calls_to("chat.update"):
            event_ts = placeholder_of.get(str(call.params.get("ts")))
            if event_ts is not None:
                out.setdefault(event_ts, {})["brief"] = call.at - self.sent_at[event_ts]
        return out

    def error_replies(self) -> int:
        updates = self.api.calls_to("chat.update")
        return sum(1 for c in updates if str(c.params.get("text", "")).startswith("⚠"))
