"""A linkbrief process for the crash tests: a chat front end against the test's fakes.

Run by ``tests.fault_support.CrashWorker`` as ``python -m tests.crash_worker
<slack|discord> --settings '<json>' --lease-s <s>``. The settings point at the
fakes the test runs on loopback. Slack: the worker prints ``READY <port>`` (the
events port) once it takes events. Discord: the real discord.py bot, ``READY 0``
once its gateway session is ready (events come from the fake's gateway). Either
runs until SIGKILLed.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from bot.app import App, build_app, build_discord, build_slack
from bot.config import load_settings


async def run(platform: str, values: dict[str, object], lease_s: float) -> None:
    settings = load_settings(None, **values)
    app = await build_app(settings)
    if platform == "slack":
        front = await build_slack(app, http_host="127.0.0.1", http_port=0, lease_s=lease_s)
        await front.start()
        print(f"READY {front.port}", flush=True)
        await asyncio.Event().wait()
        return
    if platform == "discord":
        await run_discord_bot(app, lease_s)
        return
    raise SystemExit(f"no crash worker for {platform!r}")


async def run_discord_bot(app: App, lease_s: float) -> None:
    bot = build_discord(app, lease_s=lease_s).bot
    assert app.settings.discord_token is not None
    async with bot:
        runner = asyncio.create_task(bot.start(app.settings.discord_token.get_secret_value()))
        while not bot.is_ready():
            if runner.done():
                runner.result()  # surfaces the start-up error
                raise SystemExit("the Discord bot stopped before it was ready")
            await asyncio.sleep(0.05)
        print("READY 0", flush=True)
        await runner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("platform", choices=["slack", "discord"])
    parser.add_argument("--settings", required=True, help="Settings overrides as JSON")
    parser.add_argument("--lease-s", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(run(args.platform, json.loads(args.settings), args.lease_s))


if __name__ == "__main__":
    main()
