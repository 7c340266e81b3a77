"""Finding links in chat text, and putting them in one canonical form.

Chat platforms wrap links in their own markup, so ``find_urls`` reads:

* bare URLs (``see https://x.com/a.``: the trailing full stop is not the link's);
* Slack's ``<https://x|label>`` and ``<https://x>``, with ``&amp;`` decoded;
* Discord's embed-suppressed ``<https://x>``;
* Markdown ``[label](https://x)``, including Discord's ``[label](<https://x>)``.

Non-http(s) targets (``mailto:``, ``ftp:``, ``javascript:``, Slack's ``<#C123>``,
``<@U123>``, ``<!channel>``) are ignored. ``canonical_url`` is the cache key and
the form shown to people: it lower-cases scheme and host, IDNA-encodes the
host, drops the fragment, the default port and tracking parameters, and keeps
every other query parameter as written and in its order.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

import idna

from bot.errors import InvalidURL

MAX_URL_LENGTH = 4096

# Query keys dropped from canonical URLs: they identify the click, not the page.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "twclid", "ttclid", "li_fat_id", "mc_eid", "mc_cid", "igshid", "igsh", "_ga", "_gl",
        "_hsenc", "_hsmi", "__hssc", "__hstc", "__hsfp", "hsctatracking", "mkt_tok",
        "ref_src", "ref_url", "spm", "scm", "vero_id", "vero_conv", "oly_anon_id",
        "oly_enc_id", "rb_clickid", "s_cid", "wickedid", "ncid", "cmpid", "sr_share",
        "share_id", "si", "trk", "trkcampaign", "at_medium", "at_campaign", "ocid",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "matomo_", "hmb_")

# Slack/Discord angle forms: <target> or <target|label>. The target has no spaces.
_ANGLE_RE = re.compile(r"<([^<>|\s]+)(?:\|[^<>]*)?>")
# Markdown link: label, then a target with no spaces and at most one level of balanced
# parentheses (Foo_(bar)), ending at ")" or at the space before a title. Possessive
# quantifiers over disjoint classes: each character is read a bounded number of times,
# so a message of repeated "[a](" is one pass, not one scan to the end per opener.
_MARKDOWN_RE = re.compile(r"\[[^\[\]\n]*+\]\(([^\s()]*+(?:\([^\s()]*+\)[^\s()]*+)*+)(?=[\s)])")
_BARE_RE = re.compile(r"https?://[^\s<>\"`{}|\\^]+", re.IGNORECASE)
_ESCAPED_ANGLE_RE = re.compile(r"&(?:lt|gt);", re.IGNORECASE)
_SCHEME_RE = re.compile(r"^https?://", re.IGNORECASE)
_TRAILING_PUNCT = ".,;:!?'\"*_~”’»…"
_TRAILING_ENTITIES = ("&quot;", "&#39;", "&apos;")
_CLOSERS = {")": "(", "]": "[", "}": "{"}


def find_urls(text: str) -> list[str]:
    """Every distinct http(s) URL in chat text, in order of appearance, cleaned.

    Cleaning means unwrapping platform markup, decoding HTML escapes Slack
    adds, and trimming punctuation that belongs to the sentence, not the URL.
    """
    found: list[tuple[int, str]] = []
    masked = list(text)

    def mask(start: int, end: int) -> None:
        # Replace consumed spans by spaces so the bare-URL pass cannot re-read them.
        masked[start:end] = " " * (end - start)

    for match in _ANGLE_RE.finditer(text):
        target = _unescape(match.group(1))
        if _SCHEME_RE.match(target):
            found.append((match.start(), target))
        mask(match.start(), match.end())

    snapshot = "".join(masked)
    for match in _MARKDOWN_RE.finditer(snapshot):
        start, end = match.span(1)
        target = text[start:end]
        if target and _SCHEME_RE.match(target):
            found.append((match.start(), _unescape(target)))
            mask(match.start(), end + 1)

    for match in _BARE_RE.finditer("".join(masked)):
        # An escaped angle bracket (&lt; &gt;) is Slack's markup, never part of the URL.
        raw = _ESCAPED_ANGLE_RE.split(match.group(0), maxsplit=1)[0]
        found.append((match.start(), _trim(_unescape(raw))))

    urls: list[str] = []
    seen: set[str] = set()
    for _, url in sorted(found, key=lambda item: item[0]):
        if url not in seen and _has_host(url):
            seen.add(url)
            urls.append(url)
    return urls


def canonical_url(url: str) -> str:
    """The canonical form of an http(s) URL; raises ``InvalidURL`` otherwise."""
    if not isinstance(url, str):
        raise InvalidURL()
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH or any(c.isspace() for c in url):
        raise InvalidURL()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # bad port, bad IPv6 literal
        raise InvalidURL() from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise InvalidURL()

    host = _canonical_host(parts.hostname)
    if (scheme, port) in (("http", 80), ("https", 443)):
        port = None
    netloc = host if port is None else f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    if userinfo:
        # Kept, not dropped: the fetcher must still see (and refuse) credentials.
        netloc = f"{userinfo}@{netloc}"

    # Percent-encode what is not legal in a URI (spaces, non-ASCII); keep existing escapes.
    path = quote(parts.path, safe="/%:@!$&'()*+,;=~-._") or "/"
    query = _strip_tracking(quote(parts.query, safe="/%:@!$&'()*+,;=~-._?[]"))
    return urlunsplit((scheme, netloc, path, query, ""))


def links_in_message(text: str, limit: int) -> tuple[list[str], int]:
    """Canonical, de-duplicated links of a message, at most ``limit`` of them.

    Returns the links and how many further distinct links the cap dropped.
    Anything ``canonical_url`` rejects is skipped, not counted.
    """
    links: list[str] = []
    seen: set[str] = set()
    for url in find_urls(text):
        try:
            canonical = canonical_url(url)
        except InvalidURL:
            continue
        if canonical not in seen:
            seen.add(canonical)
            links.append(canonical)
    cap = max(limit, 0)
    return links[:cap], max(len(links) - cap, 0)


def is_tracking_param(key: str) -> bool:
    """Whether a query key only tracks the click (``utm_source``, ``fbclid``...)."""
    key = key.lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def _strip_tracking(query: str) -> str:
    # Work on the raw pieces so the kept parameters stay byte-for-byte as written.
    kept = []
    for piece in query.split("&"):
        if not piece:
            continue
        key = unquote_plus(piece.split("=", 1)[0])
        if not is_tracking_param(key):
            kept.append(piece)
    return "&".join(kept)


def _canonical_host(host: str) -> str:
    host = host.rstrip(".").lower()
    if not host:
        raise InvalidURL()
    if ":" in host:  # IPv6 literal; urlsplit already removed the brackets
        return f"[{host}]"
    if host.isascii():
        if not re.fullmatch(r"[a-z0-9._~%!$&'()*+,;=-]+", host):
            raise InvalidURL()
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise InvalidURL() from exc


def _unescape(url: str) -> str:
    # Slack escapes &, < and > in message text; a URL never means the entity itself.
    return url.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _trim(url: str) -> str:
    """Drop sentence punctuation and unbalanced closing brackets from the end.

    One pass from the end with running bracket counts: a URL ending in thousands
    of ``)`` or ``.`` costs linear time, not a recount per character.
    """
    end = len(url)
    counts = {c: url.count(c) for c in "()[]{}"}
    while end:
        tail = url[max(0, end - 6) : end].lower()
        entity = next((e for e in _TRAILING_ENTITIES if tail.endswith(e)), None)
        if entity:
            end -= len(entity)
            continue
        last = url[end - 1]
        if last in _TRAILING_PUNCT or last in "<>":
            end -= 1
        # A closer is the URL's own only when it balances an opener inside it: Foo_(bar).
        elif last in _CLOSERS and counts[last] > counts[_CLOSERS[last]]:
            counts[last] -= 1
            end -= 1
        else:
            break
    return url[:end]


def _has_host(url: str) -> bool:
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:
        return False
