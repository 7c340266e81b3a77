"""Where one link's time goes: a per-step timeline of the bot, with process CPU beside it.

Run a benchmark with the bot started through this file, then read the report:

    BENCH_BOT_WRAPPER=$PWD/bench/step_trace.py .venv/bin/python bench/own_work.py
    .venv/bin/python bench/step_trace.py --report

As the bot's wrapper (``python bench/step_trace.py -m bot run``) it wraps the
steps named in ``STEPS`` so each start and end is logged with the monotonic
clock and ``time.process_time()`` (all threads), then runs the bot as usual;
at exit it writes the log to ``TRACE_FILE``. ``--report`` splits the log at each
Slack event, drops the first (the readiness probe) and links without a brief,
and prints the median time of every step's start and end from the event's
arrival, wall and CPU. Wrapping costs a little per step: compare runs traced
alike, and take untraced figures from the benchmarks themselves.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import inspect
import runpy
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

TRACE_FILE = Path(tempfile.gettempdir()) / "linkbrief-step-trace.txt"
ARRIVAL = "to_bolt_request"  # the first step of every Slack event
STEPS = [
    "bot.adapters.slack.frontend:to_bolt_request",
    "slack_bolt.app.async_app:AsyncApp.async_dispatch",
    "bot.delivery.delivery:Delivery.acknowledge",
    "bot.delivery.delivery:Delivery._write_accepts",
    "bot.delivery.delivery:Delivery._run_job",
    "bot.adapters.slack.surface:SlackSurface.post",
    "bot.adapters.slack.surface:SlackSurface.update",
    "bot.delivery.delivery:Delivery._placeholder",
    "bot.app:App.brief_link",
    "bot.pipeline.pipeline:Pipeline.article",
    "bot.pipeline.fetch:SafeFetcher.fetch",
    "bot.pipeline.extract:extract_article",
    "bot.pipeline.pipeline:Pipeline.summarize",
    "bot.llm.client:ChatClient.complete_json",
    "bot.pipeline.verify:verify_draft",
    "bot.pipeline.pipeline:_charge",
    "bot.render.slack:render_slack",
    "bot.store.store:Store.get_brief",
    "bot.store.store:Store.put_brief",
    "bot.store.store:Store.accept_many",
    "bot.store.store:Store.put_pending",
    "bot.store.store:Store.finish_pending",
    "bot.store.store:Store.incr_counter",
    "bot.store.store:Store.read_counter",
    "bot.store.leases:Leases.finish",
]

_events: list[tuple[float, float, str, str]] = []


def _mark(name: str, phase: str) -> None:
    _events.append((time.monotonic(), time.process_time(), name, phase))


def _wrapped(fn: Any, name: str) -> Any:
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def step(*args: Any, **kwargs: Any) -> Any:
            _mark(name, "start")
            try:
                return await fn(*args, **kwargs)
            finally:
                _mark(name, "end")

        return step

    @functools.wraps(fn)
    def sync_step(*args: Any, **kwargs: Any) -> Any:
        _mark(name, "start")
        try:
            return fn(*args, **kwargs)
        finally:
            _mark(name, "end")

    return sync_step


def _install() -> None:
    for target in STEPS:
        module_name, qualname = target.split(":")
        module = importlib.import_module(module_name)
        *owners, attr = qualname.split(".")
        owner: Any = module
        for part in owners:
            owner = getattr(owner, part)
        original = getattr(owner, attr)
        setattr(owner, attr, _wrapped(original, qualname))
        if not owners:  # a function: rebind it where it was imported by name
            for other in list(sys.modules.values()):
                if getattr(other, attr, None) is original:
                    setattr(other, attr, getattr(owner, attr))


def _write() -> None:
    with TRACE_FILE.open("w") as out:
        for at, cpu, name, phase in _events:
            out.write(f"{at:.6f} {cpu:.6f} {name} {phase}\n")


def run_bot(argv: list[str]) -> None:
    """``step_trace.py -m bot run``: the bot, with its steps timed."""
    if argv[:2] != ["-m", "bot"]:
        raise SystemExit("usage: step_trace.py -m bot run  (or --report)")
    # Importing the front end now imports every module STEPS names, before any event.
    _install()
    atexit.register(_write)
    sys.argv = ["bot", *argv[2:]]
    runpy.run_module("bot", run_name="__main__", alter_sys=True)


def report(path: Path = TRACE_FILE) -> None:
    links: list[list[tuple[float, float, str, str]]] = []
    for line in path.read_text().splitlines():
        at, cpu, name, phase = line.split()
        if name == ARRIVAL and phase == "start":
            links.append([])
        if links:
            links[-1].append((float(at), float(cpu), name, phase))
    briefed = [link for link in links[1:] if any(e[2] == "Briefer._update" for e in link)]
    offsets: dict[tuple[str, str, int], list[tuple[float, float]]] = defaultdict(list)
    for link in briefed:
        at0, cpu0 = link[0][0], link[0][1]
        seen: Counter[tuple[str, str]] = Counter()
        for at, cpu, name, phase in link:
            key = (name, phase, seen[(name, phase)])
            seen[(name, phase)] += 1
            offsets[key].append(((at - at0) * 1000, (cpu - cpu0) * 1000))
    print(f"{len(briefed)} briefed links; ms from the event's arrival (median)")
    print(f"{'step':48} {'':6} {'wall':>7} {'cpu':>7}")
    common = {k: v for k, v in offsets.items() if len(v) >= len(briefed) // 2}
    for (name, phase, nth), values in sorted(
        common.items(), key=lambda kv: statistics.median(v[0] for v in kv[1])
    ):
        label = name if nth == 0 else f"{name} #{nth + 1}"
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        print(f"{label:48} {phase:6} {wall:7.2f} {cpu:7.2f}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--report"]:
        report()
    else:  # the bot's own checkout comes first on PYTHONPATH (bench/harness.py sets it)
        run_bot(sys.argv[1:])
