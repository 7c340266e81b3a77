"""Acknowledgement time while the database is locked: what the ack budget buys.

    .venv/bin/python bench/ack_locked_store.py [--lock-s 4] [--events 5] [--json out.json]

An in-process Slack front end (HTTP mode, real bolt app, a SQLite file) and the
local fakes. Another connection takes SQLite's write lock and holds it for
``--lock-s`` (what a backup tool or an operator's shell does); meanwhile
``--events`` signed message events are sent one after another, and each one's
time to HTTP 200 is recorded. Run twice in one process: with the delivery
core's ack budget (``ACK_BUDGET_S``, the acknowledgement stops waiting for the
accept write) and without it (the acknowledgement waits for the write). Slack
retries an event it has not seen acknowledged within 3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import machine, write_json
from bot.delivery.delivery import ACK_BUDGET_S
from tests.slack_helpers import SlackStack, event_body, message_event


def hold_lock(path: Path, seconds: float, taken: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        taken.set()
        threading.Event().wait(seconds)
        conn.execute("ROLLBACK")
    finally:
        conn.close()


async def measure(budget_s: float, lock_s: float, events: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        async with SlackStack(Path(tmp), summarizer="extractive") as stack:
            assert stack.front is not None
            stack.front.delivery.ack_budget_s = budget_s
            taken = threading.Event()
            locker = threading.Thread(
                target=hold_lock, args=(Path(tmp) / "linkbrief.db", lock_s, taken)
            )
            locker.start()
            await asyncio.to_thread(taken.wait, 5)
            times = []
            for n in range(events):
                body = event_body(message_event(f"<{stack.article_url()}?n={n}>"))
                started = time.monotonic()
                status, _ = await stack.post_event(body)
                times.append(time.monotonic() - started)
                assert status == 200
            await asyncio.to_thread(locker.join)
            await stack.drain()
    return times


async def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"machine": machine(), "lock_s": args.lock_s}
    for name, budget in (("with_budget", ACK_BUDGET_S), ("without_budget", 3600.0)):
        ms = [round(t * 1000, 1) for t in await measure(budget, args.lock_s, args.events)]
        result[name] = {"ack_ms": ms, "max_ms": max(ms), "over_3s": sum(m > 3000 for m in ms)}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock-s", type=float, default=4.0, help="how long the lock is held")
    parser.add_argument("--events", type=int, default=5, help="events sent while locked")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    for name in ("with_budget", "without_budget"):
        r = result[name]
        print(f"{name}: ack ms {r['ack_ms']} (over Slack's 3 s: {r['over_3s']})")
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
