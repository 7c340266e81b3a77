"""The SSRF address policy: IP spellings, non-public ranges, URL shapes, the allow list.

Names are resolved by a fake resolver (a dict); nothing here touches DNS.
"""

from __future__ import annotations

import ipaddress
import random
import socket

import pytest

from bot.config import Settings
from bot.errors import BlockedAddress, ConnectFailed, InvalidURL
from bot.pipeline.netguard import AddressPolicy, is_public_address, parse_ip_host

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"


def fake_resolver(table: dict[str, list[str]]):
    calls: list[tuple[str, int]] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append((host, port))
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


# --- parse_ip_host ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0177.0000.0000.0001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("10.1.2", "10.1.0.2"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f.0.0.0x1", "127.0.0.1"),
        ("0xa9.254.0251.0376", "169.254.169.254"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("8.8.8.8", "8.8.8.8"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("[::ffff:7f00:1]", "::ffff:7f00:1"),
        ("[2002:7f00:1::]", "2002:7f00:1::"),
    ],
)
def test_parse_ip_host_reads_every_inet_aton_spelling(host: str, expected: str) -> None:
    assert parse_ip_host(host) == ipaddress.ip_address(expected)


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "localhost",
        "1.2.3.4.5",
        "256.1.1.1",
        "1.2.16777216",
        "4294967296",
        "08.0.0.1",  # 8 is not an octal digit
        "0x7f_00_00_01",  # int() would take the underscores
        "+127.0.0.1",
        "127.0.0.1x",
        "[not-ipv6]",
        "١٢٧.0.0.1",  # Arabic-Indic digits
    ],
)
def test_parse_ip_host_returns_none_for_names(host: str) -> None:
    assert parse_ip_host(host) is None


# --- is_public_address --------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.255.254",
        "10.0.0.1",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",
        "100.100.100.200",  # Alibaba metadata, CGNAT
        "0.0.0.0",
        "0.1.2.3",
        "198.18.0.1",
        "198.19.255.255",
        "192.0.2.1",
        "198.51.100.1",
        "203.0.113.1",
        "192.0.0.8",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::7f00:1",  # IPv4-compatible
        "::808:808",  # IPv4-compatible is deprecated: refused even for a public v4
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "2001:db8::1",
        "fc00::1",
        "fd12::1",
        "fe80::1",
        "fe80::1%eth0",
        "fec0::1",
        "ff02::1",
        "ff0e::1",  # global-scope multicast is still multicast
        "100::1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        PUBLIC_V4,
        "8.8.8.8",
        "1.1.1.1",
        PUBLIC_V6,
        "2a00:1450:4001:80b::200e",
        "::ffff:8.8.8.8",  # mapped public v4
        "2002:808:808::1",  # 6to4 of a public v4
        "64:ff9b::808:808",  # NAT64 of a public v4 (how IPv6-only networks reach v4 sites)
    ],
)
def test_public_addresses_are_accepted(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


# --- check_url ---------------------------------------------------------------------

BLOCKED_URLS = [
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://127.0.0.1/",
    "http://127.0.0.1./",
    "http://%31%32%37.0.0.1/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "http://169.254.169.254/latest/meta-data/",
    "http://100.100.100.200/",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://198.18.0.1/",
    "http://[fc00::1]/",
    "http://[fd12::1]/",
    "http://[fe80::1%25eth0]/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://255.255.255.255/",
    "http://10.1.2.3/",
    "http://172.16.5.4/",
    "http://192.168.0.1/",
    "http://a@example.com/",
    "http://user:pw@example.com/",
    "http://@example.com/",
    "http://example.com\\@127.0.0.1/",
    "http://example.com:8080/",
    "https://example.com:22/",
    "http://93.184.216.34:6379/",
]


@pytest.mark.parametrize("url", BLOCKED_URLS)
def test_check_url_blocks(url: str) -> None:
    with pytest.raises(BlockedAddress) as info:
        AddressPolicy().check_url(url)
    assert "can't" in str(info.value) or "don't" in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/file",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:text/html,<p>hi</p>",
        "gopher://example.com:70/",
        "example.com/no-scheme",
        "http:///no-host",
        "http://exa mple.com/",
        "http://[not-an-ip]/",
        "http://example.com:99999/",
        "",
    ],
)
def test_check_url_rejects_what_is_not_an_http_url(url: str) -> None:
    with pytest.raises(InvalidURL):
        AddressPolicy().check_url(url)


def test_check_url_normalises_the_target() -> None:
    target = AddressPolicy().check_url("HTTPS://Bücher.Example./a%20b?q=1#frag")
    assert target.scheme == "https"
    assert target.host == "xn--bcher-kva.example"
    assert target.port == 443
    assert target.path == "/a%20b?q=1"
    assert target.url == "https://xn--bcher-kva.example/a%20b?q=1"
    assert target.host_header == "xn--bcher-kva.example"
    assert target.url_for(ipaddress.ip_address(PUBLIC_V4)) == f"https://{PUBLIC_V4}:443/a%20b?q=1"
    v6 = ipaddress.ip_address(PUBLIC_V6)
    assert target.url_for(v6) == f"https://[{PUBLIC_V6}]:443/a%20b?q=1"


def test_host_header_keeps_a_non_default_port_and_brackets() -> None:
    policy = AddressPolicy(["::1"], allowed_ports=[80, 443, 8443])
    assert policy.check_url("http://[::1]:8443/").host_header == "[::1]:8443"
    assert policy.check_url("http://[::1]:80/").host_header == "[::1]"


# --- resolve_and_check ----------------------------------------------------------------


async def test_public_name_is_resolved_once_and_accepted() -> None:
    resolver = fake_resolver({"example.com": [PUBLIC_V4, PUBLIC_V6]})
    policy = AddressPolicy()
    target = policy.check_url("https://example.com/article")
    addresses = await policy.resolve_and_check(target, resolver)
    assert addresses == [ipaddress.ip_address(PUBLIC_V4), ipaddress.ip_address(PUBLIC_V6)]
    assert resolver.calls == [("example.com", 443)]


@pytest.mark.parametrize(
    "answers",
    [
        ["127.0.0.1"],
        ["::1"],
        ["169.254.169.254"],
        [PUBLIC_V4, "10.0.0.5"],  # one bad answer is enough
        [PUBLIC_V6, "fd00::1"],
        ["::ffff:192.168.1.1"],
    ],
)
async def test_name_resolving_to_any_private_address_is_blocked(answers: list[str]) -> None:
    policy = AddressPolicy()
    target = policy.check_url("http://sneaky.example/")
    with pytest.raises(BlockedAddress):
        await policy.resolve_and_check(target, fake_resolver({"sneaky.example": answers}))


async def test_localhost_by_name_is_blocked() -> None:
    policy = AddressPolicy()
    resolver = fake_resolver({"localhost": ["127.0.0.1", "::1"]})
    with pytest.raises(BlockedAddress):
        await policy.resolve_and_check(policy.check_url("http://localhost/"), resolver)


async def test_resolution_failure_is_connect_failed() -> None:
    policy = AddressPolicy()
    target = policy.check_url("https://no-such-host.example/")
    with pytest.raises(ConnectFailed) as info:
        await policy.resolve_and_check(target, fake_resolver({}))
    assert "no-such-host.example" in str(info.value)
    with pytest.raises(ConnectFailed):
        await policy.resolve_and_check(target, fake_resolver({"no-such-host.example": []}))


async def test_ip_literal_needs_no_resolution() -> None:
    policy = AddressPolicy()
    resolver = fake_resolver({})
    target = policy.check_url(f"http://{PUBLIC_V4}/")
    assert await policy.resolve_and_check(target, resolver) == [ipaddress.ip_address(PUBLIC_V4)]
    assert resolver.calls == []


# --- the allow list ---------------------------------------------------------------------


async def test_allow_list_by_host_name() -> None:
    policy = AddressPolicy(["wiki.intranet"])
    target = policy.check_url("http://wiki.intranet:8080/page")
    assert target.host_allowed
    resolver = fake_resolver({"wiki.intranet": ["10.1.2.3"]})
    assert await policy.resolve_and_check(target, resolver) == [ipaddress.ip_address("10.1.2.3")]
    # Only that name: a neighbour on the same network is still blocked.
    other = policy.check_url("http://db.intranet/")
    with pytest.raises(BlockedAddress):
        await policy.resolve_and_check(other, fake_resolver({"db.intranet": ["10.1.2.4"]}))


async def test_allow_list_by_cidr() -> None:
    policy = AddressPolicy(["10.20.0.0/16"])
    inside = fake_resolver({"docs.corp": ["10.20.1.1"]})
    target = policy.check_url("http://docs.corp/")
    assert await policy.resolve_and_check(target, inside) == [ipaddress.ip_address("10.20.1.1")]
    assert policy.check_url("http://10.20.3.4/").host_allowed
    with pytest.raises(BlockedAddress):
        policy.check_url("http://10.21.0.1/")
    with pytest.raises(BlockedAddress):
        await policy.resolve_and_check(target, fake_resolver({"docs.corp": ["10.30.0.1"]}))


async def test_odd_port_is_allowed_only_when_every_address_is_allow_listed() -> None:
    policy = AddressPolicy(["127.0.0.2"])
    assert policy.check_url("http://127.0.0.2:8080/").host_allowed
    target = policy.check_url("http://articles.test:8080/")
    assert target.needs_allowed_address
    ok = fake_resolver({"articles.test": ["127.0.0.2"]})
    assert await policy.resolve_and_check(target, ok) == [ipaddress.ip_address("127.0.0.2")]
    public = fake_resolver({"articles.test": [PUBLIC_V4]})
    with pytest.raises(BlockedAddress) as info:
        await policy.resolve_and_check(target, public)
    assert "port 8080" in str(info.value)
    # Without any allow-listed network an odd port is refused before resolving.
    with pytest.raises(BlockedAddress):
        AddressPolicy(["wiki.intranet"]).check_url("http://articles.test:8080/")


def test_allow_list_comes_from_settings() -> None:
    settings = Settings(_env_file=None, fetch_allowed_private_hosts="Wiki.Intranet, 10.0.0.0/8")  # type: ignore[call-arg]
    policy = AddressPolicy(settings.allowed_private_hosts)
    assert policy.check_url("http://wiki.intranet/").host_allowed
    assert policy.check_url("http://10.9.8.7/").host_allowed
    with pytest.raises(BlockedAddress):
        policy.check_url("http://192.168.1.1/")


# --- the request target -------------------------------------------------------------------

TARGET_PATHS = [
    "/",
    "/news/2024/story.html?id=5&x=y",
    "/a b/caf\u00e9",
    "/q?text=\u00fc ber&x=%41%zz",
    "/p/./q/../r",
    "/../../up",
    "/dir/.",
    "/dir/..",
    '/odd"<>`{}|\\^?"<>`{}|',
    "/%E2%82%AC/%",
    "/\u20ac?\u20ac",
    "/.hidden/..foo/...",
]


@pytest.mark.parametrize("path", TARGET_PATHS)
def test_request_target_matches_what_httpx_sent(path: str) -> None:
    # httpx was the client before (fed target.url); its URL model is the reference.
    httpx = pytest.importorskip("httpx")
    target = AddressPolicy().check_url(f"https://example.com{path}")
    expected = httpx.URL(target.url).raw_path.decode("ascii")
    assert target.request_target == expected
    assert target.request_target.isascii()


def test_request_target_leaves_the_reported_url_alone() -> None:
    target = AddressPolicy().check_url("https://example.com/a/../caf\u00e9?q=1")
    assert target.request_target == "/caf%C3%A9?q=1"
    assert target.url == "https://example.com/a/../caf\u00e9?q=1"


@pytest.mark.parametrize(
    "url", ["https://e.com/a\x00b", "https://e.com/?q=\x1b", "https://e.com/\x7f"]
)
def test_control_characters_in_path_or_query_are_invalid(url: str) -> None:
    with pytest.raises(InvalidURL) as info:
        AddressPolicy().check_url(url)
    assert "control characters" in str(info.value)


def test_request_target_matches_httpx_on_random_paths() -> None:
    httpx = pytest.importorskip("httpx")
    rng = random.Random(20240601)
    alphabet = ["/", ".", "..", "%", "%2f", "?", "&", "=", " ", "\u00e9", "\u20ac", "a", "Z", "9"]
    alphabet += list("\"'<>`{}|\\^[]@:;,+$!*()~-_")
    policy = AddressPolicy()
    for _ in range(500):
        path = "/" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        target = policy.check_url(f"https://example.com{path}")
        expected = httpx.URL(target.url).raw_path.decode("ascii")
        assert target.request_target == expected, path
