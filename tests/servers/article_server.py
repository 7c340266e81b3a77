"""A local web server for tests: fixture pages plus hostile endpoints.

In async tests::

    async with ArticleServer(host="127.0.0.2") as srv:
        page = await fetcher.fetch(srv.url("/pages/example_article.html"))
        assert srv.hits["/pages/example_article.html"] == 1

From sync code (the CLI runs as a subprocess)::

    srv = ArticleServer()
    base = srv.start_in_thread()   # "http://127.0.0.1:PORT"
    ...
    srv.stop()

Endpoints: ``/pages/<name>`` (files in tests/fixtures/pages), ``/article``,
``/redirect/<n>``, ``/redirect-to?url=…&status=…``, ``/drip``, ``/gzip-bomb``,
``/brotli-bomb``, ``/zstd-bomb``, ``/endless``, ``/lying-length``, ``/json``, ``/image.png``,
``/status/<code>``, ``/etag/<name>``, ``/no-type[?kind=html|pdf|binary]``,
``/compressed?encoding=gzip|deflate|raw-deflate|br|zstd[,…]`` (``ARTICLE_HTML``, encoded),
``/cookie-gate`` (redirects to itself, setting a cookie, until the cookie comes back).
Every request, to any path, is logged in ``hits`` and ``requests``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import ssl
import struct
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

import brotli
from aiohttp import web
from backports import zstd

from tests.servers.loopback import LoopbackServer

PAGES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "pages"
BOMB_SIZE = 1 << 30  # decoded size of each bomb: 1 GiB
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/rss+xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".json": "application/json",
    ".timedtext": "text/xml; charset=UTF-8",  # a YouTube caption track (issue 20)
}
REDIRECT_CYCLE = (301, 302, 303, 307, 308)
ARTICLE_HTML = (
    b"<!doctype html><html><head><title>A small article</title></head><body><article>"
    b"<h1>A small article</h1><p>The redirect chain ended here, at a short page with one "
    b"paragraph of text for the fetcher tests.</p></article></body></html>"
)
# A valid 1x1 transparent PNG.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
MINIMAL_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
_NO_TYPE_MARKER = "X-Test-Drop-Content-Type"
_LAST_MODIFIED = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names

    @property
    def host(self) -> str:
        return self.headers.get("host", "")


@functools.cache
def gzip_bomb() -> bytes:
    """~1 MB of gzip that inflates to 1 GiB of zeros, built in milliseconds.

    After a full flush deflate forgets its history, so every 1 MiB block of
    zeros compresses to the same bytes: compress one, repeat it, add a trailer.
    """
    block = bytes(1 << 20)
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    end = comp.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(BOMB_SIZE // len(block)):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, BOMB_SIZE & 0xFFFFFFFF)
    return header + segment * (BOMB_SIZE // len(block)) + end + trailer


@functools.cache
def zstd_bomb() -> bytes:
    """About 40 KB of zstd that expands to 1 GiB of zeros (one frame, built in blocks)."""
    block = bytes(1 << 20)
    comp = zstd.ZstdCompressor()
    parts = [comp.compress(block) for _ in range(BOMB_SIZE // len(block))]
    parts.append(comp.flush())
    return b"".join(parts)


@functools.cache
def brotli_bomb() -> bytes:
    """Under 1 KB of brotli that expands to 1 GiB of zeros (about a second to build)."""
    block = bytes(1 << 20)
    comp = brotli.Compressor(quality=5, lgwin=24)
    parts = [comp.process(block) for _ in range(BOMB_SIZE // len(block))]
    parts.append(comp.finish())
    return b"".join(parts)


class ArticleServer(LoopbackServer):
    """An aiohttp server on ``host`` (port 0 = any free port) with a request log."""

    thread_name = "article-server"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        pages_dir: Path = PAGES_DIR,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(host, port)
        self.pages_dir = pages_dir
        self.ssl_context = ssl_context  # serve https when set
        self.hits: Counter[str] = Counter()  # path -> requests seen
        self.requests: list[RecordedRequest] = []
        self.bodies_sent: Counter[str] = Counter()  # /etag/<name> -> full bodies sent

    @property
    def total_hits(self) -> int:
        return sum(self.hits.values())

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        app.on_response_prepare.append(_drop_content_type)
        app.add_routes(self._routes())
        return app

    def runner_options(self) -> dict[str, Any]:
        # handler_cancellation: a client that hangs up stops /drip and /endless.
        return {"handler_cancellation": True, "access_log": None, "shutdown_timeout": 1.0}

    def site_options(self) -> dict[str, Any]:
        return {"ssl_context": self.ssl_context}

    # --- plumbing --------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: web.Handler) -> web.StreamResponse:
        self.hits[request.path] += 1
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append(
            RecordedRequest(request.method, request.path, request.query_string, headers)
        )
        return await handler(request)

    def _routes(self) -> list[web.RouteDef]:
        return [
            web.get("/pages/{name}", self._page),
            web.get("/article", self._article),
            web.get("/redirect/{n:\\d+}", self._redirect_chain),
            web.get("/redirect-to", self._redirect_to),
            web.get("/drip", self._drip),
            web.get("/gzip-bomb", self._gzip_bomb),
            web.get("/brotli-bomb", self._brotli_bomb),
            web.get("/zstd-bomb", self._zstd_bomb),
            web.get("/endless", self._endless),
            web.get("/lying-length", self._lying_length),
            web.get("/json", self._json),
            web.get("/image.png", self._image),
            web.get("/status/{code:\\d+}", self._status),
            web.get("/etag/{name}", self._etag),
            web.get("/no-type", self._no_type),
            web.get("/compressed", self._compressed),
            web.get("/cookie-gate", self._cookie_gate),
        ]

    # --- handlers -------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        path = self.pages_dir / name
        if name.startswith(".") or not path.is_file():
            return web.Response(status=404, text="no such page", content_type="text/plain")
        ctype = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        return web.Response(body=path.read_bytes(), headers={"Content-Type": ctype})

    async def _article(self, request: web.Request) -> web.Response:
        return _html(ARTICLE_HTML)

    async def _redirect_chain(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if n == 0:
            return _html(ARTICLE_HTML)
        status = int(request.query.get("status", REDIRECT_CYCLE[n % len(REDIRECT_CYCLE)]))
        # Vary the Location form so clients must resolve relative references.
        forms = (f"http://{request.host}/redirect/{n - 1}", f"/redirect/{n - 1}", str(n - 1))
        return web.Response(status=status, headers={"Location": forms[n % 3]})

    async def _redirect_to(self, request: web.Request) -> web.Response:
        status = int(request.query.get("status", "302"))
        return web.Response(status=status, headers={"Location": request.query["url"]})

    async def _drip(self, request: web.Request) -> web.StreamResponse:
        interval = float(request.query.get("interval", "2"))
        resp = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
        await resp.prepare(request)
        try:
            while True:
                await resp.write(b"<")
                await asyncio.sleep(interval)
        except ConnectionError:  # the client hung up
            return resp

    async def _gzip_bomb(self, request: web.Request) -> web.Response:
        body = await asyncio.get_running_loop().run_in_executor(None, gzip_bomb)
        return web.Response(
            body=body, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"}
        )

    async def _brotli_bomb(self, request: web.Request) -> web.Response:
        body = await asyncio.get_running_loop().run_in_executor(None, brotli_bomb)
        return web.Response(
            body=body, headers={"Content-Type": "text/html", "Content-Encoding": "br"}
        )

    async def _zstd_bomb(self, request: web.Request) -> web.Response:
        body = await asyncio.get_running_loop().run_in_executor(None, zstd_bomb)
        return web.Response(
            body=body, headers={"Content-Type": "text/html", "Content-Encoding": "zstd"}
        )

    async def _endless(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
        await resp.prepare(request)
        chunk = b"<p>and on and on</p>\n" * 3000
        try:
            while True:
                await resp.write(chunk)
        except ConnectionError:  # the client hung up
            return resp

    async def _lying_length(self, request: web.Request) -> web.StreamResponse:
        # Announces 10 GB, sends 1 KB and ends: only the header is a warning sign.
        resp = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
        resp.content_length = 10_000_000_000
        resp.force_close()  # then hang up, so a client that trusts the header errors out
        await resp.prepare(request)
        with contextlib.suppress(ConnectionError):
            await resp.write(b"<p>" + b"x" * 1021)
        return resp

    async def _json(self, request: web.Request) -> web.Response:
        return web.json_response({"title": "not an article", "items": [1, 2, 3]})

    async def _image(self, request: web.Request) -> web.Response:
        return web.Response(body=TINY_PNG, headers={"Content-Type": "image/png"})

    async def _status(self, request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        if code in (204, 304) or code < 200:
            return web.Response(status=code)
        return web.Response(
            status=code,
            text=f"<html><body><p>status {code}</p></body></html>",
            content_type="text/html",
        )

    async def _etag(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        path = self.pages_dir / name
        if not name.startswith(".") and path.is_file():
            body = path.read_bytes()
            ctype = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        else:
            body = f"<html><body><article><p>Resource {name}.</p></article></body></html>".encode()
            ctype = "text/html; charset=utf-8"
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        validators = {"ETag": etag, "Last-Modified": format_datetime(_LAST_MODIFIED, usegmt=True)}
        if _not_modified(request, etag):
            return web.Response(status=304, headers=validators)
        self.bodies_sent[name] += 1
        return web.Response(body=body, headers={**validators, "Content-Type": ctype})

    async def _no_type(self, request: web.Request) -> web.Response:
        kind = request.query.get("kind", "html")
        body = {"html": ARTICLE_HTML, "pdf": MINIMAL_PDF, "binary": bytes(range(256))}[kind]
        return web.Response(body=body, headers={_NO_TYPE_MARKER: "1"})

    async def _compressed(self, request: web.Request) -> web.Response:
        # ?encoding=gzip|deflate|raw-deflate|br, or a list applied in order ("gzip,br").
        codings = [c for c in request.query.get("encoding", "gzip").split(",") if c]
        body = ARTICLE_HTML
        for coding in codings:
            body = _COMPRESSORS[coding](body)
        header = ", ".join("deflate" if c == "raw-deflate" else c for c in codings)
        return web.Response(
            body=body,
            headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": header},
        )

    async def _cookie_gate(self, request: web.Request) -> web.Response:
        # Like a consent or session wall: no cookie, no page, only a redirect to itself.
        if request.cookies.get("gate") == "open":
            return _html(ARTICLE_HTML)
        response = web.Response(status=302, headers={"Location": "/cookie-gate"})
        response.set_cookie("gate", "open", path="/")
        return response


def _raw_deflate(data: bytes) -> bytes:
    comp = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return comp.compress(data) + comp.flush()


_COMPRESSORS = {
    "gzip": lambda data: zlib.compress(data, wbits=16 + zlib.MAX_WBITS),
    "deflate": zlib.compress,
    "raw-deflate": _raw_deflate,
    "br": brotli.compress,
    "zstd": zstd.compress,
    "identity": lambda data: data,
}


def _html(body: bytes) -> web.Response:
    return web.Response(body=body, headers={"Content-Type": "text/html; charset=utf-8"})


def _not_modified(request: web.Request, etag: str) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or etag in tags
    since = request.headers.get("If-Modified-Since")
    if since:
        try:
            return parsedate_to_datetime(since) >= _LAST_MODIFIED
        except (TypeError, ValueError):
            return False
    return False


async def _drop_content_type(request: web.Request, response: web.StreamResponse) -> None:
    # aiohttp always adds a Content-Type to a body; /no-type needs a response without one.
    if _NO_TYPE_MARKER in response.headers:
        del response.headers[_NO_TYPE_MARKER]
        response.headers.pop("Content-Type", None)
