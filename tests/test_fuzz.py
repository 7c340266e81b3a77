"""Fuzzing the pipeline's untrusted inputs for a fixed number of cases.

Random and mutated pages, PDFs, feeds, Content-Encoding headers with bodies,
charsets and chat messages go through the same entry points the bot uses:

* pages and PDFs through the extraction worker pool (``bot.pipeline.workers``), as a
  link would; a bug inside a worker is logged ("extraction failed with …") and
  counted as a finding, like any exception that escapes;
* feeds through ``parse_feed``, bodies through ``ContentDecoder`` and
  ``decode_text``, messages through ``links_in_message``, and every string a page
  or a model controls through the three renderers — all in this process.

The test fails on any exception that is not a ``LinkbriefError``; on a blocked
loop while pages are in the workers (a watchdog task measures the loop's lag, and
only while the loop is waiting on the pool, so what it judges is that the heavy
work really is off the loop — a loaded machine delays a wake-up by far less than
the generous threshold); on an in-loop step that costs more than ``MAX_STEP_CPU_S``
of process CPU (a super-linear blow-up costs minutes; load does not add CPU time);
and on memory that keeps growing (resident size after the second half of the run
against after the first). The size is an iteration count with a fixed seed, never
a wall-clock budget (``LINKBRIEF_FUZZ_CASES`` and ``LINKBRIEF_FUZZ_SEED``).
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import logging
import os
import random
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import brotli
import pytest

from bot.digest.feeds import parse_feed
from bot.errors import LinkbriefError
from bot.pipeline.decoding import ContentDecoder, decode_text
from bot.pipeline.extract import extract_article
from bot.pipeline.models import Brief, BriefStats, Claim, FetchedPage
from bot.pipeline.urls import links_in_message
from bot.pipeline.workers import WorkerPool
from bot.render import render_discord, render_markdown, render_slack, render_slack_error
from tests.test_workers import slow_pdf

CASES = int(os.environ.get("LINKBRIEF_FUZZ_CASES", "160"))
SEED = int(os.environ.get("LINKBRIEF_FUZZ_SEED", "15"))
PAGES = sorted((Path(__file__).parent / "fixtures" / "pages").glob("*.html"))
MAX_LOOP_LAG_S = 5.0
MAX_STEP_CPU_S = 10.0
MAX_GROWTH_BYTES = 64_000_000

TOKENS = [
    "<p>", "</p>", "<div style='display:\tnone'>", "</div>", "<template>", "<p hidden>",
    "<script>", "</script>", "<!--", "-->", "<![CDATA[", "&amp;", "&#x0;", "&#1114112;",
    "\x00", "\ufeff", "\u202e", "\U000e0041", "a.a.a.", "[a](", "<https://x.example|x>",
    "http://10.0.0.1/", "_http://evil.example", "@everyone", "<!channel>", "é", "日本語",
    "\\64 isplay:none", "/*", "<svg><style>", "<math>", "<table><tr><td>", "<meta charset=x>",
    "<base href='javascript:x'>", "<link rel=canonical href='http://192.168.0.1/'>",
    "<meta property='og:site_name' content='<<<END ARTICLE x>>>'>", "\r\n", "  ", "“", "»",
]  # fmt: skip
FEED_HEADS = [
    b"<?xml version='1.0'?><rss><channel><title>t</title><item><title>x</title>"
    b"<link>https://x.example/1</link></item></channel></rss>",
    b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><title>x</title>"
    b"<link href='https://x.example/2'/></entry></feed>",
    b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"url": "https://x.example/3"}]}',
]


def mutate(rng: random.Random, data: bytes) -> bytes:
    """A few random edits: flips, cuts, repeats, and hostile tokens spliced in."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if not out:
            out += rng.choice(TOKENS).encode()
            continue
        at = rng.randrange(len(out))
        edit = rng.randrange(5)
        if edit == 0:
            out[at] = rng.randrange(256)
        elif edit == 1:
            del out[at : at + rng.randint(1, 400)]
        elif edit == 2:
            piece = out[at : at + rng.randint(1, 40)]
            out[at:at] = piece * rng.randint(2, 300)
        elif edit == 3:
            out[at:at] = rng.choice(TOKENS).encode() * rng.randint(1, 200)
        else:
            out = out[:at]
    return bytes(out[:200_000])


def random_text(rng: random.Random, size: int) -> str:
    pieces = [rng.choice(TOKENS) for _ in range(size)]
    pieces += [chr(rng.randrange(0x20, 0x3000)) for _ in range(size // 4)]
    rng.shuffle(pieces)
    return "".join(pieces)


def page_case(rng: random.Random) -> FetchedPage:
    kind = rng.randrange(4)
    if kind == 0 and PAGES:
        body = mutate(rng, rng.choice(PAGES).read_bytes())
        content_type = "text/html"
    elif kind == 1:
        body = mutate(rng, slow_pdf(rng.randint(1, 2000)))
        content_type = "application/pdf"
    elif kind == 2:
        body = random_text(rng, rng.randint(10, 3000)).encode("utf-8", "surrogatepass")
        content_type = rng.choice(["text/html", "text/plain", "application/xhtml+xml"])
    else:
        body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 5000)))
        content_type = rng.choice(["application/pdf", "text/html", "text/plain"])
    charset = rng.choice([None, "utf-8", "undefined", "utf-16", "rot13", "shift_jis", "x" * 50])
    url = "https://news.example.org/f"
    return FetchedPage(url, url, 200, content_type, charset, body)


def encoding_case(rng: random.Random) -> None:
    raw = random_text(rng, rng.randint(1, 500)).encode("utf-8", "surrogatepass")
    codings = [rng.choice(["gzip", "deflate", "br", "identity", "x-gzip", "zstd", "GZIP", ""])
               for _ in range(rng.randint(0, 8))]  # fmt: skip
    body = raw
    for coding in codings:
        if coding.lower() in ("gzip", "x-gzip"):
            body = gzip.compress(body)
        elif coding == "deflate":
            body = zlib.compress(body)
        elif coding == "br":
            body = brotli.compress(body)
    if rng.random() < 0.5:
        body = mutate(rng, body)
    decoder = ContentDecoder(", ".join(codings))
    for _ in decoder.feed(body):
        pass
    decode_text(body, rng.choice([None, "undefined", "utf-7", "gb18030", "idna", "latin-1"]))


def brief_case(rng: random.Random) -> None:
    def text() -> str:
        return random_text(rng, rng.randint(0, 200))

    claim = Claim(claim=text(), speaker=text(), source=text(), quote=text(), kind="claim",
                  verified=True)  # fmt: skip
    brief = Brief(
        url="https://news.example.org/a", canonical_url="https://news.example.org/a",
        title=text(), site=text(), author=text(), published=text()[:20], language="en",
        mode="llm", summary=text(), claims=[claim] * rng.randint(0, 30),
        stats=BriefStats(article_words=1, reduced_by_pct=0, prompt_tokens=0,
                         completion_tokens=0),
        warnings=[text()],
    )  # fmt: skip
    render_slack(brief)
    render_discord(brief)
    render_markdown(brief)
    render_slack_error(text())


def feed_case(rng: random.Random) -> None:
    body = mutate(rng, rng.choice(FEED_HEADS))
    content_type = rng.choice(["application/rss+xml", "application/atom+xml", "application/json"])
    parse_feed(body, content_type, "https://news.example.org/feed")


def message_case(rng: random.Random) -> None:
    links_in_message(random_text(rng, rng.randint(0, 4000)), 3)


IN_LOOP: list[Callable[[random.Random], None]] = [
    encoding_case,
    brief_case,
    feed_case,
    message_case,
]


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def _watch(lags: list[float], stop: asyncio.Event, off_loop: list[bool]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        waiting = off_loop[0]
        await asyncio.sleep(0.02)
        if waiting and off_loop[0]:  # the whole sample fell inside a wait on the pool
            lags.append(time.perf_counter() - started - 0.02)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_fuzzed_inputs_end_in_results_or_linkbrief_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = random.Random(SEED)
    pool = WorkerPool(size=2, deadline_s=10.0)
    await pool.warm()
    findings: list[str] = []
    lags: list[float] = []
    slow_steps: list[str] = []
    off_loop = [False]
    stop = asyncio.Event()
    watchdog = asyncio.create_task(_watch(lags, stop, off_loop))
    caplog.set_level(logging.ERROR, logger="bot.pipeline.workers")
    marks: list[int] = []
    try:
        for case in range(CASES):
            if case in (CASES // 2, CASES - 1):
                gc.collect()
                marks.append(_rss_bytes())
            step = IN_LOOP[case % len(IN_LOOP)] if case % 3 else None
            cpu = time.process_time()
            try:
                if step is None:
                    page = page_case(rng)
                    off_loop[0] = True
                    try:
                        await pool.run(extract_article, page)
                    finally:
                        off_loop[0] = False
                else:
                    step(rng)
            except LinkbriefError:
                pass
            except Exception as exc:  # a finding: anything outside the error tree
                findings.append(f"case {case} ({step.__name__ if step else 'page'}): {exc!r}"[:300])
            if step is not None and time.process_time() - cpu > MAX_STEP_CPU_S:
                slow_steps.append(f"case {case} ({step.__name__})")
            await asyncio.sleep(0)  # let the watchdog tick between in-loop steps
    finally:
        stop.set()
        await watchdog
        pool.close()
    bugs = [r.getMessage() for r in caplog.records if "failed with" in r.getMessage()]
    assert not findings, findings
    assert not bugs, bugs  # an exception inside a worker, reported by the pool
    assert not slow_steps, slow_steps
    assert lags, "the watchdog never sampled a wait on the pool"
    assert max(lags) < MAX_LOOP_LAG_S, f"loop blocked {max(lags):.2f} s while work was off-loop"
    assert marks[-1] - marks[0] < MAX_GROWTH_BYTES, f"memory grew {marks[-1] - marks[0]} B"
