"""Content-Encoding undone in bounded steps (gzip, deflate, brotli, zstd, chained).

A compression bomb must not grow past the fetcher's cap in memory: no single
decompressor call here produces more than ``DECODE_STEP`` bytes, so the caller
can stop at its cap after any piece. A ``Content-Encoding`` list longer than
``MAX_CODINGS`` is refused before any decoder is built (33,000 ``br`` entries
once cost 200 MB for a one-byte body; a thousand gzip layers overflowed the stack).

``decode_text`` turns a body into text under a declared charset: only the web's
text encodings are honoured (``charset=undefined``, ``rot13``, ``punycode``… fall
back to UTF-8 / cp1252), and it never raises.
"""

from __future__ import annotations

import codecs
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
# Real servers send one coding, rarely two; curl refuses more than five.
MAX_CODINGS = 5
MAX_HEADER_CHARS = 1024  # a Content-Encoding value longer than this is refused unread


class ContentDecoder:
    """Undoes a Content-Encoding chain in bounded steps: each piece is about 64 KiB at most.

    ``feed(raw)`` yields decoded pieces; however hugely a chunk expands, no single
    decompressor call produces more than one step, so the caller can stop at its cap.
    Raises ``FetchError`` for an unknown coding or a damaged stream.
    """

    def __init__(self, content_encoding: str) -> None:
        if len(content_encoding) > MAX_HEADER_CHARS:
            raise _too_many()
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > MAX_CODINGS:
            raise _too_many()
        # Codings are listed in the order applied, so undo them in reverse.
        self._steps = [_step(c) for c in reversed(codings)]

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._run(0, data)

    def finish(self) -> Iterator[bytes]:
        return iter(())  # every step drains itself on each feed

    def _run(self, index: int, data: bytes) -> Iterator[bytes]:
        # Recursion depth is at most MAX_CODINGS.
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
    # The coding is named, but bounded: it came from the server.
    raise FetchError(f"The site sent the page in an encoding I can't read ({coding[:40]}).")


def _too_many() -> FetchError:
    return FetchError("The site wrapped the page in too many layers of compression to read.")


def _corrupt() -> FetchError:
    return FetchError("The site sent a damaged compressed page, so I couldn't read it.")


# Text encodings a web page may declare (the WHATWG Encoding Standard's, as Python
# names them). Anything else Python can "decode" — rot13, base64, zlib, punycode
# (quadratic), undefined (always raises), unicode_escape — is not a page charset.
_WEB_CHARSETS = (
    "utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "ascii", "latin-1", "cp437",
    "cp850", "cp866", "cp874", "cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255",
    "cp1256", "cp1257", "cp1258", "iso8859-2", "iso8859-3", "iso8859-4", "iso8859-5",
    "iso8859-6", "iso8859-7", "iso8859-8", "iso8859-10", "iso8859-13", "iso8859-14",
    "iso8859-15", "iso8859-16", "koi8-r", "koi8-u", "mac-roman", "mac-cyrillic", "gbk",
    "gb2312", "gb18030", "big5", "big5hkscs", "euc-jp", "iso2022-jp", "shift-jis",
    "cp932", "euc-kr", "cp949", "hz", "utf-8-sig", "tis-620",
)  # fmt: skip
_ALLOWED_CODECS = frozenset(codecs.lookup(name).name for name in _WEB_CHARSETS)
MAX_CHARSET_CHARS = 40


def text_codec(charset: str | None) -> str | None:
    """The Python codec for a declared page charset, or None if it is not a web text encoding."""
    if not charset or len(charset) > MAX_CHARSET_CHARS:
        return None
    label = charset.strip().strip("\"'").lower()
    if label in ("iso-8859-1", "latin1", "us-ascii"):
        label = "cp1252"  # browsers read these labels as windows-1252
    try:
        name = codecs.lookup(label).name
    except (LookupError, ValueError):
        return None
    return name if name in _ALLOWED_CODECS else None


def decode_text(data: bytes, charset: str | None) -> str:
    """``data`` as text: the declared web charset, else UTF-8, else cp1252; never raises."""
    for encoding in (text_codec(charset), "utf-8"):
        if encoding:
            try:
                return data.decode(encoding)
            except UnicodeError:  # UnicodeDecodeError and a codec's own UnicodeError
                continue
    return data.decode("cp1252", errors="replace")
