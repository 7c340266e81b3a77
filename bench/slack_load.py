"""Load benchmark for the Slack front end in HTTP mode, against local fakes only.

    .venv/bin/python bench/slack_load.py --rate 50 --seconds 10 --json out.json

Starts the fake Slack Web API, the article server (127.0.0.2) and the scripted
chat server in this process, and the bot as a subprocess (``python -m bot run``,
HTTP mode, its own SQLite file), then sends ``rate`` signed ``message`` events
per second, each with a distinct link, and reports:

* ack latency: from sending the event to the bot's HTTP 200 (target: p99 < 300 ms);
* time to placeholder: from sending to the fake API receiving ``chat.postMessage``;
* time to brief: from sending to the fake API receiving the ``chat.update``.

Distinct links mean every event costs a real fetch, extraction and model call
(the chat server answers at once, or after ``--llm-delay`` seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    CHANNEL,
    PAGE,
    bot_env,
    delayed_brief,
    free_port,
    percentile,
    start_bot,
    stop_bot,
    wait_ready,
)
from tests.servers.article_server import ArticleServer  # noqa: E402
from tests.servers.chat_server import ChatServer  # noqa: E402
from tests.servers.slack_api import SlackApiServer  # noqa: E402
from tests.slack_helpers import event_body, message_event, signed_headers  # noqa: E402


def summary(values_s: list[float]) -> dict[str, float | int | None]:
    ms = [v * 1000 for v in values_s]
    return {
        "count": len(ms),
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else None,
        "mean_ms": statistics.fmean(ms) if ms else None,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    total = int(args.rate * args.seconds)
    sent_at: dict[str, float] = {}  # event ts -> monotonic send time
    acks: list[float] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="slack-bench-") as tmp:
        workdir = Path(os.environ.get("BENCH_WORKDIR") or tmp)
        async with SlackApiServer() as api, ArticleServer(host="127.0.0.2") as articles:
            chat = ChatServer(default=delayed_brief(args.llm_delay))
            await chat.start()
            port = free_port()
            chat_url = None if args.extractive else chat.base_url
            bot = start_bot(workdir, bot_env(workdir, port, api.url, chat_url, {}))
            url = f"http://127.0.0.1:{port}/slack/events"
            connector = aiohttp.TCPConnector(limit=200)
            try:
                async with aiohttp.ClientSession(connector=connector) as http:
                    await wait_ready(http, url, bot)

                    async def send(i: int) -> None:
                        link = articles.url(PAGE if args.same_link else f"{PAGE}?n={i}")
                        event = message_event(f"bench <{link}>", channel=CHANNEL)
                        raw = json.dumps(event_body(event))
                        headers = signed_headers(raw, {"Content-Type": "application/json"})
                        started = time.monotonic()
                        sent_at[event["ts"]] = started
                        try:
                            async with http.post(url, data=raw, headers=headers) as resp:
                                await resp.read()
                                if resp.status != 200:
                                    failures.append(f"HTTP {resp.status}")
                                    return
                        except aiohttp.ClientError as exc:
                            failures.append(type(exc).__name__)
                            return
                        acks.append(time.monotonic() - started)

                    t0 = time.monotonic()
                    tasks = []
                    for i in range(total):
                        delay = t0 + i / args.rate - time.monotonic()
                        if delay > 0:
                            await asyncio.sleep(delay)
                        tasks.append(asyncio.create_task(send(i)))
                    await asyncio.gather(*tasks)
                    send_span = time.monotonic() - t0

                    def done() -> bool:
                        return len(api.calls_to("chat.update")) >= len(acks)

                    with contextlib.suppress(TimeoutError):  # reported as missing briefs
                        await api.wait_for(done, timeout=args.drain_timeout)
            finally:
                stop_bot(bot)
                await chat.close()

            placeholder_ts: dict[str, str] = {}  # placeholder ts -> event ts
            to_placeholder: list[float] = []
            for call in api.calls_to("chat.postMessage"):
                event_ts = str(call.params.get("thread_ts"))
                if event_ts in sent_at:
                    to_placeholder.append(call.at - sent_at[event_ts])
            for (_channel, ts), message in api.messages.items():
                if message.get("thread_ts") in sent_at:
                    placeholder_ts[ts] = message["thread_ts"]
            to_brief = [
                call.at - sent_at[placeholder_ts[str(call.params["ts"])]]
                for call in api.calls_to("chat.update")
                if str(call.params.get("ts")) in placeholder_ts
            ]
            updates = api.calls_to("chat.update")
            errors = sum(1 for c in updates if str(c.params.get("text", "")).startswith("⚠"))
            return {
                "rate_per_s": args.rate,
                "seconds": args.seconds,
                "summarizer": "extractive" if args.extractive else "llm (local scripted server)",
                "llm_delay_s": args.llm_delay,
                "links": "one shared link" if args.same_link else "distinct per event",
                "events_sent": total,
                "send_span_s": round(send_span, 3),
                "acked": len(acks),
                "ack_failures": failures[:20],
                "ack": summary(acks),
                "to_placeholder": summary(to_placeholder),
                "to_brief": summary(to_brief),
                "briefs_posted": len(to_brief),
                "error_replies": errors,
                "api_429s": sum(1 for c in api.calls if c.status == 429),
                "cpu_count": os.cpu_count(),
            }


def print_table(result: dict[str, Any]) -> None:
    print(
        f"{result['events_sent']} events at {result['rate_per_s']}/s for {result['seconds']} s "
        f"(summarizer: {result['summarizer']}); acked {result['acked']}, "
        f"briefs posted {result['briefs_posted']} ({result['error_replies']} error replies)"
    )
    print(f"{'metric':<16}{'count':>7}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name in ("ack", "to_placeholder", "to_brief"):
        row = result[name]

        def fmt(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f}"

        print(
            f"{name:<16}{row['count']:>7}{fmt(row['p50_ms']):>10}"
            f"{fmt(row['p99_ms']):>10}{fmt(row['max_ms']):>10}"
        )
    p99 = result["ack"]["p99_ms"]
    verdict = "PASS" if p99 is not None and p99 < 300 else "FAIL"
    print(f"target p99 ack < 300 ms: {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50, help="events per second")
    parser.add_argument("--seconds", type=float, default=10, help="how long to send")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--llm-delay", type=float, default=0.0, help="model answer delay (s)")
    parser.add_argument("--extractive", action="store_true", help="no model: extractive briefs")
    parser.add_argument(
        "--same-link", action="store_true", help="one link for all events (cache hits)"
    )
    parser.add_argument("--drain-timeout", type=float, default=180, help="wait for briefs (s)")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
