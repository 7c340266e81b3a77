"""SafeFetcher against real servers on loopback: SSRF, rebinding, redirects, limits, types.

The article server runs on 127.0.0.2 (allow-listed); a canary server on
127.0.0.1 stands for the private network and must never see a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import resource
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from bot.config import Settings
from bot.errors import (
    BlockedAddress,
    ConnectFailed,
    FetchTimeout,
    HTTPStatus,
    InvalidURL,
    NotAnArticle,
    TooLarge,
    TooManyRedirects,
)
from bot.pipeline.decoding import ContentDecoder
from bot.pipeline.fetch import ARTICLE_TYPES, SafeFetcher
from tests.servers.article_server import ArticleServer, brotli_bomb, gzip_bomb, zstd_bomb

ALLOWED = ["127.0.0.2"]


class FakeResolver:
    """Maps names to fixed answers (a list per call, the last one repeating) and counts calls."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        self.table = table
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        answers = self.table.get(host)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        n = self.calls.count(host) - 1
        return answers[min(n, len(answers) - 1)]


@pytest.fixture
async def server() -> AsyncIterator[ArticleServer]:
    async with ArticleServer(host="127.0.0.2") as srv:
        yield srv


@pytest.fixture
async def canary() -> AsyncIterator[ArticleServer]:
    async with ArticleServer(host="127.0.0.1") as srv:
        yield srv


@pytest.fixture
async def fetcher() -> AsyncIterator[SafeFetcher]:
    f = SafeFetcher(allowed_private_hosts=ALLOWED, resolver=FakeResolver({}), timeout_s=10)
    yield f
    await f.aclose()


@contextlib.asynccontextmanager
async def make_fetcher(**kwargs: object) -> AsyncIterator[SafeFetcher]:
    kwargs.setdefault("allowed_private_hosts", ALLOWED)
    kwargs.setdefault("resolver", FakeResolver({}))
    f = SafeFetcher(**kwargs)  # type: ignore[arg-type]
    try:
        yield f
    finally:
        await f.aclose()


# --- the happy path ------------------------------------------------------------------


async def test_fetches_a_page_and_sends_sensible_headers(
    server: ArticleServer, fetcher: SafeFetcher
) -> None:
    url = server.url("/pages/fetch_article.html")
    page = await fetcher.fetch(url)
    assert page.status == 200
    assert page.url == page.final_url == url
    assert page.content_type == "text/html"
    assert page.charset == "utf-8"
    assert b"Fetcher fixture" in page.body
    assert page.redirects == []
    assert page.headers["content-type"].startswith("text/html")
    sent = server.requests[-1].headers
    assert sent["host"] == f"127.0.0.2:{server.port}"
    assert sent["accept-encoding"] == "gzip, deflate, br, zstd"
    assert sent["user-agent"] == "linkbrief/0.1"
    assert sent["accept"].startswith("text/html")
    assert fetcher.requests_made == 1


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate", "br", "gzip,br"])
async def test_decodes_compressed_pages(
    server: ArticleServer, fetcher: SafeFetcher, encoding: str
) -> None:
    page = await fetcher.fetch(server.url(f"/compressed?encoding={encoding}"))
    assert page.body.startswith(b"<!doctype html>")
    assert b"The redirect chain ended here" in page.body


async def test_serves_each_type_by_extension(tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("plain words", encoding="utf-8")
    (tmp_path / "paper.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    (tmp_path / "feed.xml").write_text("<rss/>", encoding="utf-8")
    (tmp_path / "data.json").write_text("{}", encoding="utf-8")
    async with ArticleServer(host="127.0.0.2", pages_dir=tmp_path) as srv, make_fetcher() as f:
        txt = await f.fetch(srv.url("/pages/note.txt"))
        assert (txt.content_type, txt.charset, txt.body) == ("text/plain", "utf-8", b"plain words")
        pdf = await f.fetch(srv.url("/pages/paper.pdf"))
        assert (pdf.content_type, pdf.charset) == ("application/pdf", None)
        feed = await f.fetch(srv.url("/pages/feed.xml"), accept={"application/rss+xml"})
        assert feed.body == b"<rss/>"
        with pytest.raises(NotAnArticle):
            await f.fetch(srv.url("/pages/feed.xml"))
        with pytest.raises(NotAnArticle):
            await f.fetch(srv.url("/pages/data.json"))
        with pytest.raises(HTTPStatus):
            await f.fetch(srv.url("/pages/missing.html"))


def test_from_settings_takes_the_fetch_settings() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        fetch_allowed_private_hosts="127.0.0.2, 10.0.0.0/8",
        fetch_timeout_s=7,
        fetch_max_bytes=123_456,
        fetch_max_redirects=2,
        fetch_user_agent="ua/1",
    )
    f = SafeFetcher.from_settings(settings)
    assert (f.timeout_s, f.max_bytes, f.max_redirects, f.user_agent) == (7, 123_456, 2, "ua/1")
    assert f.policy.check_url("http://10.1.1.1/").host_allowed
    asyncio.run(f.aclose())


# --- SSRF: the canary on 127.0.0.1 is never reached ----------------------------------------

SPELLINGS = [
    "http://127.0.0.1:{port}/canary",
    "http://2130706433:{port}/canary",
    "http://0x7f000001:{port}/canary",
    "http://0177.0.0.1:{port}/canary",
    "http://127.1:{port}/canary",
    "http://0x7f.1:{port}/canary",
    "http://127.0.0.1.:{port}/canary",
    "http://%31%32%37.0.0.1:{port}/canary",
    "http://[::ffff:127.0.0.1]:{port}/canary",
    "http://[::ffff:7f00:1]:{port}/canary",
    "http://0.0.0.0:{port}/canary",
    "http://0:{port}/canary",
    "http://localhost:{port}/canary",
    "http://mixed.test:{port}/canary",
    "http://b.test\\@127.0.0.1:{port}/canary",
]


async def test_canary_is_reachable_when_allow_listed(canary: ArticleServer) -> None:
    # The control: without the guard's refusal, these requests would land.
    async with make_fetcher(allowed_private_hosts=["127.0.0.1"]) as f:
        page = await f.fetch(canary.url("/pages/fetch_article.html"))
    assert page.status == 200
    assert canary.hits["/pages/fetch_article.html"] == 1


@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_ssrf_spellings_never_reach_the_canary(canary: ArticleServer, spelling: str) -> None:
    resolver = FakeResolver(
        {"localhost": [["127.0.0.1", "::1"]], "mixed.test": [["93.184.216.34", "127.0.0.1"]]}
    )
    # The canary's port is allowed, so only the address check stands in the way.
    async with make_fetcher(resolver=resolver, allowed_ports={80, 443, canary.port}) as f:
        with pytest.raises(BlockedAddress):
            await f.fetch(spelling.format(port=canary.port))
        assert f.requests_made == 0
    assert canary.total_hits == 0


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/canary",
        "http://2130706433:{port}/canary",
        "http://[::ffff:127.0.0.1]:{port}/canary",
        "http://localhost:{port}/canary",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
    ],
)
async def test_redirect_into_private_space_is_blocked(
    server: ArticleServer, canary: ArticleServer, target: str
) -> None:
    resolver = FakeResolver({"localhost": [["127.0.0.1"]]})
    async with make_fetcher(resolver=resolver, allowed_ports={80, 443, canary.port}) as f:
        location = quote(target.format(port=canary.port), safe="")
        with pytest.raises((BlockedAddress, InvalidURL)):
            await f.fetch(server.url(f"/redirect-to?url={location}"))
    assert server.hits["/redirect-to"] == 1
    assert canary.total_hits == 0


async def test_dns_rebinding_cannot_switch_the_address() -> None:
    # Same port on both loopback addresses: a fetcher that resolved a second time
    # (and got the rebound answer) would land on the canary.
    async with ArticleServer(host="127.0.0.2") as srv:
        canary = ArticleServer(host="127.0.0.1", port=srv.port)
        try:
            await canary.start()
        except OSError:
            pytest.skip("the same port is taken on 127.0.0.1")
        try:
            resolver = FakeResolver({"rebind.test": [["127.0.0.2"], ["127.0.0.1"]]})
            async with make_fetcher(resolver=resolver) as f:
                page = await f.fetch(f"http://rebind.test:{srv.port}/pages/fetch_article.html")
            assert page.status == 200
            assert resolver.calls == ["rebind.test"]  # one resolution, one connection
            assert srv.requests[-1].host == f"rebind.test:{srv.port}"
            assert canary.total_hits == 0
        finally:
            await canary.close()


async def test_connects_to_the_checked_address_once_per_hop(server: ArticleServer) -> None:
    # articles.test exists only in our resolver: the OS could not have resolved it,
    # so a successful fetch proves the connection went to the checked address.
    resolver = FakeResolver({"articles.test": [["127.0.0.2"]]})
    async with make_fetcher(resolver=resolver) as f:
        page = await f.fetch(f"http://articles.test:{server.port}/redirect/3")
        assert f.requests_made == 4
    assert page.final_url == f"http://articles.test:{server.port}/redirect/0"
    assert resolver.calls == ["articles.test"] * 4
    assert {r.host for r in server.requests} == {f"articles.test:{server.port}"}


async def test_proxy_environment_is_ignored(
    server: ArticleServer, canary: ArticleServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, canary.base_url)
    url = server.url("/pages/fetch_article.html")
    # Control: a default httpx client does go through the "proxy" (the canary).
    async with httpx.AsyncClient() as naive:
        await naive.get(url)
    proxied = canary.total_hits
    assert proxied == 1
    async with make_fetcher() as f:
        page = await f.fetch(url)
    assert page.status == 200
    assert canary.total_hits == proxied
    assert server.hits["/pages/fetch_article.html"] == 1


async def test_credentials_do_not_follow_a_cross_origin_redirect(
    server: ArticleServer, canary: ArticleServer
) -> None:
    async with make_fetcher(allowed_private_hosts=["127.0.0.1", "127.0.0.2"]) as f:
        target = quote(canary.url("/pages/fetch_article.html"), safe="")
        headers = {"Authorization": "Bearer secret", "X-Trace": "kept"}
        await f.fetch(server.url(f"/redirect-to?url={target}"), headers=headers)
    assert server.requests[-1].headers["authorization"] == "Bearer secret"
    seen = canary.requests[-1].headers
    assert "authorization" not in seen
    assert seen["x-trace"] == "kept"


# --- TLS keeps the host name -------------------------------------------------------------


def _self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_tls_uses_the_host_name_for_sni_and_certificate(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path, "articles.test")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    names: list[str | None] = []
    server_ctx.sni_callback = lambda _sock, name, _ctx: names.append(name)  # type: ignore[assignment,misc,return-value]
    client_ctx = ssl.create_default_context(cafile=str(cert))
    resolver = FakeResolver({"articles.test": [["127.0.0.2"]], "other.test": [["127.0.0.2"]]})
    async with (
        ArticleServer(host="127.0.0.2", ssl_context=server_ctx) as srv,
        make_fetcher(resolver=resolver, ssl_context=client_ctx) as f,
    ):
        page = await f.fetch(f"https://articles.test:{srv.port}/pages/fetch_article.html")
        assert page.status == 200
        assert names == ["articles.test"]
        assert srv.requests[-1].host == f"articles.test:{srv.port}"
        # The certificate is checked against the name asked for, not skipped.
        with pytest.raises(ConnectFailed) as info:
            await f.fetch(f"https://other.test:{srv.port}/pages/fetch_article.html")
        assert "certificate" in str(info.value)
    assert srv.hits["/pages/fetch_article.html"] == 1


# --- redirects ---------------------------------------------------------------------------


async def test_redirect_chain_of_five_is_followed(
    server: ArticleServer, fetcher: SafeFetcher
) -> None:
    page = await fetcher.fetch(server.url("/redirect/5"))
    assert page.status == 200
    assert page.url == server.url("/redirect/5")
    assert page.final_url == server.url("/redirect/0")
    assert page.redirects == [server.url(f"/redirect/{n}") for n in (4, 3, 2, 1, 0)]
    assert b"A small article" in page.body


async def test_redirect_chain_of_six_is_refused(
    server: ArticleServer, fetcher: SafeFetcher
) -> None:
    with pytest.raises(TooManyRedirects):
        await fetcher.fetch(server.url("/redirect/6"))
    assert server.hits["/redirect/0"] == 0  # the sixth hop was never requested
    assert fetcher.requests_made == 6


async def test_max_redirects_zero_refuses_any_redirect(server: ArticleServer) -> None:
    async with make_fetcher(max_redirects=0) as f:
        with pytest.raises(TooManyRedirects):
            await f.fetch(server.url("/redirect/1"))


# --- limits -------------------------------------------------------------------------------


async def test_a_dripping_server_hits_the_one_deadline(server: ArticleServer) -> None:
    # A byte every 0.3 s never trips a per-read timeout; only the overall deadline stops it.
    async with make_fetcher(timeout_s=1.5) as f:
        started = time.monotonic()
        with pytest.raises(FetchTimeout):
            await asyncio.wait_for(f.fetch(server.url("/drip?interval=0.3")), 60)
        assert time.monotonic() - started < 30  # a guard against hanging, not a speed test


async def test_the_deadline_covers_redirects_and_resolution(server: ArticleServer) -> None:
    target = quote("/drip?interval=0.3", safe="")
    async with make_fetcher(timeout_s=1.5) as f:
        with pytest.raises(FetchTimeout):
            await asyncio.wait_for(f.fetch(server.url(f"/redirect-to?url={target}")), 60)

    async def stuck_resolver(host: str, port: int) -> list[str]:
        await asyncio.sleep(3600)
        return []

    async with make_fetcher(timeout_s=0.5, resolver=stuck_resolver) as f:
        with pytest.raises(FetchTimeout):
            await asyncio.wait_for(f.fetch("https://slow-dns.test/"), 60)


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@pytest.mark.parametrize("path", ["/gzip-bomb", "/brotli-bomb", "/zstd-bomb"])
async def test_compression_bombs_stop_at_the_cap_in_bounded_memory(
    server: ArticleServer, fetcher: SafeFetcher, path: str
) -> None:
    gzip_bomb(), brotli_bomb(), zstd_bomb()  # build them all before measuring
    await fetcher.fetch(server.url("/pages/fetch_article.html"))
    before = _max_rss_mb()
    with pytest.raises(TooLarge):
        await fetcher.fetch(server.url(path))
    growth = _max_rss_mb() - before
    assert growth < 200, f"peak RSS grew by {growth:.0f} MB"


def test_bombs_really_expand_to_a_gibibyte() -> None:
    gz, br, zs = gzip_bomb(), brotli_bomb(), zstd_bomb()
    assert len(gz) < 2_000_000 and len(br) < 100_000 and len(zs) < 100_000
    for coding, body in (("gzip", gz), ("br", br), ("zstd", zs)):
        decoder = ContentDecoder(coding)
        total = sum(len(piece) for piece in decoder.feed(body))
        assert total >= 1 << 30, coding


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_decoder_output_is_bounded_even_for_one_huge_chunk(coding: str) -> None:
    body = {"gzip": gzip_bomb, "br": brotli_bomb, "zstd": zstd_bomb}[coding]()
    pieces = ContentDecoder(coding).feed(body)  # the whole bomb as a single chunk
    seen = 0
    for piece in pieces:
        assert len(piece) <= 256 * 1024
        seen += len(piece)
        if seen > 20_000_000:
            break
    assert seen > 20_000_000


async def test_endless_body_stops_at_the_cap(server: ArticleServer) -> None:
    async with make_fetcher(max_bytes=1_000_000) as f:
        with pytest.raises(TooLarge):
            await f.fetch(server.url("/endless"))
        assert f.bytes_read < 1_500_000


async def test_lying_content_length_is_refused_before_reading(
    server: ArticleServer, fetcher: SafeFetcher
) -> None:
    with pytest.raises(TooLarge):
        await fetcher.fetch(server.url("/lying-length"))
    assert fetcher.bytes_read == 0


# --- status and content type ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/json", "/image.png", "/no-type?kind=binary"])
async def test_not_an_article(server: ArticleServer, fetcher: SafeFetcher, path: str) -> None:
    with pytest.raises(NotAnArticle) as info:
        await fetcher.fetch(server.url(path))
    assert "isn't an article" in str(info.value)


async def test_custom_accept_lets_a_caller_read_other_types(
    server: ArticleServer, fetcher: SafeFetcher
) -> None:
    page = await fetcher.fetch(server.url("/json"), accept={"application/json"})
    assert page.content_type == "application/json"
    assert server.requests[-1].headers["accept"].startswith("application/json")


@pytest.mark.parametrize("code", [404, 403, 410, 500, 503])
async def test_error_statuses(server: ArticleServer, fetcher: SafeFetcher, code: int) -> None:
    with pytest.raises(HTTPStatus) as info:
        await fetcher.fetch(server.url(f"/status/{code}"))
    assert info.value.status == code
    assert str(code) in str(info.value)


async def test_conditional_get_returns_304(server: ArticleServer, fetcher: SafeFetcher) -> None:
    first = await fetcher.fetch(server.url("/etag/feed"))
    assert first.status == 200 and first.body
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = await fetcher.fetch(server.url("/etag/feed"), headers={"If-None-Match": etag})
    assert (again.status, again.body) == (304, b"")
    since = await fetcher.fetch(server.url("/etag/feed"), headers={"If-Modified-Since": modified})
    assert since.status == 304
    changed = await fetcher.fetch(server.url("/etag/feed"), headers={"If-None-Match": '"old"'})
    assert changed.status == 200
    assert server.bodies_sent["feed"] == 2


@pytest.mark.parametrize(("kind", "media"), [("html", "text/html"), ("pdf", "application/pdf")])
async def test_missing_content_type_is_sniffed(
    server: ArticleServer, fetcher: SafeFetcher, kind: str, media: str
) -> None:
    page = await fetcher.fetch(server.url(f"/no-type?kind={kind}"))
    assert "content-type" not in page.headers
    assert page.content_type == media


# --- connection failures --------------------------------------------------------------------


async def test_refused_connection_is_connect_failed() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.2", 0))
        port = sock.getsockname()[1]
    async with make_fetcher() as f:
        with pytest.raises(ConnectFailed):
            await f.fetch(f"http://127.0.0.2:{port}/")


async def test_unknown_name_is_connect_failed(fetcher: SafeFetcher) -> None:
    with pytest.raises(ConnectFailed) as info:
        await fetcher.fetch("https://does-not-exist.test/")
    assert "does-not-exist.test" in str(info.value)


async def test_second_address_is_tried_when_the_first_refuses(server: ArticleServer) -> None:
    resolver = FakeResolver({"multi.test": [["127.0.0.3", "127.0.0.2"]]})
    allowed = ["127.0.0.2", "127.0.0.3"]
    async with make_fetcher(resolver=resolver, allowed_private_hosts=allowed) as f:
        page = await f.fetch(f"http://multi.test:{server.port}/pages/fetch_article.html")
    assert page.status == 200


def test_article_types_are_the_documented_set() -> None:
    assert {"text/html", "application/xhtml+xml", "application/pdf", "text/plain"} == ARTICLE_TYPES


async def test_ipv6_addresses_are_bracketed_when_connecting() -> None:
    try:
        srv = ArticleServer(host="::1")
        await srv.start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        resolver = FakeResolver({"v6.test": [["::1"]]})
        async with make_fetcher(allowed_private_hosts=["::1"], resolver=resolver) as f:
            literal = await f.fetch(srv.url("/pages/fetch_article.html"))
            named = await f.fetch(f"http://v6.test:{srv.port}/pages/fetch_article.html")
        assert literal.status == named.status == 200
        assert [r.host for r in srv.requests] == [f"[::1]:{srv.port}", f"v6.test:{srv.port}"]
    finally:
        await srv.close()


def test_article_server_runs_in_a_thread_for_sync_callers() -> None:
    srv = ArticleServer(host="127.0.0.2")
    base = srv.start_in_thread()
    try:
        response = httpx.get(base + "/pages/fetch_article.html", trust_env=False)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
    finally:
        srv.stop()
    assert srv.hits["/pages/fetch_article.html"] == 1
    with pytest.raises(httpx.ConnectError):
        httpx.get(base + "/pages/fetch_article.html", trust_env=False)


# --- the wire: what goes out, and the responses the client must cope with ------------------


class RawServer:
    """Answers every connection on 127.0.0.2 with canned bytes; records what each one sent."""

    def __init__(self, *responses: bytes) -> None:
        self.responses = list(responses)  # one per connection, the last one repeating
        self.received: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.2", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def url(self, path: str) -> str:
        return f"http://127.0.0.2:{self.port}{path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.received.append(await reader.readuntil(b"\r\n\r\n"))
            index = min(len(self.received), len(self.responses)) - 1
            writer.write(self.responses[index])
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            self.received.append(b"")  # connected, but no complete request arrived
        finally:
            writer.close()


def _response(head: str, body: bytes = b"") -> bytes:
    return head.replace("\n", "\r\n").encode() + b"\r\n\r\n" + body


OK_HTML = _response("HTTP/1.1 200 OK\nContent-Type: text/html\nContent-Length: 11", b"<p>hello</p")


async def test_request_line_is_escaped_as_httpx_did_and_headers_are_sent() -> None:
    url_path = "/a b/caf\u00e9/./x/../y%2F?q=\u00fc v&r=%zz"
    async with RawServer(OK_HTML) as srv, make_fetcher() as f:
        page = await f.fetch(srv.url(url_path), headers={"X-Trace": "t1"})
    assert page.body == b"<p>hello</p"
    request_line, *header_lines = srv.received[0].decode("ascii").split("\r\n")
    # httpx (the previous client) is the reference for what a path becomes on the wire.
    expected = httpx.URL(srv.url(url_path)).raw_path.decode("ascii")
    assert expected == "/a%20b/caf%C3%A9/y%2F?q=%C3%BC%20v&r=%zz"
    assert request_line == f"GET {expected} HTTP/1.1"
    headers = dict(line.lower().split(": ", 1) for line in header_lines if line)
    assert headers["host"] == f"127.0.0.2:{srv.port}"
    assert headers["connection"] == "close"
    assert headers["x-trace"] == "t1"
    assert page.final_url == srv.url(url_path)  # the URL itself is reported as given


async def test_chunked_gzip_body_is_decoded() -> None:
    payload = gzip.compress(b"<html><body><p>chunked and gzipped</p></body></html>")
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (payload[:9], payload[9:]))
    head = "HTTP/1.1 200 OK\nContent-Type: text/html\nContent-Encoding: gzip\n"
    head += "Transfer-Encoding: chunked"
    async with RawServer(_response(head, chunks + b"0\r\n\r\n")) as srv, make_fetcher() as f:
        page = await f.fetch(srv.url("/"))
    assert page.body == b"<html><body><p>chunked and gzipped</p></body></html>"
    assert f.bytes_read == len(payload)


async def test_http10_body_runs_until_the_server_closes() -> None:
    response = _response("HTTP/1.0 200 OK\nContent-Type: text/plain", b"no length given")
    async with RawServer(response) as srv, make_fetcher() as f:
        page = await f.fetch(srv.url("/"))
    assert (page.status, page.body) == (200, b"no length given")


async def test_informational_responses_are_skipped_and_repeated_headers_joined() -> None:
    early = _response("HTTP/1.1 103 Early Hints\nLink: </a.css>; rel=preload")
    final = _response(
        "HTTP/1.1 200 OK\nContent-Type: text/html\nX-Tag: a\nX-Tag: b\nContent-Length: 4", b"<p>x"
    )
    async with RawServer(early + final) as srv, make_fetcher() as f:
        page = await f.fetch(srv.url("/"))
    assert (page.status, page.body) == (200, b"<p>x")
    assert page.headers["x-tag"] == "a, b"
    assert "link" not in page.headers


@pytest.mark.parametrize(
    "response",
    [
        b"this is not HTTP at all\r\n\r\n",
        _response("HTTP/1.1 200 OK\nContent-Type: text/html\nContent-Length: 100", b"short"),
        _response(
            "HTTP/1.1 200 OK\nContent-Type: text/html\nTransfer-Encoding: chunked", b"zz\r\n"
        ),
        b"",  # the server hangs up without a word
    ],
)
async def test_broken_responses_are_connect_failed(response: bytes) -> None:
    async with RawServer(response) as srv, make_fetcher() as f:
        with pytest.raises(ConnectFailed) as info:
            await f.fetch(srv.url("/"))
    assert "127.0.0.2" in str(info.value)
    assert len(srv.received) == 1


async def test_a_caller_header_cannot_inject_lines_and_nothing_is_sent() -> None:
    async with RawServer(OK_HTML) as srv, make_fetcher() as f:
        with pytest.raises(ConnectFailed):
            await f.fetch(srv.url("/"), headers={"X-Trace": "t\r\nInjected: 1"})
    assert srv.received == []


async def test_control_characters_in_a_link_are_refused_before_connecting() -> None:
    async with RawServer(OK_HTML) as srv, make_fetcher() as f:
        for path in ("/a\x00b", "/a?b=\x01", "/a\x7f"):
            with pytest.raises(InvalidURL):
                await f.fetch(srv.url(path))
    assert srv.received == []


async def test_cookies_never_carry_from_one_fetch_to_the_next() -> None:
    set_cookie = _response(
        "HTTP/1.1 200 OK\nContent-Type: text/html\nSet-Cookie: session=abc; Path=/\n"
        "Content-Length: 4",
        b"<p>x",
    )
    async with RawServer(set_cookie) as srv, make_fetcher() as f:
        await f.fetch(srv.url("/first"))
        await f.fetch(srv.url("/second"))
    assert len(srv.received) == 2
    assert b"cookie" not in srv.received[1].lower()


async def test_a_tls_name_that_cannot_be_encoded_is_connect_failed() -> None:
    # The resolver vouches for the name, but TLS cannot put "a..b.test" in SNI.
    resolver = FakeResolver({"a..b.test": [["127.0.0.2"]]})
    async with RawServer(OK_HTML) as srv, make_fetcher(resolver=resolver) as f:
        with pytest.raises(ConnectFailed):
            await f.fetch(f"https://a..b.test:{srv.port}/")
    assert srv.received == []  # refused before connecting


def test_the_checked_address_is_connected_to_without_resolving_or_threads() -> None:
    # A plain asyncio loop, whose resolver and executor are Python methods we can trap
    # (uvloop resolves in C, out of reach of a monkeypatch).
    loop = asyncio.SelectorEventLoop()

    async def no_getaddrinfo(*args: object, **kwargs: object) -> list[object]:
        raise AssertionError(f"getaddrinfo{args} was called")

    def no_executor(*args: object) -> asyncio.Future[object]:
        raise AssertionError("a thread was used")

    async def fetch_twice() -> tuple[int, int, list[str]]:
        resolver = FakeResolver({"articles.test": [["127.0.0.2"]]})
        async with ArticleServer(host="127.0.0.2") as srv, make_fetcher(resolver=resolver) as f:
            loop.getaddrinfo = no_getaddrinfo  # type: ignore[method-assign]
            loop.run_in_executor = no_executor  # type: ignore[method-assign,assignment]
            by_ip = await f.fetch(srv.url("/pages/fetch_article.html"))
            by_name = await f.fetch(f"http://articles.test:{srv.port}/pages/fetch_article.html")
            del loop.getaddrinfo, loop.run_in_executor  # the server's shutdown may use them
            return by_ip.status, by_name.status, resolver.calls

    try:
        assert loop.run_until_complete(fetch_twice()) == (200, 200, ["articles.test"])
    finally:
        loop.close()
