"""``SafeFetcher``: an SSRF guard first, an HTTP client second.

Every hop (the first URL and each redirect) is vetted by ``AddressPolicy``,
resolved once, and connected to *by the checked address*, with the original
host name kept in the ``Host`` header and as the TLS server name. The whole
fetch runs under one wall-clock deadline, and the body is decompressed by hand
in bounded steps so a gzip/brotli bomb cannot grow past ``max_bytes`` in memory.

HTTP/1.1 is spoken with h11 over a plain asyncio connection, one per request:
a general client (pool, cookie jar, proxies, its own URL model) cost several
times the CPU of the exchange itself and needed every feature switched off.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Collection, Mapping, Sequence
from urllib.parse import urljoin, urlsplit

import certifi
import h11

from bot.config import Settings
from bot.errors import (
    ConnectFailed,
    FetchError,
    FetchTimeout,
    HTTPStatus,
    NotAnArticle,
    TooLarge,
    TooManyRedirects,
)
from bot.pipeline.decoding import ContentDecoder
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
_READ_BYTES = 256 * 1024  # most raw bytes taken from the socket per read
_MAX_HEAD_BYTES = 100 * 1024  # status line plus response headers
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
        # No proxy, no cookie jar, no pool: nothing is read from the environment,
        # nothing carries from one fetch to the next, and every connection is
        # opened to a checked address and closed after its one response (a kept
        # TLS connection verified for one host name could otherwise serve another).
        self._ssl_context = ssl_context
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
        """Nothing to release: no connection outlives its fetch. Kept for callers."""

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
        try:
            request = h11.Request(
                method="GET",
                target=target.request_target,
                headers=self._headers(target, accept, extra),
            )
        except (h11.LocalProtocolError, UnicodeError) as exc:
            raise _connect_failed(target, exc) from None  # a header no server could be sent
        last_error: Exception | None = None
        for ip in addresses:
            # Refused, unreachable, a failed TLS handshake, or (ValueError) a name the
            # TLS layer cannot encode as a server name, such as one with an empty label.
            try:
                reader, writer = await self._connect(target, ip)
            except (OSError, ValueError) as exc:
                last_error = exc
                continue  # the next checked address may answer
            try:
                return await self._exchange(target, request, reader, writer, accept)
            except (OSError, h11.ProtocolError) as exc:
                raise _connect_failed(target, exc) from None
            finally:
                # Close at once: no TLS close_notify for a hostile peer to stall on.
                writer.transport.abort()
        raise _connect_failed(target, last_error)

    async def _connect(
        self, target: Target, ip: IPAddress
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to the checked address; TLS is verified against the host name."""
        # An IP literal is connected to directly: asyncio resolves nothing here.
        if target.scheme != "https":
            return await asyncio.open_connection(ip.compressed, target.port, limit=_READ_BYTES)
        target.host.encode("idna")  # ValueError now, not a logged failure inside the loop
        if self._ssl_context is None:
            # Same trust store as before (certifi, not the environment), built once.
            self._ssl_context = ssl.create_default_context(cafile=certifi.where())
        self._ssl_context.set_alpn_protocols(["http/1.1"])
        return await asyncio.open_connection(
            ip.compressed,
            target.port,
            ssl=self._ssl_context,
            server_hostname=target.host,  # SNI and certificate name: the host, not the IP
            limit=_READ_BYTES,
        )

    async def _exchange(
        self,
        target: Target,
        request: h11.Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        accept: Collection[str],
    ) -> FetchedPage:
        conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD_BYTES)
        writer.write(conn.send(request) + conn.send(h11.EndOfMessage()))
        response = await _next_event(conn, reader)
        while isinstance(response, h11.InformationalResponse):  # 100 Continue, 103 Early Hints
            response = await _next_event(conn, reader)
        if not isinstance(response, h11.Response):
            raise h11.RemoteProtocolError("no response")
        self.requests_made += 1
        return await self._read(target, response, conn, reader, accept)

    def _headers(
        self, target: Target, accept: Collection[str], extra: Mapping[str, str]
    ) -> list[tuple[str, str]]:
        headers = {
            "Host": target.host_header,
            "User-Agent": self.user_agent,
            "Accept": ARTICLE_ACCEPT if set(accept) == ARTICLE_TYPES else _accept_header(accept),
            "Accept-Encoding": "gzip, deflate, br",
            "Connection": "close",
        }
        for name, value in extra.items():
            if name.lower() not in _RESERVED_HEADERS:
                headers[name] = value
        return list(headers.items())

    async def _read(
        self,
        target: Target,
        response: h11.Response,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        accept: Collection[str],
    ) -> FetchedPage:
        status = response.status_code
        headers = _decode_headers(response.headers)
        if status in REDIRECT_STATUSES and headers.get("location"):
            raise _Redirect(headers["location"])
        media_type, charset = _parse_content_type(headers.get("content-type", ""))
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
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise _too_large(self.max_bytes)
        page.body = await self._read_body(conn, reader, headers.get("content-encoding", ""))
        if sniff:
            page.content_type = _sniff(page.body)
            if page.content_type not in accept:
                raise NotAnArticle(media_type or "no content type")
        return page

    async def _read_body(
        self, conn: h11.Connection, reader: asyncio.StreamReader, content_encoding: str
    ) -> bytes:
        """The decoded body, refusing as soon as it (or the raw stream) passes the cap."""
        decoder = ContentDecoder(content_encoding)
        body = bytearray()
        raw = 0
        while True:
            event = await _next_event(conn, reader)
            if not isinstance(event, h11.Data):
                break  # EndOfMessage: h11 has checked the length or the last chunk
            chunk = event.data
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


def _connect_failed(target: Target, exc: Exception | None) -> FetchError:
    if isinstance(exc, ssl.SSLCertVerificationError) or "CERTIFICATE" in str(exc).upper():
        return ConnectFailed(
            f"I couldn't open a secure connection to {target.host}: its certificate is not valid."
        )
    return ConnectFailed(f"I couldn't reach {target.host}. Check the link, or try again later.")


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader) -> object:
    """h11's next event, reading from the socket whenever it needs more bytes."""
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        conn.receive_data(await reader.read(_READ_BYTES))  # b"" at EOF tells h11 it closed


def _decode_headers(raw: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    """Lower-case names; a repeated header's values joined with ", " (as httpx did)."""
    # One encoding for the whole block: ASCII, else UTF-8, else Latin-1 (never fails).
    encoding = "iso-8859-1"
    for candidate in ("ascii", "utf-8"):
        try:
            for name, value in raw:
                name.decode(candidate), value.decode(candidate)
        except UnicodeDecodeError:
            continue
        encoding = candidate
        break
    headers: dict[str, str] = {}
    for name, value in raw:  # h11 has already lower-cased the names
        key, text = name.decode(encoding), value.decode(encoding)
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers
