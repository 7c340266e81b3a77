"""Extraction runs in worker processes: a hostile page costs one deadline of one worker.

A PDF of one compressed content stream of many text operators (seconds of pure-Python
parsing) is sent with a short deadline set by the test. While it runs, the event loop
keeps ticking (a watchdog records the longest gap, and the loop work it measures is
the only thing on the loop), another page is extracted by the other worker, the
hostile job ends as ``ExtractionTimeout`` and its worker process is gone. No
assertion depends on how fast the machine is: the deadline is a floor on the
hostile job's cost, not a limit on the good one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib

import pytest

from bot.errors import ExtractionError, ExtractionTimeout, LinkbriefError
from bot.pipeline.models import FetchedPage
from bot.pipeline.workers import WorkerPool

GOOD_HTML = (
    "<html><head><title>Tram</title></head><body><article><h1>Tram</h1>"
    + "".join(
        f"<p>In district {i}, the council voted to extend the tram network by {i + 2} "
        f"kilometres, and residents of street number {i * 7} welcomed the plan.</p>"
        for i in range(12)
    )
    + "</article></body></html>"
).encode()


def slow_pdf(operators: int) -> bytes:
    """A valid one-page PDF whose content stream is ``operators`` text-showing operators."""
    stream = zlib.compress(b"BT /F1 1 Tf (a) Tj ET\n" * operators, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def page(body: bytes, content_type: str, charset: str | None = None) -> FetchedPage:
    url = "https://news.example.org/a"
    return FetchedPage(
        url=url, final_url=url, status=200, content_type=content_type, charset=charset, body=body
    )


@pytest.fixture
async def pool() -> WorkerPool:
    workers = WorkerPool(size=2, deadline_s=1.5)
    await workers.warm()  # started before any clock: spawning is not the work measured
    yield workers
    workers.close()


async def _watch(lags: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(time.perf_counter() - started - 0.01)


async def test_a_hostile_pdf_is_killed_at_its_deadline_and_never_holds_the_loop(
    pool: WorkerPool,
) -> None:
    from bot.pipeline.extract import extract_article

    hostile = page(slow_pdf(3_000_000), "application/pdf")
    good = page(GOOD_HTML, "text/html")
    lags: list[float] = []
    stop = asyncio.Event()
    watchdog = asyncio.create_task(_watch(lags, stop))
    hostile_job = asyncio.create_task(pool.run(extract_article, hostile))
    article = await pool.run(extract_article, good)  # the other worker serves it meanwhile
    assert "tram network" in article.text
    assert not hostile_job.done()  # still parsing: the good page did not wait for it
    with pytest.raises(ExtractionTimeout):
        await hostile_job
    stop.set()
    await watchdog
    assert pool.killed == 1
    # The loop's work here is only the watchdog, so its worst gap stays far below the
    # seconds the PDF costs; generous, since a loaded machine delays any wake-up.
    assert max(lags) < 1.0
    # The killed worker is replaced: the pool still extracts.
    again = await pool.run(extract_article, good)
    assert again.text == article.text


async def test_hostile_pdfs_leave_a_worker_for_ordinary_pages() -> None:
    from bot.pipeline.extract import extract_article

    # A deadline far beyond the test: the good page must not wait for any PDF to end.
    pool = WorkerPool(size=2, deadline_s=600)
    await pool.warm()
    hostile = page(slow_pdf(3_000_000), "application/pdf")
    pdfs = [asyncio.create_task(pool.run(extract_article, hostile, lane="pdf")) for _ in range(3)]
    try:
        await asyncio.sleep(0)
        article = await pool.run(extract_article, page(GOOD_HTML, "text/html"))
        assert "tram network" in article.text
        assert not any(task.done() for task in pdfs)  # all three still running or queued
    finally:
        for task in pdfs:
            task.cancel()  # a cancelled job's worker is killed, not reused
        await asyncio.gather(*pdfs, return_exceptions=True)
        pool.close()
    assert pool.killed == 0


@pytest.mark.parametrize(
    ("body", "content_type", "charset"),
    [
        (b"%PDF-1.4\n1 0 obj\n<< /Length 999999999 >>\nstream\n", "application/pdf", None),
        (b"%PDF-1.7\n" + b"[" * 50_000, "application/pdf", None),
        (b"\x00\xff" * 1000, "application/pdf", None),
        (GOOD_HTML, "text/html", "undefined"),
        (GOOD_HTML, "text/html", "rot13"),
        (GOOD_HTML, "text/plain", "punycode"),
        (b"<html>" + b"<div>" * 100_000, "text/html", None),
    ],
    ids=["lying-pdf-length", "nested-pdf-arrays", "pdf-noise", "charset-undefined",
         "charset-rot13", "charset-punycode", "deep-html"],
)  # fmt: skip
async def test_hostile_pages_end_as_linkbrief_errors_or_articles(
    pool: WorkerPool, body: bytes, content_type: str, charset: str | None
) -> None:
    from bot.pipeline.extract import extract_article

    try:
        article = await pool.run(extract_article, page(body, content_type, charset))
    except LinkbriefError as error:
        assert str(error)  # a message for the channel
    else:
        assert isinstance(article.text, str)


async def test_a_cancelled_warm_up_leaves_the_pool_usable() -> None:
    # The app closing while its workers start must not leave the pool counting them busy.
    pool = WorkerPool(size=1, deadline_s=600)
    warming = asyncio.create_task(pool.warm())
    await asyncio.sleep(0)
    warming.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await warming
    try:
        assert await pool.run(int, "7") == 7
    finally:
        pool.close()


async def test_a_bug_in_a_worker_is_a_plain_extraction_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pool = WorkerPool(size=1, deadline_s=600)  # no deadline in play on a loaded machine
    try:
        with pytest.raises(ExtractionError) as info:
            await pool.run(int, "not a number")  # a ValueError: a bug, not a user error
    finally:
        pool.close()
    assert type(info.value) is ExtractionError
    assert "ValueError" in caplog.text  # the operator sees the bug's type
