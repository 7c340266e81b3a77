"""Cost of each hostile input class of issue 15, at three sizes, one subprocess per case.

Every case runs in its own ``python`` child with a hard limit (``--limit-s``,
default 30 s) so a super-linear case is reported as ``>30 s`` instead of
stalling the run; the child reports its CPU seconds, wall seconds, peak RSS and
outcome (``ok``, or the exception's class and whether it is a ``LinkbriefError``).

    python bench/hostile_inputs.py [--limit-s 30] [--json out.json]

Cases (the payload is built before the clock starts):

* ``title``: a brief whose title is ``a.a.a.…`` rendered for Slack, Discord, Markdown.
* ``content_type``: the "not an article" error quoting a hostile Content-Type, rendered.
* ``link_finding``: a chat message of repeated ``[a](``, through ``links_in_message``.
* ``pdf_operators``: a PDF of one compressed content stream of many text operators,
  through the bot's extraction entry point (``bot.pipeline.workers`` when present).
* ``br_list``: a ``Content-Encoding`` of N ``br`` entries for a one-byte body.
* ``gzip_layers``: N nested gzip layers declared and applied.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SIZES = {
    "title": [2_000, 8_000, 32_000],
    "content_type": [2_000, 8_000, 32_000],
    "link_finding": [5_000, 20_000, 40_000],
    "pdf_operators": [2_000, 5_000, 10_000],
    "br_list": [1_000, 10_000, 33_000],
    "gzip_layers": [10, 100, 1_000],
}

CHILD = r"""
import asyncio, gc, json, resource, sys, time, zlib
sys.path.insert(0, ROOT)
case, size = CASE, SIZE

def build():
    if case == "title":
        from bot.pipeline.models import Brief, BriefStats
        title = ("a." * (size // 2))[:size]
        brief = Brief(url="https://example.com/x", canonical_url="https://example.com/x",
                      title=title, site="", author="", published="", language="en",
                      mode="extractive", summary="s", claims=[], stats=BriefStats(
                      article_words=1, reduced_by_pct=0, prompt_tokens=0,
                      completion_tokens=0), warnings=[])
        from bot.render import render_discord, render_markdown, render_slack
        return lambda: (render_slack(brief), render_discord(brief), render_markdown(brief))
    if case == "content_type":
        from bot.errors import NotAnArticle
        from bot.render import render_discord_error, render_error_markdown, render_slack_error
        message = str(NotAnArticle(("a." * (size // 2))[:size]))
        return lambda: (render_slack_error(message), render_discord_error(message),
                        render_error_markdown(message))
    if case == "link_finding":
        from bot.pipeline.urls import links_in_message
        text = ("[a](" * (size // 4 + 1))[:size]
        return lambda: links_in_message(text, 3)
    if case == "pdf_operators":
        from bot.pipeline.models import FetchedPage
        stream = (b"BT /F1 1 Tf (a) Tj ET\n" * 400_000)
        comp = zlib.compress(stream, 9)
        # pad/cut the operator count until the compressed stream is about ``size`` bytes
        n = max(1, int(400_000 * size / len(comp)))
        comp = zlib.compress(b"BT /F1 1 Tf (a) Tj ET\n" * n, 9)
        objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
                b"/Resources << /Font << /F1 5 0 R >> >> >>",
                b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(comp) + comp
                + b"\nendstream",
                b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
        out = bytearray(b"%PDF-1.4\n")
        offsets = []
        for i, body in enumerate(objs, 1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
        for off in offsets:
            out += b"%010d 00000 n \n" % off
        out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            len(objs) + 1, xref)
        page = FetchedPage(url="https://example.com/a.pdf", final_url="https://example.com/a.pdf",
                           status=200, content_type="application/pdf", charset=None,
                           body=bytes(out))
        print(json.dumps({"pdf_bytes": len(out)}), file=sys.stderr)
        try:
            from bot.pipeline.workers import extract_off_loop
            return lambda: asyncio.run(extract_off_loop(page))
        except ImportError:
            from bot.pipeline.extract import extract_article
            return lambda: extract_article(page)
    if case == "br_list":
        from bot.pipeline.decoding import ContentDecoder
        import brotli
        header = ", ".join(["br"] * size)
        body = b"x"
        def run():
            decoder = ContentDecoder(header)
            return b"".join(decoder.feed(body))
        return run
    if case == "gzip_layers":
        from bot.pipeline.decoding import ContentDecoder
        body = b"hello"
        for _ in range(size):
            body = zlib.compress(body)  # deflate layers are cheap to build
        header = ", ".join(["deflate"] * size)
        def run():
            decoder = ContentDecoder(header)
            return b"".join(decoder.feed(body))
        return run
    raise SystemExit("unknown case")

run = build()
gc.collect()
cpu0, wall0 = time.process_time(), time.perf_counter()
outcome = "ok"
try:
    run()
except Exception as exc:
    from bot.errors import LinkbriefError
    tag = "LinkbriefError" if isinstance(exc, LinkbriefError) else "UNCAUGHT"
    outcome = f"{tag}:{type(exc).__name__}"
wall = time.perf_counter() - wall0
# children's CPU counts too: the pool's worker does the PDF work
cpu = (time.process_time() - cpu0)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall_s": round(wall, 4), "cpu_s": round(cpu, 4),
                  "child_cpu_s": round(ru.ru_utime + ru.ru_stime, 4),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                       / 1024, 1), "outcome": outcome}))
"""


def run_case(case: str, size: int, limit_s: float) -> dict[str, object]:
    code = CHILD.replace("ROOT", repr(str(ROOT)), 1).replace("CASE", repr(case), 1)
    code = code.replace("SIZE", str(size), 1)
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=limit_s
        )
    except subprocess.TimeoutExpired:
        return {"case": case, "size": size, "wall_s": f">{limit_s:g}", "outcome": "timeout"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-1:] or ["?"]
        return {
            "case": case,
            "size": size,
            "wall_s": round(time.perf_counter() - started, 2),
            "outcome": f"CRASH rc={done.returncode}: {tail[0][:120]}",
        }
    return {"case": case, "size": size, **json.loads(lines[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit-s", type=float, default=30.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--case", action="append", help="only these cases")
    args = parser.parse_args()
    rows = []
    for case, sizes in SIZES.items():
        if args.case and case not in args.case:
            continue
        for size in sizes:
            row = run_case(case, size, args.limit_s)
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
