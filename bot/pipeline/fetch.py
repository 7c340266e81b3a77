"""``SafeFetcher``: an SSRF guard first, an HTTP client second.

The HTTP client is httpx2 (the generation the openai SDK talks through, so the
process has one HTTP stack). What is ours sits at httpx2's documented seams:

1. ``GuardedTransport`` (an ``AsyncBaseTransport``) vets every request it is
   handed, the first URL and each redirect hop alike, with ``AddressPolicy``;
   resolves the host once; and sends the request to *the checked address*, with
   the host name kept in the ``Host`` header and as the TLS server name (the
   ``sni_hostname`` request extension), so certificates are still verified
   against the name. A second DNS answer (rebinding) never matters.
2. Redirects are followed here, one ``next_request`` at a time, so a redirect's
   own body is never read and the hop count and credential rule are ours;
   httpx2 builds each next request (method, URL joining, cookies).
3. The body is read raw and decoded by ``ContentDecoder`` in bounded steps, so
   a compression bomb stops at ``max_bytes`` whatever its ratio.

One wall-clock deadline covers the whole fetch; one byte cap covers the raw and
the decoded body. A cookie jar lives for one fetch (a site that sets a cookie
and redirects to itself works); nothing carries to the next fetch: connections
are not kept alive (a TLS connection verified for one host name must not serve
another on the same address), and the environment is never read
(``FETCH_PROXY`` and ``FETCH_CA_BUNDLE`` are settings).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

import certifi
import httpx2

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
from bot.pipeline.decoding import ContentDecoder, supported_codings
from bot.pipeline.models import FetchedPage
from bot.pipeline.netguard import STANDARD_PORTS, AddressPolicy, Resolver

if TYPE_CHECKING:
    from bot.config import Settings

ARTICLE_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/pdf", "text/plain"})
ARTICLE_ACCEPT = (
    "text/html,application/xhtml+xml;q=0.9,application/pdf;q=0.8,text/plain;q=0.7,*/*;q=0.1"
)
SYSTEM_TRUST = "system"  # FETCH_CA_BUNDLE value: the operating system's trust store
# Headers the fetcher owns; a caller's value would break the guard or the decoder.
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "accept-encoding",
        "connection",
        "content-length",
        "transfer-encoding",
        "te",
        "proxy-authorization",
    }
)
# Credentials must not follow a redirect to another origin (httpx2 itself keeps
# Authorization on an http -> https hop of the same host; we don't).
_CREDENTIAL_HEADERS = ("authorization", "proxy-authorization")
_SNIFF_BYTES = 1024


class GuardedTransport(httpx2.AsyncBaseTransport):
    """Sends each request to an address the policy checked, never to a name.

    Wraps the shared ``AsyncHTTPTransport`` for one fetch: closing it (when the
    fetch's client closes) leaves the shared pool and its TLS context alone.
    """

    def __init__(
        self,
        inner: httpx2.AsyncBaseTransport,
        policy: AddressPolicy,
        resolver: Resolver | None,
        fetcher: SafeFetcher,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._resolver = resolver
        self._fetcher = fetcher

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        target = self._policy.check_url(str(request.url))
        addresses = await self._policy.resolve_and_check(target, self._resolver)
        if target.scheme == "https":
            # A name TLS cannot carry as SNI ("a..b.test"): refuse here, since the
            # TLS layer's ValueError would surface inside the event loop instead.
            try:
                target.host.encode("idna")
            except UnicodeError:
                raise ConnectFailed(
                    f"I couldn't open a secure connection to {target.host}."
                ) from None
        last_error: httpx2.ConnectError | None = None
        for ip in addresses:
            pinned = httpx2.Request(
                request.method,
                request.url.copy_with(host=ip.compressed),
                headers=request.headers,
                stream=request.stream,
                # SNI and certificate check on the host name, not on the address.
                extensions={**request.extensions, "sni_hostname": target.host},
            )
            pinned.headers["Host"] = target.host_header
            try:
                response = await self._inner.handle_async_request(pinned)
            except httpx2.ConnectError as exc:  # refused, unreachable, failed handshake
                last_error = exc
                continue  # the next checked address may answer
            self._fetcher.requests_made += 1
            return response
        assert last_error is not None  # resolve_and_check never returns an empty list
        raise last_error

    async def aclose(self) -> None:
        """The shared transport outlives this fetch: ``SafeFetcher.aclose`` closes it."""


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
        proxy: str | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        self.policy = AddressPolicy(allowed_private_hosts, allowed_ports=allowed_ports)
        self._resolver = resolver
        self._accept_encoding = ", ".join(supported_codings())
        self._transport = httpx2.AsyncHTTPTransport(
            verify=ssl_context or trust_context(ca_bundle),
            trust_env=False,  # HTTPS_PROXY, SSL_CERT_FILE...: settings, not the environment
            proxy=proxy or None,  # the guard still vets (and pins) every target behind it
            # No kept connections (see the module docstring); no cap on open ones, as before.
            limits=httpx2.Limits(max_connections=None, max_keepalive_connections=0),
        )
        self.requests_made = 0  # HTTP requests answered, redirects included
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
            proxy=settings.fetch_proxy.get_secret_value() if settings.fetch_proxy else None,
            ca_bundle=settings.fetch_ca_bundle,
        )

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def fetch(
        self,
        url: str,
        *,
        accept: Collection[str] = ARTICLE_TYPES,
        headers: Mapping[str, str] | None = None,
    ) -> FetchedPage:
        """GET ``url`` through the guard; raise a ``FetchError`` a person can read."""
        # Vetted as typed, before httpx2 parses it: our parser decides what is refused.
        target = self.policy.check_url(url)
        try:
            async with asyncio.timeout(self.timeout_s):
                page = await self._follow(target.url, target.host, accept, headers or {})
        except (TimeoutError, httpx2.TimeoutException):
            raise FetchTimeout(
                f"That page took longer than {self.timeout_s:g} s to load, so I gave up."
            ) from None
        page.url = url
        return page

    async def _follow(
        self, url: str, host: str, accept: Collection[str], extra: Mapping[str, str]
    ) -> FetchedPage:
        transport = GuardedTransport(self._transport, self.policy, self._resolver, self)
        async with httpx2.AsyncClient(
            transport=transport,
            trust_env=False,
            follow_redirects=False,  # followed below, hop by hop
            timeout=self.timeout_s,
        ) as client:  # its cookie jar lives for this one fetch
            request = client.build_request("GET", url, headers=self._headers(accept, extra))
            redirects: list[str] = []
            current = url  # as the guard normalised it; then each hop as httpx2 joined it
            while True:
                response = await _send(client, request, host)
                try:
                    if response.next_request is None:
                        page = await self._read(response, accept)
                        page.final_url = current
                        page.redirects = redirects
                        return page
                    if len(redirects) >= self.max_redirects:
                        raise TooManyRedirects(
                            f"That link redirects more than {self.max_redirects} times; "
                            "share the final URL instead."
                        )
                    request = response.next_request
                    if request.url.origin != response.request.url.origin:
                        for name in _CREDENTIAL_HEADERS:
                            request.headers.pop(name, None)
                    current = str(request.url)
                    redirects.append(current)
                    host = request.url.host
                finally:
                    await response.aclose()  # a redirect's body is never read

    def _headers(self, accept: Collection[str], extra: Mapping[str, str]) -> dict[str, str]:
        headers = {
            "User-Agent": self.user_agent,
            "Accept": ARTICLE_ACCEPT if set(accept) == ARTICLE_TYPES else _accept_header(accept),
            "Accept-Encoding": self._accept_encoding,
            "Connection": "close",
        }
        for name, value in extra.items():
            if name.lower() not in _RESERVED_HEADERS:
                headers[name] = value
        return headers

    async def _read(self, response: httpx2.Response, accept: Collection[str]) -> FetchedPage:
        status = response.status_code
        headers = dict(response.headers.items())  # lower-case; repeats joined with ", "
        media_type, charset = _parse_content_type(headers.get("content-type", ""))
        url = str(response.request.url)
        page = FetchedPage(
            url=url,
            final_url=url,
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
        try:
            page.body = await self._read_body(response, headers.get("content-encoding", ""))
        except httpx2.TimeoutException:
            raise  # the caller reports the deadline
        except httpx2.TransportError as exc:
            raise _transport_failed(response.request.url.host, exc) from None
        if sniff:
            page.content_type = _sniff(page.body)
            if page.content_type not in accept:
                raise NotAnArticle(media_type or "no content type")
        return page

    async def _read_body(self, response: httpx2.Response, content_encoding: str) -> bytes:
        """The decoded body, refusing as soon as it (or the raw stream) passes the cap."""
        decoder = ContentDecoder(content_encoding)
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


def trust_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Certificates trusted for fetching: a PEM bundle, the system store, or certifi's."""
    if ca_bundle == SYSTEM_TRUST:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=ca_bundle or certifi.where())


async def _send(client: httpx2.AsyncClient, request: httpx2.Request, host: str) -> httpx2.Response:
    """One hop, its httpx2 errors turned into ``FetchError`` (guard errors pass as they are)."""
    try:
        return await client.send(request, stream=True)
    except httpx2.TimeoutException:
        raise  # the caller reports the deadline
    except httpx2.ProxyError:
        raise ConnectFailed(
            f"I couldn't reach {host} through the configured proxy (FETCH_PROXY)."
        ) from None
    except (httpx2.InvalidURL, httpx2.UnsupportedProtocol):
        raise InvalidURL(
            "That link (or a page it redirects to) is not a valid web address."
        ) from None
    except httpx2.HTTPError as exc:
        raise _transport_failed(host, exc) from None
    except ValueError as exc:  # a name the TLS layer cannot encode, such as "a..b.test"
        raise _transport_failed(host, exc) from None


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


def _too_large(cap: int) -> TooLarge:
    return TooLarge(f"That page is larger than {cap / 1_000_000:g} MB, which is my limit.")


def _transport_failed(host: str, exc: Exception) -> FetchError:
    if (
        isinstance(exc.__context__, ssl.SSLCertVerificationError)
        or "CERTIFICATE" in str(exc).upper()
    ):
        return ConnectFailed(
            f"I couldn't open a secure connection to {host}: its certificate is not valid."
        )
    return ConnectFailed(f"I couldn't reach {host}. Check the link, or try again later.")
