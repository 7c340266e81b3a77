"""The bot's own work per link, beside the floor no bot can go under (Slack HTTP mode).

    .venv/bin/python bench/own_work.py [--links 40] [--json out.json]

Model latency 0 and the page served on loopback, so what is left is the bot's
own time. One link at a time (a latency figure, not a throughput one), and in
the same run, alternating link by link:

* **bot**: a signed ``message`` event with a new link, timed from sending it to
  the fake Slack API receiving the brief (``chat.update``);
* **floor**: a bare script doing only the round trips no bot can avoid, one
  after another against the same fakes: ``chat.postMessage`` (placeholder),
  fetching the page, ``trafilatura.extract`` (the extraction library's own
  cost), the model call (same prompt shape and article), ``chat.update``.

Reported: p50 and p95 of each, and bot ÷ floor (target: at most 1.5×). With
``--baseline DIR`` a second bot from that checkout is timed on every link too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    CHANNEL,
    ROOT,
    SlackRig,
    baseline_tree,
    dist,
    machine,
    print_dists,
    write_json,
)
from tests.servers.slack_api import BOT_TOKEN

WARMUP = 3
PER_LINK_TIMEOUT_S = 10.0


async def bot_once(rig: SlackRig, link: str) -> float:
    before = rig.briefs_posted()
    ts = await rig.send(link)
    if not await rig.wait_briefs(before + 1, PER_LINK_TIMEOUT_S):
        raise RuntimeError("the bot posted no brief within the timeout")
    return rig.timings()[ts]["brief"]


async def floor_once(rig: SlackRig, http: aiohttp.ClientSession, link: str) -> float:
    """The unavoidable round trips plus trafilatura, one after another, timed like the bot."""
    auth = {"Authorization": f"Bearer {BOT_TOKEN}"}
    api = rig.api.url.rstrip("/")
    started = time.monotonic()
    async with http.post(
        f"{api}/chat.postMessage",
        json={"channel": CHANNEL, "thread_ts": "1.000001", "text": "Reading…"},
        headers=auth,
    ) as resp:
        placeholder = (await resp.json())["ts"]
    async with http.get(link) as resp:
        html = await resp.read()
    text = trafilatura.extract(html) or ""
    boundary = secrets.token_hex(8)
    prompt = f"<<<ARTICLE {boundary}>>>\n{text}\n<<<END ARTICLE {boundary}>>>"
    async with http.post(
        f"{rig.chat.base_url}/chat/completions",
        json={"model": "bench", "messages": [{"role": "user", "content": prompt}]},
    ) as resp:
        reply = await resp.json()
    brief = json.loads(reply["choices"][0]["message"]["content"])
    async with http.post(
        f"{api}/chat.update",
        json={"channel": CHANNEL, "ts": placeholder, "text": brief["summary"]},
        headers=auth,
    ) as resp:
        await resp.read()
    return rig.api.calls_to("chat.update")[-1].at - started


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Floor, then the bot (and the ``--baseline`` bot), link by link, in one run."""
    facts = machine()
    roots = {"after": ROOT}
    baseline = baseline_tree(args.baseline)
    if baseline is not None:
        roots = {"before": baseline, "after": ROOT}
    samples: dict[str, list[float]] = {"floor": [], **{name: [] for name in roots}}
    errors: dict[str, int] = {}
    async with contextlib.AsyncExitStack() as stack:
        rigs = {
            name: await stack.enter_async_context(SlackRig(llm_delay_s=0.0, bot_root=root))
            for name, root in roots.items()
        }
        http = await stack.enter_async_context(aiohttp.ClientSession())
        first = rigs["after"]
        for i in range(WARMUP + args.links):
            timed = {"floor": await floor_once(first, http, first.link(100_000 + i))}
            for name, rig in rigs.items():
                timed[name] = await bot_once(rig, rig.link(i))
            if i >= WARMUP:
                for name, value in timed.items():
                    samples[name].append(value)
        errors = {name: rig.error_replies() for name, rig in rigs.items()}
    result: dict[str, Any] = {"machine": facts, "links": args.links, "warmup": WARMUP}
    floor = dist(samples["floor"])
    result["floor"] = floor
    for name in roots:
        bot = dist(samples[name])
        result[name] = {
            "bot_root": str(roots[name]),
            "bot": bot,
            "p50_over_floor": round(bot["p50_ms"] / floor["p50_ms"], 3),  # type: ignore[operator]
            "p95_over_floor": round(bot["p95_ms"] / floor["p95_ms"], 3),  # type: ignore[operator]
            "error_replies": errors[name],
        }
    if baseline is not None:
        before, after = result["before"]["bot"], result["after"]["bot"]
        result["after_over_before"] = {
            q: round(after[q] / before[q], 3) for q in ("p50_ms", "p95_ms")
        }
    return result


def print_report(result: dict[str, Any]) -> None:
    m = result["machine"]
    print(f"machine: {m['nproc']} × {m['cpu_model']}, load {m['loadavg_at_start']}")
    print(f"own work per link: {result['links']} links one at a time, model latency 0")
    rows = {"floor (bare script)": result["floor"]}
    for name in ("before", "after"):
        if name in result:
            rows[f"bot {name}"] = result[name]["bot"]
    print_dists(rows, ("p50_ms", "p95_ms", "max_ms"))
    for name in ("before", "after"):
        if name in result:
            r = result[name]
            ok = r["p50_over_floor"] <= 1.5 and r["p95_over_floor"] <= 1.5
            print(
                f"bot {name} ÷ floor: p50 {r['p50_over_floor']:.2f}×, "
                f"p95 {r['p95_over_floor']:.2f}× "
                f"(target ≤ 1.5×: {'PASS' if ok else 'FAIL'}); error replies {r['error_replies']}"
            )
    if "after_over_before" in result:
        r = result["after_over_before"]
        print(f"after ÷ before (same run): p50 {r['p50_ms']:.2f}×, p95 {r['p95_ms']:.2f}×")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=40, help="links timed (after warm-up)")
    parser.add_argument("--baseline", help="a checkout to measure too, as 'before'")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print_report(result)
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
