"""Finding links in chat text and canonicalising them (bot.pipeline.urls)."""

from __future__ import annotations

import pytest

from bot.errors import InvalidURL
from bot.pipeline.urls import canonical_url, find_urls, is_tracking_param, links_in_message

FIND_CASES = [
    # bare URLs and sentence punctuation
    ("https://example.com", ["https://example.com"]),
    ("see https://example.com/a.", ["https://example.com/a"]),
    ("see https://example.com/a, then", ["https://example.com/a"]),
    ("really? https://example.com/a?!", ["https://example.com/a"]),
    ("end: https://example.com/a;", ["https://example.com/a"]),
    ("'https://example.com/a'", ["https://example.com/a"]),
    ('"https://example.com/a"', ["https://example.com/a"]),
    ("“https://example.com/a”", ["https://example.com/a"]),
    ("https://example.com/a...", ["https://example.com/a"]),
    ("https://example.com/a/b.html.", ["https://example.com/a/b.html"]),
    ("http://example.com/x", ["http://example.com/x"]),
    ("HTTPS://Example.COM/Path", ["HTTPS://Example.COM/Path"]),
    ("https://example.com/?q=1&r=2", ["https://example.com/?q=1&r=2"]),
    ("https://example.com/#top", ["https://example.com/#top"]),
    ("https://example.com:8080/a", ["https://example.com:8080/a"]),
    ("two https://a.example/1 https://b.example/2", ["https://a.example/1", "https://b.example/2"]),
    ("dup https://a.example/1 and https://a.example/1", ["https://a.example/1"]),
    ("line\nhttps://a.example/x\nnext", ["https://a.example/x"]),
    ("`https://a.example/code`", ["https://a.example/code"]),
    # brackets: balanced ones belong to the URL, unbalanced closers do not
    ("https://en.wikipedia.org/wiki/Foo_(bar)", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
    ("(https://en.wikipedia.org/wiki/Foo_(bar))", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
    ("(see https://example.com/a)", ["https://example.com/a"]),
    ("(see https://example.com/a).", ["https://example.com/a"]),
    ("[https://example.com/a]", ["https://example.com/a"]),
    ("{https://example.com/a}", ["https://example.com/a"]),
    ("https://example.com/a?x[]=1", ["https://example.com/a?x[]=1"]),
    # Slack markup
    ("<https://example.com/a>", ["https://example.com/a"]),
    ("<https://example.com/a|the label>", ["https://example.com/a"]),
    ("<https://example.com/?a=1&amp;b=2|label>", ["https://example.com/?a=1&b=2"]),
    ("<https://example.com/a|https://example.com/a>", ["https://example.com/a"]),
    ("bare https://example.com/?a=1&amp;b=2 too", ["https://example.com/?a=1&b=2"]),
    ("&lt;https://example.com/a&gt;", ["https://example.com/a"]),
    ("<mailto:someone@example.com|someone@example.com>", []),
    ("<#C123ABC|general> <@U123ABC> <!channel> <!here>", []),
    ("hi <@U1> look <https://a.example/1> and <#C1>", ["https://a.example/1"]),
    # Discord's embed-suppressed form and masked links
    ("<https://discord.example/x> no embed", ["https://discord.example/x"]),
    ("[label](<https://discord.example/x>)", ["https://discord.example/x"]),
    # Markdown
    ("[label](https://example.com/a)", ["https://example.com/a"]),
    ("[label](https://example.com/a_(b))", ["https://example.com/a_(b)"]),
    ('[label](https://example.com/a "title")', ["https://example.com/a"]),
    ("[https://shown.example](https://real.example/x)", ["https://real.example/x"]),
    ("[a](https://a.example/1) then https://b.example/2", ["https://a.example/1", "https://b.example/2"]),
    ("[not a link](/relative/path)", []),
    # order is order of appearance across forms
    ("https://c.example/3 <https://a.example/1> [x](https://b.example/2)",
     ["https://c.example/3", "https://a.example/1", "https://b.example/2"]),
    # not http(s), or no host
    ("mailto:someone@example.com", []),
    ("ftp://files.example.com/a", []),
    ("javascript:alert(1)", []),
    ("file:///etc/passwd", []),
    ("example.com/no-scheme", []),
    ("https://", []),
    ("http://.", []),
    ("nothing here", []),
    ("", []),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), FIND_CASES)
def test_find_urls(text: str, expected: list[str]) -> None:
    assert find_urls(text) == expected


CANONICAL_CASES = [
    ("https://example.com", "https://example.com/"),
    ("HTTPS://EXAMPLE.COM/Path", "https://example.com/Path"),
    ("Http://Example.com/", "http://example.com/"),
    ("https://example.com/a#section", "https://example.com/a"),
    ("https://example.com/a#", "https://example.com/a"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("http://example.com:443/a", "http://example.com:443/a"),
    ("https://example.com:80/a", "https://example.com:80/a"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("https://example.com.", "https://example.com/"),
    ("https://bücher.example/", "https://xn--bcher-kva.example/"),
    ("https://BÜCHER.example/x", "https://xn--bcher-kva.example/x"),
    ("https://例え.jp/", "https://xn--r8jz45g.jp/"),
    ("https://[2001:DB8::1]:443/a", "https://[2001:db8::1]/a"),
    ("http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x"),
    ("https://example.com/a b", None),  # whitespace inside is not one URL
    ("https://example.com/ä", "https://example.com/%C3%A4"),
    ("https://example.com/a%20b", "https://example.com/a%20b"),
    ("https://example.com/?utm_source=x&utm_medium=y", "https://example.com/"),
    ("https://example.com/a?id=7&utm_campaign=z", "https://example.com/a?id=7"),
    ("https://example.com/a?UTM_Source=x&id=7", "https://example.com/a?id=7"),
    ("https://example.com/a?fbclid=abc&b=2&a=1", "https://example.com/a?b=2&a=1"),
    ("https://example.com/a?gclid=1&dclid=2&msclkid=3&yclid=4", "https://example.com/a"),
    ("https://example.com/a?mc_eid=1&mc_cid=2&igshid=3&_ga=4", "https://example.com/a"),
    ("https://example.com/a?ref_src=twsrc&spm=a1&q=x", "https://example.com/a?q=x"),
    ("https://example.com/a?q=1&q=2", "https://example.com/a?q=1&q=2"),
    ("https://example.com/a?z=1&a=2", "https://example.com/a?z=1&a=2"),
    ("https://example.com/a?q=a+b&r=%2F", "https://example.com/a?q=a+b&r=%2F"),
    ("https://example.com/a?flag", "https://example.com/a?flag"),
    ("https://example.com/a?&&q=1&", "https://example.com/a?q=1"),
    ("https://example.com/a?", "https://example.com/a"),
    ("https://example.com/a?ref=homepage", "https://example.com/a?ref=homepage"),
    ("https://user:pw@example.com/a", "https://user:pw@example.com/a"),
    ("  https://example.com/a  ", "https://example.com/a"),
    # failures
    ("ftp://example.com/a", None),
    ("mailto:a@example.com", None),
    ("javascript:alert(1)", None),
    ("example.com/a", None),
    ("//example.com/a", None),
    ("https://", None),
    ("http:///path", None),
    ("https://example.com:99999/", None),
    ("https://example.com:port/", None),
    ("https://[::1/", None),
    ("https://exa mple.com/", None),
    ("https://ex<ample.com/", None),
    ("", None),
    ("https://example.com/" + "a" * 5000, None),
]


@pytest.mark.parametrize(("url", "expected"), CANONICAL_CASES)
def test_canonical_url(url: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(InvalidURL):
            canonical_url(url)
    else:
        assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a?id=7&utm_source=x#frag",
        "HTTP://Bücher.Example:80/x?b=1&fbclid=2",
        "https://example.com",
    ],
)
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


def test_invalid_url_message_is_for_people() -> None:
    with pytest.raises(InvalidURL) as caught:
        canonical_url("ftp://example.com")
    assert "https://" in str(caught.value)


LINKS_CASES = [
    # text, limit, expected links, expected dropped
    ("nothing", 3, [], 0),
    ("https://a.example/1", 3, ["https://a.example/1"], 0),
    ("https://a.example/1 https://b.example/2", 1, ["https://a.example/1"], 1),
    (
        "https://a.example/1 https://b.example/2 https://c.example/3 https://d.example/4",
        2,
        ["https://a.example/1", "https://b.example/2"],
        2,
    ),
    # duplicates after canonicalisation count once, and are not "dropped"
    (
        "https://a.example/1 <https://A.example/1#x|again> https://a.example/1?utm_source=s",
        1,
        ["https://a.example/1"],
        0,
    ),
    (
        "https://a.example/1 https://a.example:443/1 https://b.example/2",
        5,
        ["https://a.example/1", "https://b.example/2"],
        0,
    ),
    ("https://a.example https://a.example/", 5, ["https://a.example/"], 0),
    # a cap of zero keeps nothing and counts everything
    ("https://a.example/1 https://b.example/2", 0, [], 2),
    ("https://a.example/1", -1, [], 1),
    # unparseable candidates are skipped, not counted
    ("https://a.example:99999/ https://b.example/2", 5, ["https://b.example/2"], 0),
    ("<mailto:x@y.z> <#C1> ftp://f.example https://ok.example", 5, ["https://ok.example/"], 0),
    (
        "<https://x.example/?a=1&amp;utm_medium=m&amp;b=2|label> and [doc](https://y.example/d)",
        5,
        ["https://x.example/?a=1&b=2", "https://y.example/d"],
        0,
    ),
]


@pytest.mark.parametrize(("text", "limit", "links", "dropped"), LINKS_CASES)
def test_links_in_message(text: str, limit: int, links: list[str], dropped: int) -> None:
    assert links_in_message(text, limit) == (links, dropped)


@pytest.mark.parametrize(
    ("key", "tracking"),
    [
        ("utm_source", True),
        ("UTM_Content", True),
        ("fbclid", True),
        ("gclid", True),
        ("_ga", True),
        ("id", False),
        ("q", False),
        ("ref", False),
        ("utm", False),
        ("page", False),
    ],
)
def test_is_tracking_param(key: str, tracking: bool) -> None:
    assert is_tracking_param(key) is tracking
