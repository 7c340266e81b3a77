"""Many links at once: concurrency, sharing and memory of one bot process (Slack HTTP mode).

    .venv/bin/python bench/concurrency.py [--links 200] [--llm-delay 1] [--json out.json]

One bot process (``python -m bot run``, ``LLM_CONCURRENCY=32``) against the
local fakes (see ``bench/harness.py``), three phases in one run:

* **concurrency**: ``--links`` signed events sent at once, each with a distinct
  link, the model answering after ``--llm-delay`` s. Total time from the first
  send to the last brief posted, against the bound ⌈links/32⌉ × delay (target:
  within 1.25×), and the acknowledgement p99 meanwhile (target: < 300 ms);
* **memory**: the bot's peak RSS (``VmHWM``) after that phase (target: < 250 MB);
* **sharing**: one new link posted ``--shares`` times at once (distinct
  messages): fetches of that page and model calls counted (target: 1 and 1).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    PAGE,
    ROOT,
    SlackRig,
    baseline_tree,
    dist,
    fmt,
    machine,
    peak_rss_mb,
    print_dists,
    write_json,
)

DRAIN_TIMEOUT_S = 60.0


async def burst(rig: SlackRig, links: list[str]) -> tuple[float, float, bool]:
    """Send every link at once; (send span, total until the last brief, all briefs posted)."""
    before = rig.briefs_posted()
    t0 = time.monotonic()
    await asyncio.gather(*(rig.send(link) for link in links))
    send_span = time.monotonic() - t0
    complete = await rig.wait_briefs(before + len(links), DRAIN_TIMEOUT_S)
    return send_span, time.monotonic() - t0, complete


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """The phases on this checkout, and first on ``--baseline`` if given (same run)."""
    result: dict[str, Any] = {"machine": machine()}
    baseline = baseline_tree(args.baseline)
    if baseline is not None:
        result["before"] = await measure(args, baseline)
    result["after"] = await measure(args, ROOT)
    if baseline is not None:
        before, after = result["before"], result["after"]
        b, a = before["concurrency"], after["concurrency"]
        result["after_over_before"] = {
            "total_s": ratio(a["total_s"], b["total_s"]),
            "ack_p99": ratio(a["ack"]["p99_ms"], b["ack"]["p99_ms"]),
            "brief_p50": ratio(a["to_brief"]["p50_ms"], b["to_brief"]["p50_ms"]),
            "peak_rss": ratio(after["memory"]["peak_rss_mb"], before["memory"]["peak_rss_mb"]),
        }
    return result


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 3)


async def measure(args: argparse.Namespace, bot_root: Path) -> dict[str, Any]:
    env = {"LLM_CONCURRENCY": str(args.llm_concurrency)}
    async with SlackRig(llm_delay_s=args.llm_delay, env=env, bot_root=bot_root) as rig:
        assert rig.bot is not None
        links = [rig.link(i) for i in range(args.links)]
        send_span, total_s, complete = await burst(rig, links)
        timings = rig.timings()
        placeholders = [t["placeholder"] for t in timings.values() if "placeholder" in t]
        acks = list(rig.acks)
        rss_mb = peak_rss_mb(rig.bot.pid)
        bound_s = math.ceil(args.links / args.llm_concurrency) * args.llm_delay
        max_concurrent = rig.chat.max_concurrent

        # Sharing: a link nobody posted yet, in `shares` messages at once.
        shared = rig.articles.url(f"{PAGE}?shared=1")
        model_calls_before = rig.chat.answered
        fetches_before = sum(1 for r in rig.articles.requests if r.query == "shared=1")
        _, share_total_s, share_complete = await burst(rig, [shared] * args.shares)
        fetches = sum(1 for r in rig.articles.requests if r.query == "shared=1") - fetches_before
        model_calls = rig.chat.answered - model_calls_before
        errors = rig.error_replies()
    return {
        "bot_root": str(bot_root),
        "bot_ready_s": round(rig.ready_s, 3),
        "concurrency": {
            "links": args.links,
            "llm_delay_s": args.llm_delay,
            "llm_concurrency": args.llm_concurrency,
            "send_span_s": round(send_span, 3),
            "total_s": round(total_s, 3),
            "bound_s": bound_s,
            "total_over_bound": round(total_s / bound_s, 3) if bound_s else None,
            "all_briefs_posted": complete,
            "model_max_concurrent": max_concurrent,
            "ack": dist(acks),
            "ack_failures": rig.failures[:20],
            "to_placeholder": dist(placeholders),
            "to_brief": dist([t["brief"] for t in timings.values() if "brief" in t]),
        },
        "memory": {"peak_rss_mb": None if rss_mb is None else round(rss_mb, 1)},
        "sharing": {
            "posts": args.shares,
            "fetches": fetches,
            "model_calls": model_calls,
            "total_s": round(share_total_s, 3),
            "all_briefs_posted": share_complete,
        },
        "error_replies": errors,
    }


def print_report(result: dict[str, Any]) -> None:
    m = result["machine"]
    print(f"machine: {m['nproc']} × {m['cpu_model']}, load {m['loadavg_at_start']}")
    for name in ("before", "after"):
        if name in result:
            print(f"=== {name}: bot from {result[name]['bot_root']}")
            print_phases(result[name])
    if "after_over_before" in result:
        print("after ÷ before (same run): " + ", ".join(
            f"{k} {fmt(v, 2)}×" for k, v in result["after_over_before"].items()
        ))  # fmt: skip


def print_phases(result: dict[str, Any]) -> None:
    c = result["concurrency"]
    print(
        f"concurrency: {c['links']} links at once, model {c['llm_delay_s']} s, "
        f"LLM_CONCURRENCY={c['llm_concurrency']} (model saw at most {c['model_max_concurrent']})"
    )
    ratio = c["total_over_bound"]
    if ratio is None:  # no model latency: no bound, the throughput is the figure
        print(f"  total {c['total_s']:.2f} s = {c['links'] / c['total_s']:.1f} links/s")
    else:
        verdict = "PASS" if ratio <= 1.25 and c["all_briefs_posted"] else "FAIL"
        print(
            f"  total {c['total_s']:.2f} s vs bound {c['bound_s']:.2f} s = "
            f"{ratio:.2f}× (target ≤ 1.25×: {verdict})"
        )
    print_dists(
        {k: c[k] for k in ("ack", "to_placeholder", "to_brief")},
        ("p50_ms", "p95_ms", "p99_ms", "max_ms"),
    )
    p99 = c["ack"]["p99_ms"]
    print(f"  ack p99 < 300 ms: {'PASS' if p99 is not None and p99 < 300 else 'FAIL'}")
    rss = result["memory"]["peak_rss_mb"]
    ok = rss is not None and rss < 250
    print(f"memory: peak RSS {fmt(rss)} MB (target < 250 MB: {'PASS' if ok else 'FAIL'})")
    s = result["sharing"]
    ok = s["fetches"] == 1 and s["model_calls"] == 1
    print(
        f"sharing: {s['posts']} posts of one link -> {s['fetches']} fetch, "
        f"{s['model_calls']} model call in {s['total_s']:.2f} s (target 1 and 1: "
        f"{'PASS' if ok else 'FAIL'})"
    )
    print(f"error replies: {result['error_replies']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=200, help="distinct links sent at once")
    parser.add_argument("--llm-delay", type=float, default=1.0, help="model latency (s)")
    parser.add_argument("--llm-concurrency", type=int, default=32, help="LLM_CONCURRENCY")
    parser.add_argument("--shares", type=int, default=50, help="posts of the shared link")
    parser.add_argument("--baseline", help="a checkout to measure first, as 'before'")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print_report(result)
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
