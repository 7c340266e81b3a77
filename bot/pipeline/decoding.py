"""Content-Encoding undone in bounded steps (gzip, deflate, brotli, zstd, chained).

A compression bomb must not grow past the fetcher's cap in memory: no single
decompressor call here produces more than ``DECODE_STEP`` bytes, so the caller
can stop at its cap after any piece.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Iterator

import brotli

# zstd: the standard library from Python 3.14, else its backport (httpx2[zstd]).
# Absent both, "zstd" is simply not offered in Accept-Encoding.
try:
    if sys.version_info >= (3, 14):
        from compression.zstd import ZstdDecompressor, ZstdError
    else:
        from backports.zstd import ZstdDecompressor, ZstdError
except ImportError:  # pragma: no cover - declared in pyproject, so only a broken install
    ZstdDecompressor = None  # type: ignore[assignment,misc]

from bot.errors import FetchError

DECODE_STEP = 64 * 1024  # most decoded bytes produced per decompressor call


class ContentDecoder:
    """Undoes a Content-Encoding chain in bounded steps: each piece is about 64 KiB at most.

    ``feed(raw)`` yields decoded pieces; however hugely a chunk expands, no single
    decompressor call produces more than one step, so the caller can stop at its cap.
    Raises ``FetchError`` for an unknown coding or a damaged stream.
    """

    def __init__(self, content_encoding: str) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        # Codings are listed in the order applied, so undo them in reverse.
        self._steps = [_step(c) for c in reversed(codings) if c != "identity"]

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._run(0, data)

    def finish(self) -> Iterator[bytes]:
        return iter(())  # every step drains itself on each feed

    def _run(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._steps):
            if data:
                yield data
            return
        for piece in self._steps[index].feed(data):
            yield from self._run(index + 1, piece)


class _ZlibStep:
    """gzip or deflate; decompress(data, max_length) keeps each output bounded."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._wbits = 16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(self._wbits)
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            yield from self._drain(data)
        except zlib.error:
            raise _corrupt() from None

    def _drain(self, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                out = self._obj.decompress(data, DECODE_STEP)
            except zlib.error:
                if self._gzip or self._started:
                    raise
                # Some servers send raw deflate under "deflate"; retry that way once.
                self._wbits = -zlib.MAX_WBITS
                self._obj = zlib.decompressobj(self._wbits)
                self._started = True
                out = self._obj.decompress(data, DECODE_STEP)
            self._started = True
            if out:
                yield out
            if self._obj.eof and self._obj.unused_data[:2] == b"\x1f\x8b" and self._gzip:
                data = self._obj.unused_data  # another gzip member follows
                self._obj = zlib.decompressobj(self._wbits)
                continue
            data = self._obj.unconsumed_tail
            # A full step may leave output pending inside zlib even with no input left.
            if not data and len(out) < DECODE_STEP:
                return


class _BrotliStep:
    """brotli with output_buffer_limit, drained before it takes more input."""

    def __init__(self) -> None:
        self._obj = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._obj.process(data, output_buffer_limit=DECODE_STEP)
            # Output can still be pending when can_accept_more_data() is already
            # True, so drain with empty input until a call yields nothing.
            while out:
                yield out
                if self._obj.is_finished():
                    return
                out = self._obj.process(b"", output_buffer_limit=DECODE_STEP)
        except brotli.error:
            raise _corrupt() from None


class _ZstdStep:
    """zstd with max_length, drained while the decompressor holds output; frames may follow."""

    def __init__(self) -> None:
        self._obj = ZstdDecompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            while True:
                out = self._obj.decompress(data, DECODE_STEP)
                data = b""
                if out:
                    yield out
                if self._obj.eof:
                    rest = self._obj.unused_data
                    if not rest:
                        return
                    self._obj = ZstdDecompressor()  # another frame follows
                    data = rest
                elif self._obj.needs_input:
                    return
        except ZstdError:
            raise _corrupt() from None


def supported_codings() -> list[str]:
    """What the fetcher offers in Accept-Encoding, best first."""
    codings = ["gzip", "deflate", "br"]
    if ZstdDecompressor is not None:
        codings.append("zstd")
    return codings


def _step(coding: str) -> _ZlibStep | _BrotliStep | _ZstdStep:
    if coding in ("gzip", "x-gzip"):
        return _ZlibStep(gzip=True)
    if coding == "deflate":
        return _ZlibStep(gzip=False)
    if coding == "br":
        return _BrotliStep()
    if coding == "zstd" and ZstdDecompressor is not None:
        return _ZstdStep()
    raise FetchError(f"The site sent the page in an encoding I can't read ({coding}).")


def _corrupt() -> FetchError:
    return FetchError("The site sent a damaged compressed page, so I couldn't read it.")
