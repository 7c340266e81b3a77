"""The fetcher on httpx2: a company proxy, a private CA, cookies within a fetch, zstd.

Real sockets only: the article server on 127.0.0.2 (allow-listed), a canary on
127.0.0.1 that must never be reached, a local CONNECT/forward proxy, and TLS
certificates issued by a throwaway CA (trustme).
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trustme

from bot.config import Settings, load_settings
from bot.errors import BlockedAddress, ConfigError, ConnectFailed
from bot.pipeline.fetch import SafeFetcher, trust_context
from tests import test_fetch
from tests.servers.article_server import ARTICLE_HTML, ArticleServer
from tests.servers.proxy_server import ProxyServer
from tests.test_fetch import FakeResolver, make_fetcher

# The article server on 127.0.0.2 and a fetcher allowed to reach it, as in test_fetch.
server = test_fetch.server
fetcher = test_fetch.fetcher
PAGE = "/pages/fetch_article.html"
RESOLVER_TABLE = {"articles.test": [["127.0.0.2"]], "other.test": [["127.0.0.2"]]}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_bundle(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "company-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@contextlib.contextmanager
def _server_context(ca: trustme.CA, name: str) -> Iterator[ssl.SSLContext]:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(ctx)
    yield ctx


@pytest.fixture
async def tls_server(ca: trustme.CA) -> AsyncIterator[ArticleServer]:
    with _server_context(ca, "articles.test") as ctx:
        async with ArticleServer(host="127.0.0.2", ssl_context=ctx) as srv:
            yield srv


# --- FETCH_CA_BUNDLE -------------------------------------------------------------------


async def test_a_private_ca_is_trusted_through_the_setting(
    tls_server: ArticleServer, ca_bundle: Path
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        fetch_allowed_private_hosts="127.0.0.2",
        fetch_ca_bundle=str(ca_bundle),
    )
    f = SafeFetcher.from_settings(settings, resolver=FakeResolver(RESOLVER_TABLE))
    try:
        page = await f.fetch(f"https://articles.test:{tls_server.port}{PAGE}")
        assert page.status == 200
        assert b"Fetcher fixture" in page.body
        # Still verified against the name: the same CA's certificate for another name fails.
        with pytest.raises(ConnectFailed, match="certificate"):
            await f.fetch(f"https://other.test:{tls_server.port}{PAGE}")
    finally:
        await f.aclose()
    assert tls_server.hits[PAGE] == 1


async def test_without_the_bundle_the_private_ca_is_refused(tls_server: ArticleServer) -> None:
    resolver = FakeResolver(RESOLVER_TABLE)
    async with make_fetcher(resolver=resolver) as f:  # certifi's bundle, the default
        with pytest.raises(ConnectFailed, match="certificate"):
            await f.fetch(f"https://articles.test:{tls_server.port}{PAGE}")
    async with make_fetcher(resolver=resolver, ca_bundle="system") as f:
        with pytest.raises(ConnectFailed, match="certificate"):
            await f.fetch(f"https://articles.test:{tls_server.port}{PAGE}")
    assert tls_server.hits[PAGE] == 0


def test_ca_bundle_setting_is_checked_at_start(tmp_path: Path, ca_bundle: Path) -> None:
    with pytest.raises(ConfigError, match="FETCH_CA_BUNDLE"):
        load_settings(None, fetch_ca_bundle=str(tmp_path / "missing.pem"))
    assert load_settings(None, fetch_ca_bundle="system").fetch_ca_bundle == "system"
    # A bundle file becomes a context trusting exactly that CA (plus nothing from certifi).
    context = trust_context(str(ca_bundle))
    assert len(context.get_ca_certs()) == 1


# --- FETCH_PROXY -------------------------------------------------------------------------


async def test_plain_http_goes_through_the_proxy_to_the_checked_address() -> None:
    async with (
        ArticleServer(host="127.0.0.2") as srv,
        ProxyServer() as proxy,
        make_fetcher(resolver=FakeResolver(RESOLVER_TABLE), proxy=proxy.url) as f,
    ):
        page = await f.fetch(f"http://articles.test:{srv.port}{PAGE}")
    assert page.status == 200
    assert b"Fetcher fixture" in page.body
    # The proxy is asked for the address the guard checked, with the name as Host.
    assert proxy.requests == [("GET", f"http://127.0.0.2:{srv.port}{PAGE}")]
    assert proxy.host_headers == [f"articles.test:{srv.port}"]
    assert srv.requests[-1].headers["host"] == f"articles.test:{srv.port}"


async def test_https_is_tunnelled_and_verified_against_the_host_name(
    tls_server: ArticleServer, ca_bundle: Path
) -> None:
    resolver = FakeResolver(RESOLVER_TABLE)
    async with (
        ProxyServer() as proxy,
        make_fetcher(resolver=resolver, proxy=proxy.url, ca_bundle=str(ca_bundle)) as f,
    ):
        page = await f.fetch(f"https://articles.test:{tls_server.port}{PAGE}")
        assert page.status == 200
        with pytest.raises(ConnectFailed, match="certificate"):
            await f.fetch(f"https://other.test:{tls_server.port}{PAGE}")
    target = f"127.0.0.2:{tls_server.port}"
    assert proxy.requests == [("CONNECT", target), ("CONNECT", target)]
    assert tls_server.hits[PAGE] == 1


async def test_the_guard_still_vets_targets_behind_the_proxy() -> None:
    resolver = FakeResolver({"inside.test": [["127.0.0.1"]]})
    async with (
        ArticleServer(host="127.0.0.1") as canary,
        ProxyServer() as proxy,
        make_fetcher(resolver=resolver, proxy=proxy.url, allowed_ports={80, 443, canary.port}) as f,
    ):
        for url in (canary.url(PAGE), f"http://inside.test:{canary.port}{PAGE}"):
            with pytest.raises(BlockedAddress):
                await f.fetch(url)
        # A redirect into private space is refused at the hop, proxy or not.
        async with ArticleServer(host="127.0.0.2") as srv:
            with pytest.raises(BlockedAddress):
                await f.fetch(srv.url(f"/redirect-to?url={canary.url(PAGE)}"))
    assert canary.total_hits == 0
    # Only the first hop went out, to the public-standing server.
    assert proxy.requests == [
        ("GET", f"http://127.0.0.2:{srv.port}/redirect-to?url={canary.url(PAGE)}")
    ]


async def test_an_unreachable_proxy_is_named_in_the_error() -> None:
    async with ProxyServer() as proxy:
        dead = proxy.url  # closed when the block ends: nothing listens there any more
    async with ArticleServer(host="127.0.0.2") as srv, make_fetcher(proxy=dead) as f:
        with pytest.raises(ConnectFailed):
            await f.fetch(srv.url(PAGE))
    assert srv.total_hits == 0


def test_proxy_setting_must_be_an_http_url() -> None:
    with pytest.raises(ConfigError, match="FETCH_PROXY"):
        load_settings(None, fetch_proxy="socks9://proxy:1080")
    settings = load_settings(None, fetch_proxy="http://user:secret@proxy.corp:3128")
    assert "http://user:secret@proxy.corp:3128" in settings.secrets()  # redacted from logs


# --- cookies, zstd -------------------------------------------------------------------------


async def test_a_site_that_sets_a_cookie_and_redirects_to_itself_works(
    server: ArticleServer, fetcher: SafeFetcher
) -> None:
    page = await fetcher.fetch(server.url("/cookie-gate"))
    assert page.body == ARTICLE_HTML
    assert page.redirects == [server.url("/cookie-gate")]
    # The jar lived for that one fetch only: the next fetch starts without the cookie.
    await fetcher.fetch(server.url("/cookie-gate"))
    cookies = [r.headers.get("cookie") for r in server.requests]
    assert cookies == [None, "gate=open", None, "gate=open"]


async def test_zstd_pages_are_decoded(server: ArticleServer, fetcher: SafeFetcher) -> None:
    for encoding in ("zstd", "gzip,zstd", "zstd,br"):
        page = await fetcher.fetch(server.url(f"/compressed?encoding={encoding}"))
        assert page.body == ARTICLE_HTML, encoding
