"""Startup time of ``linkbrief run``: until it is ready, in console and in Slack HTTP mode.

    .venv/bin/python bench/startup.py [--runs 5] [--json out.json]

* **console**: no chat tokens; stdin is a terminal (a pty), so the console
  prints its prompt once it reads input: ready is that prompt on stdout.
* **slack http**: ``SLACK_MODE=http`` against the fake Web API; ready is the
  port accepting a TCP connection.

Each run is a fresh process with a fresh SQLite file (migrations included).
Target: under 2 s. Also lists the slowest imports of one run (``-X importtime``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pty
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, bot_env, free_port, machine, write_json
from bot.adapters.console import PROMPT
from tests.servers.slack_api import SlackApiServer

TIMEOUT_S = 30.0


def base_env(workdir: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'startup.db'}",
        "SUMMARIZER": "extractive",
        "LOG_LEVEL": "WARNING",
    }


def stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def console_once(extra: list[str] | None = None) -> tuple[float, str]:
    """Seconds until the console prompt appears; and stderr (importtime output)."""
    with tempfile.TemporaryDirectory(prefix="linkbrief-startup-") as tmp:
        master, slave = pty.openpty()
        # stderr to a file: -X importtime writes more than a pipe holds unread.
        err_path = Path(tmp) / "stderr.txt"
        err_file = err_path.open("wb")
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, *(extra or []), "-m", "bot", "run"],
            cwd=tmp,
            env=base_env(Path(tmp)),
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=err_file,
        )
        os.close(slave)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()  # blocks until the prompt (or exit)
            ready = time.monotonic() - started
            if PROMPT not in line.decode(errors="replace"):
                raise RuntimeError(f"unexpected console output: {line!r}")
            os.write(master, b"\x04")  # Ctrl-D: end of input
            proc.communicate(timeout=10)
        finally:
            os.close(master)
            err_file.close()
            if proc.poll() is None:
                stop(proc)
        return ready, err_path.read_text(errors="replace")


async def slack_http_once(api: SlackApiServer) -> float:
    """Seconds until the Slack HTTP port accepts a connection."""
    with tempfile.TemporaryDirectory(prefix="linkbrief-startup-") as tmp:
        port = free_port()
        env = bot_env(Path(tmp), port, api.url, None, {})
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=tmp,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while time.monotonic() - started < TIMEOUT_S:
                if proc.poll() is not None:
                    raise RuntimeError(f"the bot exited with status {proc.returncode}")
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", port), timeout=0.2),
                ):
                    return time.monotonic() - started
                await asyncio.sleep(0.01)
            raise RuntimeError("the Slack HTTP port never opened")
        finally:
            stop(proc)


def slowest_imports(importtime: str, count: int = 8) -> list[tuple[str, float]]:
    """Top-level packages by cumulative import time (ms) from ``-X importtime``."""
    rows: list[tuple[str, float]] = []
    for line in importtime.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        with contextlib.suppress(ValueError):
            name = parts[2]
            if not name.startswith(" ") and "." not in name.strip():
                rows.append((name.strip(), int(parts[1]) / 1000))
    return sorted(rows, key=lambda r: -r[1])[:count]


def spread(values: list[float]) -> dict[str, float]:
    return {
        "runs": len(values),
        "median_s": round(statistics.median(values), 3),
        "max_s": round(max(values), 3),
    }


async def slack_runs(runs: int) -> list[float]:
    async with SlackApiServer() as api:
        return [await slack_http_once(api) for _ in range(runs)]


def run(args: argparse.Namespace) -> dict[str, Any]:
    facts = machine()
    console = [console_once()[0] for _ in range(args.runs)]
    _, importtime = console_once(["-X", "importtime"])
    slack = asyncio.run(slack_runs(args.runs))
    return {
        "machine": facts,
        "console": spread(console),
        "slack_http": spread(slack),
        "slowest_imports_ms (console run, cumulative)": slowest_imports(importtime),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per mode")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    result = run(args)
    m = result["machine"]
    print(f"machine: {m['nproc']} × {m['cpu_model']}, load {m['loadavg_at_start']}")
    for mode in ("console", "slack_http"):
        r = result[mode]
        verdict = "PASS" if r["max_s"] < 2 else "FAIL"
        print(
            f"{mode:<11} ready: median {r['median_s']:.2f} s, max {r['max_s']:.2f} s "
            f"over {r['runs']} runs (target < 2 s: {verdict})"
        )
    print("slowest top-level imports (ms, cumulative):")
    for name, ms in result["slowest_imports_ms (console run, cumulative)"]:
        print(f"  {name:<24}{ms:8.1f}")
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
