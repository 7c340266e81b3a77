"""The SSRF guard's address policy: which URLs and addresses the fetcher may reach.

Pure functions plus one injectable resolver. ``AddressPolicy.check_url`` vets a
URL before any network activity (scheme, userinfo, port, IP literals in every
spelling ``inet_aton`` accepts); ``resolve_and_check`` resolves the host once
and refuses it if *any* answer is not public. The fetcher then connects to
exactly those checked addresses, so a second DNS answer (rebinding) never
matters.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import string
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

import idna

from bot.errors import BlockedAddress, ConnectFailed, InvalidURL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

DEFAULT_PORTS = {"http": 80, "https": 443}
STANDARD_PORTS = frozenset({80, 443})
_HOST_CHARS = frozenset(string.ascii_lowercase + string.digits + "-._")
_MAX_URL_LENGTH = 8192
_DEC_DIGITS = frozenset(string.digits)
_OCT_DIGITS = frozenset("01234567")
_HEX_DIGITS = frozenset(string.hexdigits)
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
# Request-line characters sent as they are: the WHATWG path and query sets plus "%"
# (existing escapes stay); anything else goes out percent-encoded as UTF-8.
_PATH_SAFE = frozenset(map(chr, range(0x21, 0x7F))) - set('"#<>?`{}')
_QUERY_SAFE = frozenset(map(chr, range(0x21, 0x7F))) - set('"#<>')

# IPv4 ranges that are not for fetching web pages. ``is_global`` already covers
# most; multicast (224/4) and parts of 192.0.0.0/24 and 192.88.99.0/24 are
# "global" to Python but are no place for an article.
_V4_BLOCKED = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network", incl. 0.0.0.0 which Linux routes to localhost
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT; cloud metadata lives here (100.100.100.200)
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local; cloud metadata 169.254.169.254
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved
        "255.255.255.255/32",  # broadcast
    )
)

_V6_BLOCKED = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/96",  # unspecified, loopback and deprecated IPv4-compatible (::a.b.c.d)
        "64:ff9b:1::/48",  # local-use NAT64: its embedded IPv4 is site-specific
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments (Teredo is handled before this)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (2024)
        "5f00::/16",  # SRv6 SIDs
        "fc00::/7",  # unique-local
        "fe80::/10",  # link-local
        "fec0::/10",  # deprecated site-local
        "ff00::/8",  # multicast
    )
)
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_TEREDO = ipaddress.IPv6Network("2001::/32")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")


# --- IP literals -------------------------------------------------------------


def _inet_aton_part(part: str) -> int | None:
    """One dotted part as inet_aton reads it: 0x hex, leading-0 octal, else decimal."""
    # Explicit digit sets: int() alone would also take "_", signs and spaces.
    if part[:2] in ("0x", "0X"):
        digits = part[2:]
        if not set(digits) <= _HEX_DIGITS:
            return None
        return int(digits, 16) if digits else 0
    if len(part) > 1 and part[0] == "0":
        return int(part[1:], 8) if set(part[1:]) <= _OCT_DIGITS else None
    return int(part) if part and set(part) <= _DEC_DIGITS else None


def _parse_inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """IPv4 in any spelling inet_aton accepts: ``2130706433``, ``0x7f.1``, ``0177.0.0.1``."""
    parts = host.split(".")
    if len(parts) > 4:
        return None
    values = [_inet_aton_part(p) for p in parts]
    if any(v is None for v in values):
        return None
    nums = [v for v in values if v is not None]
    # a.b.c.d; a.b.c with c 16 bits; a.b with b 24 bits; a alone 32 bits.
    *head, last = nums
    if any(v > 0xFF for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    value = 0
    for v in head:
        value = value << 8 | v
    value = value << (8 * (4 - len(head))) | last
    return ipaddress.IPv4Address(value)


def parse_ip_host(host: str) -> IPAddress | None:
    """The IP address a URL host denotes, or None when it is a real host name."""
    host = host.strip().lower()
    if not host.isascii():
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            return None
    # Browsers (WHATWG) drop one trailing dot from an IPv4 host.
    if host.endswith("."):
        host = host[:-1]
    return _parse_inet_aton(host)


# --- what counts as public -------------------------------------------------------


def _is_public_v4(ip: ipaddress.IPv4Address) -> bool:
    return ip.is_global and not ip.is_multicast and not any(ip in n for n in _V4_BLOCKED)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 addresses an IPv6 address tunnels to, if it is such a form."""
    if ip in _MAPPED:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip in _NAT64:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip in _SIX_TO_FOUR:
        return [ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)]
    if ip in _TEREDO:
        teredo = ip.teredo
        assert teredo is not None
        server, client = teredo
        return [server, client]
    return None


def is_public_address(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses a web page may live on."""
    if isinstance(ip, ipaddress.IPv4Address):
        return _is_public_v4(ip)
    if ip.scope_id:
        return False  # zone-scoped addresses are link-local by nature
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return all(_is_public_v4(v4) for v4 in embedded)
    if any(ip in n for n in _V6_BLOCKED):
        return False
    return ip.is_global and not ip.is_reserved and not ip.is_multicast


# --- the policy ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """A vetted URL: what to ask for, and where the guard allows connecting."""

    url: str  # normalised, without fragment
    scheme: str
    host: str  # ASCII, lower-case, no brackets, no trailing dot
    port: int
    path: str  # path plus ?query, as sent
    ip: IPAddress | None  # set when the host is an IP literal
    host_allowed: bool  # the host (name or literal) is on the allow list
    needs_allowed_address: bool  # odd port: only OK if every address is allow-listed

    @property
    def request_target(self) -> str:
        """``path`` as it goes on the request line: no dot segments, non-ASCII escaped."""
        path, sep, query = self.path.partition("?")
        if "." in path and any(seg in (".", "..") for seg in path.split("/")):
            path = _remove_dot_segments(path)
        path = _percent_encode(path, _PATH_SAFE)
        return f"{path}?{_percent_encode(query, _QUERY_SAFE)}" if sep else path

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port == DEFAULT_PORTS[self.scheme]:
            return host
        return f"{host}:{self.port}"

    def url_for(self, ip: IPAddress) -> str:
        """This URL with the checked address in place of the host name."""
        literal = f"[{ip.compressed}]" if ip.version == 6 else str(ip)
        return f"{self.scheme}://{literal}:{self.port}{self.path}"


async def system_resolver(host: str, port: int) -> list[str]:
    """The OS resolver, run off the event loop."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class AddressPolicy:
    """Decides whether a URL, and each address its host resolves to, may be fetched."""

    def __init__(
        self,
        allowed_private_hosts: Iterable[str] = (),
        *,
        allowed_ports: Iterable[int] = STANDARD_PORTS,
    ) -> None:
        self.allowed_names: set[str] = set()
        self.allowed_networks: list[IPNetwork] = []
        self.allowed_ports = frozenset(allowed_ports)
        for raw in allowed_private_hosts:
            entry = raw.strip().lower()
            if not entry:
                continue
            if "/" in entry:
                self.allowed_networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            literal = parse_ip_host(entry)
            if literal is not None:
                self.allowed_networks.append(ipaddress.ip_network(literal))
            else:
                self.allowed_names.add(entry.rstrip("."))

    def address_allowed(self, ip: IPAddress) -> bool:
        """On the allow list (an intranet, a test server), whatever its range."""
        return any(ip.version == n.version and ip in n for n in self.allowed_networks)

    def check_url(self, url: str) -> Target:
        """Vet a URL without touching the network; raise InvalidURL or BlockedAddress."""
        parts = _split(url)
        scheme = parts.scheme
        if not scheme:
            raise InvalidURL()
        if scheme not in DEFAULT_PORTS:
            raise InvalidURL(f"I can only open http and https links, not {scheme} links.")
        if "@" in parts.netloc:
            raise BlockedAddress(
                "I don't open links with a user name or password in them (user@host). "
                "Share the plain https:// link instead."
            )
        host = _normalise_host(parts)
        try:
            port = parts.port or DEFAULT_PORTS[scheme]
        except ValueError:
            raise InvalidURL("That link has an invalid port number.") from None
        ip = parse_ip_host(host)
        if ip is not None:
            host = ip.compressed
        elif "[" in parts.netloc:
            raise InvalidURL("That link's host name is not valid.")
        host_allowed = host in self.allowed_names or (ip is not None and self.address_allowed(ip))
        if ip is not None and not host_allowed and not is_public_address(ip):
            raise BlockedAddress(_private_message(host))
        needs_allowed_address = False
        if port not in self.allowed_ports and not host_allowed:
            # A name may still resolve into an allow-listed range (an intranet on :8080).
            if ip is not None or not self.allowed_networks:
                raise BlockedAddress(_port_message(port))
            needs_allowed_address = True
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        if _CONTROL_CHARS.search(path):  # they could split the request line
            raise InvalidURL("That link contains control characters.")
        netloc = f"[{host}]" if ":" in host else host
        if port != DEFAULT_PORTS[scheme]:
            netloc = f"{netloc}:{port}"
        return Target(
            url=f"{scheme}://{netloc}{path}",
            scheme=scheme,
            host=host,
            port=port,
            path=path,
            ip=ip,
            host_allowed=host_allowed,
            needs_allowed_address=needs_allowed_address,
        )

    async def resolve_and_check(
        self, target: Target, resolver: Resolver | None = None
    ) -> list[IPAddress]:
        """Resolve the host once; every answer must be public or allow-listed."""
        if target.ip is not None:
            addresses: list[IPAddress] = [target.ip]
        else:
            addresses = await _resolve(target, resolver or system_resolver)
        if not target.host_allowed:
            for ip in addresses:
                if not is_public_address(ip) and not self.address_allowed(ip):
                    raise BlockedAddress(_private_message(target.host))
        if target.needs_allowed_address and not all(self.address_allowed(ip) for ip in addresses):
            raise BlockedAddress(_port_message(target.port))
        return addresses


def _split(url: str) -> SplitResult:
    if not isinstance(url, str) or not url.strip() or len(url) > _MAX_URL_LENGTH:
        raise InvalidURL()
    try:
        return urlsplit(url.strip())
    except ValueError:
        raise InvalidURL() from None


def _normalise_host(parts: SplitResult) -> str:
    """The host as ASCII lower-case: percent-decoded, IDNA-encoded, no trailing dot."""
    raw = parts.hostname or ""
    if "[" in parts.netloc:  # urlsplit strips brackets but keeps any zone id
        return raw
    host = unquote(raw).lower()
    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise InvalidURL("That link has no host name. Paste a full https:// URL.")
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            raise InvalidURL("That link's host name is not valid.") from None
    if not set(host) <= _HOST_CHARS:
        raise InvalidURL("That link's host name is not valid.")
    return host


def _percent_encode(text: str, safe: frozenset[str]) -> str:
    if set(text) <= safe:
        return text  # the common case: nothing to escape
    return "".join(c if c in safe else "".join(f"%{b:02X}" for b in c.encode()) for c in text)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4 for a path starting with "/", as browsers send it."""
    out: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if len(out) > 1:
                out.pop()
        elif segment != ".":
            out.append(segment)
    return "/".join(out) or "/"


async def _resolve(target: Target, resolver: Resolver) -> list[IPAddress]:
    try:
        answers = await resolver(target.host, target.port)
    except (OSError, UnicodeError, ValueError):
        raise ConnectFailed(f"I couldn't find the site {target.host}. Check the link.") from None
    addresses: list[IPAddress] = []
    for answer in answers:
        try:
            ip = ipaddress.ip_address(answer)
        except ValueError:
            raise ConnectFailed(f"I couldn't find the site {target.host}.") from None
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise ConnectFailed(f"I couldn't find the site {target.host}. Check the link.")
    return addresses


def _private_message(host: str) -> str:
    return (
        f"I can't open that link: {host} is a private or local address. Share a public URL instead."
    )


def _port_message(port: int) -> str:
    return (
        f"I can't open that link: it uses port {port}, and I only open links on the "
        "standard web ports (80 and 443)."
    )


__all__: Sequence[str] = (
    "STANDARD_PORTS",
    "AddressPolicy",
    "IPAddress",
    "Resolver",
    "Target",
    "is_public_address",
    "parse_ip_host",
    "system_resolver",
)
