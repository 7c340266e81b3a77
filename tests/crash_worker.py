"""A linkbrief process for the crash tests: the Slack front end against the test's fakes.

Run by ``tests.fault_support.CrashWorker`` as ``python -m tests.crash_worker
slack --settings '<json>' --lease-s <s>``. The settings point at the fakes the
test runs on loopback; the worker prints ``READY <port>`` (the events port) once
it takes events, then runs until SIGKILLed. (Discord has no crash recovery yet.)
"""

from __future__ import annotations

import argparse
import asyncio
import json

from bot.adapters.slack import SlackFrontEnd
from bot.app import build_app
from bot.config import load_settings


async def run(platform: str, values: dict[str, object], lease_s: float) -> None:
    settings = load_settings(None, **values)
    app = await build_app(settings)
    if platform == "slack":
        front = SlackFrontEnd(app, http_host="127.0.0.1", http_port=0)
        front.briefer.leases.lease_s = lease_s
        await front.start()
        print(f"READY {front.port}", flush=True)
        await asyncio.Event().wait()
        return
    raise SystemExit(f"no crash worker for {platform!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("platform", choices=["slack"])
    parser.add_argument("--settings", required=True, help="Settings overrides as JSON")
    parser.add_argument("--lease-s", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(run(args.platform, json.loads(args.settings), args.lease_s))


if __name__ == "__main__":
    main()
