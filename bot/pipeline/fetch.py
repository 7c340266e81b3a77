"""``SafeFetcher``: an SSRF guard first, an HTTP client second.

Every hop (the first URL and each redirect) is vetted by ``AddressPolicy``,
resolved once, and connected to *by the checked address*, with the original
host name kept in the ``Host`` header and as the TLS server name. The whole
fetch runs under one wall-clock deadline, and the body is decompressed by hand
in bounded steps so a gzip/brotli bomb cannot grow past ``max_bytes`` in memory.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import Collection, Iterator, Mapping, Sequence
from urllib.parse import urljoin, urlsplit

import brotli
import httpx

from bot.config import Settings
from bot.errors import (
    ConnectFailed,
    FetchError,
    FetchTimeout,
    HTTPStatus,
    InvalidURL,
    NotAnArticle,
    TooLarge,
    TooManyRedirects,
)
from bot.pipeline.models import FetchedPage
from bot.pipeline.netguard import STANDARD_PORTS, AddressPolicy, IPAddress, Resolver, Target

ARTICLE_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/pdf", "text/plain"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ARTICLE_ACCEPT = (
    "text/html,application/xhtml+xml;q=0.9,application/pdf;q=0.8,text/plain;q=0.7,*/*;q=0.1"
)
# Headers the fetcher owns; a caller's value would break the guard or the decoder.
_RESERVED_HEADERS = frozenset(
    {"host", "accept-encoding", "connection", "content-length", "transfer-encoding", "te"}
)
# Credentials must not follow a redirect to another origin.
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
_DECODE_STEP = 64 * 1024  # most decoded bytes produced per decompressor call
_SNIFF_BYTES = 1024


class _Redirect(Exception):
    """Internal: the hop answered with a redirect to ``location``."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class SafeFetcher:
    """Fetches public web pages, refusing anything that points inward."""

    def __init__(
        self,
        *,
        timeout_s: float = 15.0,
        max_bytes: int = 5_000_000,
        max_redirects: int = 5,
        allowed_private_hosts: Sequence[str] = (),
        user_agent: str = "linkbrief/0.1",
        resolver: Resolver | None = None,
        allowed_ports: Collection[int] = STANDARD_PORTS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        self.policy = AddressPolicy(allowed_private_hosts, allowed_ports=allowed_ports)
        self._resolver = resolver
        # trust_env=False: no proxy from HTTP(S)_PROXY/ALL_PROXY could see or
        # reroute our traffic. No keep-alive: the pool is keyed by IP, so a kept
        # TLS connection verified for one host name could serve another.
        self._client = httpx.AsyncClient(
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_keepalive_connections=0),
            verify=ssl_context if ssl_context is not None else True,
        )
        self.requests_made = 0  # HTTP requests sent, redirects included
        self.bytes_read = 0  # raw (still compressed) body bytes received

    @classmethod
    def from_settings(cls, settings: Settings, *, resolver: Resolver | None = None) -> SafeFetcher:
        return cls(
            timeout_s=settings.fetch_timeout_s,
            max_bytes=settings.fetch_max_bytes,
            max_redirects=settings.fetch_max_redirects,
            allowed_private_hosts=settings.allowed_private_hosts,
            user_agent=settings.fetch_user_agent,
            resolver=resolver,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        accept: Collection[str] = ARTICLE_TYPES,
        headers: Mapping[str, str] | None = None,
    ) -> FetchedPage:
        """GET ``url`` through the guard; raise a ``FetchError`` a person can read."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._follow(url, accept, dict(headers or {}))
        except TimeoutError:
            raise FetchTimeout(
                f"That page took longer than {self.timeout_s:g} s to load, so I gave up."
            ) from None

    async def _follow(
        self, url: str, accept: Collection[str], headers: dict[str, str]
    ) -> FetchedPage:
        redirects: list[str] = []
        current = url
        while True:
            target = self.policy.check_url(current)
            addresses = await self.policy.resolve_and_check(target, self._resolver)
            try:
                page = await self._request(target, addresses, accept, headers)
            except _Redirect as hop:
                if len(redirects) >= self.max_redirects:
                    raise TooManyRedirects(
                        f"That link redirects more than {self.max_redirects} times; "
                        "share the final URL instead."
                    ) from None
                nxt = urljoin(target.url, hop.location)
                if _origin(nxt) != _origin(target.url):
                    headers = {
                        k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS
                    }
                redirects.append(nxt)
                current = nxt
                continue
            page.url = url
            page.redirects = redirects
            return page

    async def _request(
        self,
        target: Target,
        addresses: list[IPAddress],
        accept: Collection[str],
        extra: Mapping[str, str],
    ) -> FetchedPage:
        """One hop: connect to the first checked address that answers."""
        last_error: Exception | None = None
        for ip in addresses:
            request = self._client.build_request(
                "GET",
                target.url_for(ip),
                headers=self._headers(target, accept, extra),
                # The TLS name (SNI and certificate check) stays the host name.
                extensions={} if target.ip is not None else {"sni_hostname": target.host},
            )
            try:
                response = await self._client.send(request, stream=True)
            except httpx.ConnectError as exc:
                last_error = exc
                continue  # the next checked address may answer
            except httpx.TimeoutException:
                raise FetchTimeout() from None
            except httpx.HTTPError as exc:
                raise _connect_failed(target, exc) from None
            self.requests_made += 1
            try:
                return await self._read(target, response, accept)
            except httpx.TimeoutException:
                raise FetchTimeout() from None
            except httpx.HTTPError as exc:
                raise _connect_failed(target, exc) from None
            finally:
                await response.aclose()
        raise _connect_failed(target, last_error)

    def _headers(
        self, target: Target, accept: Collection[str], extra: Mapping[str, str]
    ) -> dict[str, str]:
        headers = {
            "Host": target.host_header,
            "User-Agent": self.user_agent,
            "Accept": ARTICLE_ACCEPT if set(accept) == ARTICLE_TYPES else _accept_header(accept),
            "Accept-Encoding": "gzip, deflate, br",
        }
        for name, value in extra.items():
            if name.lower() not in _RESERVED_HEADERS:
                headers[name] = value
        return headers

    async def _read(
        self, target: Target, response: httpx.Response, accept: Collection[str]
    ) -> FetchedPage:
        status = response.status_code
        if status in REDIRECT_STATUSES and response.headers.get("location"):
            raise _Redirect(response.headers["location"])
        headers = {k.lower(): v for k, v in response.headers.items()}
        media_type, charset = _parse_content_type(response.headers.get("content-type", ""))
        page = FetchedPage(
            url=target.url,
            final_url=target.url,
            status=status,
            content_type=media_type,
            charset=charset,
            body=b"",
            headers=headers,
        )
        if status == 304:
            return page
        if not 200 <= status < 300:
            raise HTTPStatus(status)
        sniff = media_type in ("", "application/octet-stream")
        if not sniff and media_type not in accept:
            raise NotAnArticle(media_type)
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise _too_large(self.max_bytes)
        page.body = await self._read_body(response)
        if sniff:
            page.content_type = _sniff(page.body)
            if page.content_type not in accept:
                raise NotAnArticle(media_type or "no content type")
        return page

    async def _read_body(self, response: httpx.Response) -> bytes:
        """The decoded body, refusing as soon as it (or the raw stream) passes the cap."""
        decoder = ContentDecoder(response.headers.get("content-encoding", ""))
        body = bytearray()
        raw = 0
        async for chunk in response.aiter_raw():
            raw += len(chunk)
            self.bytes_read += len(chunk)
            # Raw bytes are capped too: a stream of empty deflate blocks decodes to nothing.
            if raw > self.max_bytes:
                raise _too_large(self.max_bytes)
            for piece in decoder.feed(chunk):
                body += piece
                if len(body) > self.max_bytes:
                    raise _too_large(self.max_bytes)
        for piece in decoder.finish():
            body += piece
            if len(body) > self.max_bytes:
                raise _too_large(self.max_bytes)
        return bytes(body)


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
                out = self._obj.decompress(data, _DECODE_STEP)
            except zlib.error:
                if self._gzip or self._started:
                    raise
                # Some servers send raw deflate under "deflate"; retry that way once.
                self._wbits = -zlib.MAX_WBITS
                self._obj = zlib.decompressobj(self._wbits)
                self._started = True
                out = self._obj.decompress(data, _DECODE_STEP)
            self._started = True
            if out:
                yield out
            if self._obj.eof and self._obj.unused_data[:2] == b"\x1f\x8b" and self._gzip:
                data = self._obj.unused_data  # another gzip member follows
                self._obj = zlib.decompressobj(self._wbits)
                continue
            data = self._obj.unconsumed_tail
            # A full step may leave output pending inside zlib even with no input left.
            if not data and len(out) < _DECODE_STEP:
                return


class _BrotliStep:
    """brotli with output_buffer_limit, drained before it takes more input."""

    def __init__(self) -> None:
        self._obj = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._obj.process(data, output_buffer_limit=_DECODE_STEP)
            # Output can still be pending when can_accept_more_data() is already
            # True, so drain with empty input until a call yields nothing.
            while out:
                yield out
                if self._obj.is_finished():
                    return
                out = self._obj.process(b"", output_buffer_limit=_DECODE_STEP)
        except brotli.error:
            raise _corrupt() from None


def _step(coding: str) -> _ZlibStep | _BrotliStep:
    if coding in ("gzip", "x-gzip"):
        return _ZlibStep(gzip=True)
    if coding == "deflate":
        return _ZlibStep(gzip=False)
    if coding == "br":
        return _BrotliStep()
    raise FetchError(f"The site sent the page in an encoding I can't read ({coding}).")


def _parse_content_type(value: str) -> tuple[str, str | None]:
    media_type, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, val = param.partition("=")
        if name.strip().lower() == "charset" and val.strip():
            charset = val.strip().strip("\"'").lower()
    return media_type.strip().lower(), charset


def _sniff(body: bytes) -> str:
    """A media type from the first bytes, for servers that send none."""
    head = body[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"%pdf-"):
        return "application/pdf"
    if head.startswith((b"<!doctype html", b"<html")) or any(
        tag in head for tag in (b"<head", b"<body", b"<title", b"<article", b"<p>")
    ):
        return "text/html"
    return ""


def _accept_header(accept: Collection[str]) -> str:
    return ", ".join([*sorted(accept), "*/*;q=0.1"])


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _too_large(cap: int) -> TooLarge:
    return TooLarge(f"That page is larger than {cap / 1_000_000:g} MB, which is my limit.")


def _corrupt() -> FetchError:
    return FetchError("The site sent a damaged compressed page, so I couldn't read it.")


def _connect_failed(target: Target, exc: Exception | None) -> FetchError:
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return InvalidURL()
    if exc is not None and "CERTIFICATE" in str(exc).upper():
        return ConnectFailed(
            f"I couldn't open a secure connection to {target.host}: its certificate is not valid."
        )
    return ConnectFailed(f"I couldn't reach {target.host}. Check the link, or try again later.")
