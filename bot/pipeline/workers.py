"""Extraction and PDF text in worker processes, each job under a deadline that kills it.

HTML extraction and PDF text are the CPU-heavy steps of a brief, and their cost is
set by a stranger's bytes (a 10 KB PDF of one compressed content stream costs
seconds of pure-Python parsing). On the event loop one such page would freeze every
channel; in a thread it would still hold the GIL, and a thread cannot be stopped.
So they run here, in a small pool of long-lived processes:

* a job gets one worker to itself; the loop only waits on the worker's pipe;
* past ``deadline_s`` the worker is **killed** (SIGKILL), not merely abandoned,
  and a fresh one takes its place, so a hostile page costs at most one deadline
  of one core;
* each worker's address space is capped (``memory_mb``), so a parser that
  balloons fails alone; workers run at a lower CPU priority (nice 10) than the
  bot, whose acknowledgements must not wait on a parser;
* PDFs, the known-expensive kind, hold at most ``size - 1`` workers at once, so a
  stream of hostile PDFs leaves a worker for ordinary pages;
* whatever goes wrong ends as a ``LinkbriefError`` for the channel: the job's own
  ``LinkbriefError`` as it was raised, ``ExtractionTimeout`` past the deadline,
  ``ExtractionError`` for a crash or a bug (logged with its type, never the page).

Workers are plain ``python`` processes running ``_serve``, speaking pickled,
length-prefixed frames over their stdin and stdout (no ``multiprocessing``: it would
re-import the caller's ``__main__``), started on first use and replaced, off the
loop, after a kill. ``extract_off_loop`` is the pipeline's entry point;
``configure`` (the composition root) sets the size and the deadline.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import logging
import os
import pickle
import resource
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

from bot.errors import ExtractionError, ExtractionTimeout, LinkbriefError
from bot.pipeline.models import Article, FetchedPage

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_DEADLINE_S = 20.0
DEFAULT_MEMORY_MB = 2048
_HEADER = struct.Struct("!Q")  # each pickled job and answer is prefixed by its length
# The directory holding the ``bot`` package, for the workers' import path.
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent.parent)


class _Worker:
    """One worker process (``python -m bot.pipeline.workers``) and its two pipes."""

    def __init__(self, memory_mb: int) -> None:
        # The same interpreter and environment; the package found where this one was.
        boot = (
            f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); "
            f"from bot.pipeline.workers import _serve; _serve({int(memory_mb)})"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", boot],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C at a terminal is the parent's to handle
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin = self.process.stdin
        self.stdout_fd = self.process.stdout.fileno()
        os.set_blocking(self.stdout_fd, False)

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(Exception):
                stream.close()  # type: ignore[union-attr]
        # Reap it off the loop so no zombie is left behind.
        threading.Thread(target=self.process.wait, daemon=True).start()


class WorkerPool:
    """At most ``size`` worker processes; ``await run(func, *args)`` runs one job in one."""

    def __init__(
        self,
        *,
        size: int | None = None,
        deadline_s: float = DEFAULT_DEADLINE_S,
        memory_mb: int = DEFAULT_MEMORY_MB,
    ) -> None:
        self.size = size or max(2, min(4, os.cpu_count() or 2))
        self.deadline_s = deadline_s
        self.memory_mb = memory_mb
        self._idle: list[_Worker] = []
        self._busy = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self.killed = 0  # jobs stopped at the deadline (metrics, tests)
        # Jobs of a known-expensive kind (PDF) may hold at most this many workers, so
        # a stream of hostile PDFs leaves the rest for ordinary pages.
        self.lane_limit = max(1, self.size - 1)
        self._in_lane: dict[str, int] = {}
        atexit.register(self.close)

    async def run(self, func: Callable[..., T], *args: Any, lane: str = "") -> T:
        """``func(*args)`` in a worker; its result, or a ``LinkbriefError``.

        A job in a ``lane`` waits while ``lane_limit`` jobs of that lane are running.
        """
        job = pickle.dumps((func, args), protocol=pickle.HIGHEST_PROTOCOL)
        while lane and self._in_lane.get(lane, 0) >= self.lane_limit:
            await self._wait_turn()
        if lane:
            self._in_lane[lane] = self._in_lane.get(lane, 0) + 1
        try:
            worker = await self._acquire()
            healthy = False
            try:
                result = await self._exchange(worker, job)
                healthy = True
                return result  # type: ignore[no-any-return]
            finally:
                self._release(worker, healthy)
        finally:
            if lane:
                self._in_lane[lane] -= 1
                self._wake_all()

    async def warm(self) -> None:
        """Start the missing workers now, so the first link does not wait for one (~1 s).

        One at a time, each counted as busy while it starts: cancelled midway (the app
        closing), the count stays right and a half-started worker exits on its own (its
        pipe closes with it).
        """
        while self._busy + len(self._idle) < self.size:
            self._busy += 1
            try:
                worker = await asyncio.to_thread(_Worker, self.memory_mb)
            except BaseException:
                self._busy -= 1
                raise
            self._release(worker, healthy=True)

    def close(self) -> None:
        """Stop every idle worker (busy ones are stopped when their job ends)."""
        idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()

    async def _exchange(self, worker: _Worker, job: bytes) -> Any:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        answer: asyncio.Future[bytes] = loop.create_future()
        reader = _FrameReader(worker.stdout_fd, answer)
        try:
            async with asyncio.timeout(self.deadline_s):
                # The worker is idle and reading, so this write finishes promptly.
                await asyncio.to_thread(_write_frame, worker.stdin, job)
                loop.add_reader(worker.stdout_fd, reader.on_readable)
                frame = await answer
            status, payload = pickle.loads(frame)
        except TimeoutError:
            self.killed += 1
            log.warning("extraction stopped at its %.0f s deadline", self.deadline_s)
            raise ExtractionTimeout() from None
        except (EOFError, OSError, pickle.PickleError, ValueError) as exc:
            log.error("extraction worker died (%s)", type(exc).__name__)
            raise ExtractionError() from None
        finally:
            with contextlib.suppress(Exception):
                loop.remove_reader(worker.stdout_fd)
        log.debug("extraction job: %s in %.0f ms", status, (time.perf_counter() - started) * 1000)
        if status == "ok":
            return payload
        if status == "error" and isinstance(payload, LinkbriefError):
            raise payload
        # A bug reached by some input: its type for the operator, a plain reply for the channel.
        log.error("extraction failed with %s", payload)
        raise ExtractionError()

    async def _acquire(self) -> _Worker:
        while True:
            if self._idle:
                self._busy += 1
                return self._idle.pop()
            if self._busy < self.size:
                self._busy += 1
                try:
                    return await asyncio.to_thread(_Worker, self.memory_mb)
                except BaseException:
                    self._busy -= 1
                    raise
            await self._wait_turn()

    async def _wait_turn(self) -> None:
        """Until a worker is released or a lane frees up (then look again)."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def _wake_all(self) -> None:
        waiters, self._waiters = self._waiters, collections.deque()
        for waiter in waiters:
            with contextlib.suppress(RuntimeError):  # a closed loop's waiter
                if not waiter.done():
                    waiter.set_result(None)

    def _release(self, worker: _Worker, healthy: bool) -> None:
        self._busy -= 1
        if healthy and worker.alive():
            self._idle.append(worker)
        else:
            worker.kill()  # killed at the deadline, died, or left mid-answer: never reused
        # Everyone looks again: a lane-bound job may not take the freed worker, the next may.
        self._wake_all()


class _FrameReader:
    """Reads one length-prefixed frame from a non-blocking pipe, as data arrives."""

    def __init__(self, fd: int, answer: asyncio.Future[bytes]) -> None:
        self._fd = fd
        self._answer = answer
        self._buffer = bytearray()

    def on_readable(self) -> None:
        if self._answer.done():
            return
        try:
            chunk = os.read(self._fd, 1 << 20)
        except BlockingIOError:
            return
        except OSError as exc:
            self._answer.set_exception(exc)
            return
        if not chunk:
            self._answer.set_exception(EOFError())
            return
        self._buffer += chunk
        if len(self._buffer) >= _HEADER.size:
            (length,) = _HEADER.unpack_from(self._buffer)
            if len(self._buffer) >= _HEADER.size + length:
                self._answer.set_result(bytes(self._buffer[_HEADER.size :]))


def _write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _serve(memory_mb: int) -> None:
    """A worker's life: take a job, answer it, until the parent goes away."""
    limit = memory_mb * 1024 * 1024
    # Background work: the bot's own process (acknowledgements) wins the CPU first.
    with contextlib.suppress(OSError):
        os.nice(10)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # A hostile file can make a parser warn once per byte (pypdf does): the parent logs
    # each job's outcome, so the worker's own logging stays quiet.
    logging.disable(logging.ERROR)
    # The protocol owns the real stdout; anything a library prints goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    jobs = sys.stdin.buffer
    import bot.pipeline.extract  # noqa: F401  (ready before the first job)

    while True:
        header = _read_exactly(jobs, _HEADER.size)
        if header is None:
            return
        body = _read_exactly(jobs, _HEADER.unpack(header)[0])
        if body is None:
            return
        answer = _answer(body)
        try:
            frame = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PickleError, TypeError, AttributeError):
            frame = pickle.dumps(("error", ExtractionError()))
        try:
            _write_frame(out, frame)
        except OSError:
            return


def _answer(body: bytes) -> tuple[str, Any]:
    try:
        func, args = pickle.loads(body)
        return ("ok", func(*args))
    except LinkbriefError as exc:
        return ("error", exc)
    except MemoryError:
        return ("error", ExtractionError("That page is too large for me to read."))
    except Exception as exc:  # a bug some input reached: report its type, not the page
        return ("bug", type(exc).__name__)


_shared: WorkerPool | None = None
_settings: dict[str, Any] = {}


def configure(*, size: int | None = None, deadline_s: float | None = None) -> None:
    """Set the shared pool's size and per-job deadline (the composition root calls this)."""
    global _shared
    if size is not None:
        _settings["size"] = size
    if deadline_s is not None:
        _settings["deadline_s"] = deadline_s
    if _shared is not None:
        _shared.deadline_s = _settings.get("deadline_s", _shared.deadline_s)


def shared_pool() -> WorkerPool:
    """The process's one extraction pool, created on first use."""
    global _shared
    if _shared is None:
        _shared = WorkerPool(**_settings)
    return _shared


async def extract_off_loop(page: FetchedPage) -> Article:
    """``extract_article(page)`` in a worker process, under the pool's deadline."""
    from bot.pipeline.extract import PDF_TYPES, extract_article

    kind = page.content_type.split(";")[0].strip().lower()
    return await shared_pool().run(extract_article, page, lane="pdf" if kind in PDF_TYPES else "")


async def extract_file_off_loop(path: Path, max_bytes: int | None = None) -> Article:
    """``extract_file(path)`` in a worker process, under the pool's deadline; a file over
    ``max_bytes`` (the fetcher's cap for pages) is refused like a page would be."""
    from bot.pipeline.extract import extract_file

    if max_bytes is None:
        return await shared_pool().run(extract_file, path)
    return await shared_pool().run(extract_file, path, max_bytes)
