"""Reusable assertions on rendered (or actually posted) messages.

Call them on whatever reached the platform — a renderer's dict, or the JSON
body a fake Slack/Discord server received:

    assert_safe_slack(payload, article_url)     # no ping, no foreign link, limits
    assert_safe_discord(payload, article_url)
    assert_safe_markdown(text, article_url)

Each is built from the smaller checks below, which can also be used alone.
Lengths are counted in UTF-16 code units, as strictly as either platform.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

SLACK_SECTION_LIMIT = 3000
SLACK_HEADER_LIMIT = 150
SLACK_MAX_BLOCKS = 50
SLACK_CONTEXT_ELEMENTS = 10
SLACK_TEXT_LIMIT = 40000

DISCORD_CONTENT_LIMIT = 2000
DISCORD_MAX_EMBEDS = 10
DISCORD_TITLE_LIMIT = 256
DISCORD_DESCRIPTION_LIMIT = 4096
DISCORD_MAX_FIELDS = 25
DISCORD_FIELD_NAME_LIMIT = 256
DISCORD_FIELD_VALUE_LIMIT = 1024
DISCORD_FOOTER_LIMIT = 2048
DISCORD_AUTHOR_LIMIT = 256
DISCORD_EMBED_TOTAL = 6000

# A mention that would ping or link someone, on either platform.
_LIVE_MENTIONS = [
    re.compile(r"@(?:everyone|here|channel)\b", re.IGNORECASE),  # plain-text pings
    re.compile(r"<[!@#]"),  # Slack <!channel> <!here> <!subteam^…> <@U…> <#C…>; Discord <@1> <#1>
    re.compile(r"<@[!&]?\d+>"),  # Discord user / role
    re.compile(r"</[\w -]+:\d+>"),  # Discord slash-command mention
]
_SCHEME_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s<>|\"'`)\]]*", re.IGNORECASE)
_WWW = re.compile(r"\bwww\.[a-z0-9-]+\.[a-z]", re.IGNORECASE)
_SLACK_LINK = re.compile(r"<([^<>|\s]+)(?:\|[^<>]*)?>")
_MD_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(([^)]*)\)")
_MD_IMAGE = re.compile(r"(?<!\\)!(?<!\\)\[")
_SLACK_ENTITY = re.compile(r"&(?:amp|lt|gt);")
_URL_KEYS = {"url", "icon_url", "proxy_url", "image_url", "thumb_url", "author_link", "title_link"}
_IMAGE_KEYS = {"image", "thumbnail", "video", "image_url", "thumb_url"}


def strings(payload: Any) -> Iterator[str]:
    """Every string value in a nested dict/list payload (or the string itself)."""
    if isinstance(payload, str):
        yield payload
    elif isinstance(payload, dict):
        for value in payload.values():
            yield from strings(value)
    elif isinstance(payload, list | tuple):
        for value in payload:
            yield from strings(value)


def ulen(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def assert_no_live_mentions(payload: Any) -> None:
    for text in strings(payload):
        for pattern in _LIVE_MENTIONS:
            match = pattern.search(text)
            assert match is None, f"live mention {match.group(0)!r} in {text[:200]!r}"


def _is_article_url(url: str, article_url: str) -> bool:
    url = url.rstrip(".,;:!?")
    # Slack escapes "&" inside a link's URL as "&amp;"; renderers may percent-encode
    # characters that would break markup, e.g. "(" in a Wikipedia URL.
    return unquote(url.replace("&amp;", "&")) == unquote(article_url)


def assert_no_foreign_links(payload: Any, article_url: str) -> None:
    """No URL, link markup or image in any string except the article's own URL."""
    for text in strings(payload):
        for match in _SCHEME_URL.finditer(text):
            assert _is_article_url(match.group(0), article_url), (
                f"foreign URL {match.group(0)!r} in {text[:200]!r}"
            )
        assert not _WWW.search(text) or article_url.split("//", 1)[-1].startswith("www."), text
        for match in _SLACK_LINK.finditer(text):
            target = match.group(1)
            if "://" in target or target.lower().startswith("mailto:"):
                assert _is_article_url(target, article_url), f"foreign link in {text[:200]!r}"
        for match in _MD_LINK.finditer(text):
            assert _is_article_url(match.group(1), article_url), f"md link in {text[:200]!r}"
        assert not _MD_IMAGE.search(text), f"markdown image in {text[:200]!r}"
    _assert_url_keys(payload, article_url)


def _assert_url_keys(payload: Any, article_url: str) -> None:
    if isinstance(payload, dict):
        for key, value in payload.items():
            assert key not in _IMAGE_KEYS, f"an image/media key {key!r} in the payload"
            if key in _URL_KEYS and isinstance(value, str):
                assert _is_article_url(value, article_url), f"{key}={value!r} is not the article"
            _assert_url_keys(value, article_url)
    elif isinstance(payload, list | tuple):
        for value in payload:
            _assert_url_keys(value, article_url)


def assert_slack_entities_whole(payload: Any) -> None:
    """Every ``&`` starts a complete ``&amp;``/``&lt;``/``&gt;``: nothing cut in half."""
    for text in strings(payload):
        for match in re.finditer("&", text):
            around = text[max(0, match.start() - 20) :][:60]
            assert _SLACK_ENTITY.match(text, match.start()), f"bare or cut entity: {around!r}"
        # A raw "<" may only open a link the renderer built (its target is checked
        # by assert_no_foreign_links); untrusted "<" arrives as "&lt;".
        for match in re.finditer("<", text):
            assert text.startswith(("<http://", "<https://"), match.start()), (
                f"raw '<' in {text[max(0, match.start() - 20) :][:60]!r}"
            )


def _text_objects(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if isinstance(block.get("text"), dict):
        yield block["text"]
    for element in block.get("elements", []):
        if isinstance(element, dict) and "text" in element and isinstance(element["text"], str):
            yield element
    yield from block.get("fields", [])


def assert_slack_limits(payload: dict[str, Any]) -> None:
    blocks = payload.get("blocks", [])
    assert len(blocks) <= SLACK_MAX_BLOCKS, f"{len(blocks)} blocks"
    assert ulen(payload.get("text", "")) <= SLACK_TEXT_LIMIT
    for block in blocks:
        if block["type"] == "header":
            assert ulen(block["text"]["text"]) <= SLACK_HEADER_LIMIT, block["text"]["text"]
            assert block["text"]["type"] == "plain_text"
        if block["type"] == "context":
            assert len(block["elements"]) <= SLACK_CONTEXT_ELEMENTS
        for obj in _text_objects(block):
            assert ulen(obj["text"]) <= SLACK_SECTION_LIMIT, f"{ulen(obj['text'])} chars"
    # And what Slack's own SDK enforces when it builds the same blocks.
    from slack_sdk.models.blocks import Block

    for block in blocks:
        Block.parse(block).validate_json()


def discord_embed_size(embed: dict[str, Any]) -> int:
    size = ulen(embed.get("title", "")) + ulen(embed.get("description", ""))
    size += ulen(embed.get("footer", {}).get("text", ""))
    size += ulen(embed.get("author", {}).get("name", ""))
    for field in embed.get("fields", []):
        size += ulen(field["name"]) + ulen(field["value"])
    return size


def assert_discord_limits(payload: dict[str, Any]) -> None:
    assert ulen(payload.get("content") or "") <= DISCORD_CONTENT_LIMIT
    embeds = payload.get("embeds") or []
    assert len(embeds) <= DISCORD_MAX_EMBEDS
    for embed in embeds:
        assert ulen(embed.get("title", "")) <= DISCORD_TITLE_LIMIT
        assert ulen(embed.get("description", "")) <= DISCORD_DESCRIPTION_LIMIT
        assert ulen(embed.get("footer", {}).get("text", "")) <= DISCORD_FOOTER_LIMIT
        assert ulen(embed.get("author", {}).get("name", "")) <= DISCORD_AUTHOR_LIMIT
        fields = embed.get("fields", [])
        assert len(fields) <= DISCORD_MAX_FIELDS
        for field in fields:
            assert 0 < ulen(field["name"]) <= DISCORD_FIELD_NAME_LIMIT
            assert 0 < ulen(field["value"]) <= DISCORD_FIELD_VALUE_LIMIT
        assert discord_embed_size(embed) <= DISCORD_EMBED_TOTAL
        # discord.py's own count of the same embed.
        import discord

        assert len(discord.Embed.from_dict(embed)) <= DISCORD_EMBED_TOTAL


def assert_discord_escapes_whole(payload: Any) -> None:
    """No string ends in a lone backslash (an escape cut in half by trimming)."""
    for text in strings(payload):
        trailing = len(text) - len(text.rstrip("\\"))
        assert trailing % 2 == 0, f"dangling backslash in {text[-60:]!r}"


def without_thumbnail(payload: Any, image: str) -> Any:
    """The payload less the one image a brief may carry: the article's own picture as a
    Slack section's image accessory or a Discord embed's thumbnail (issue 20). Any other
    image, or that image anywhere else, is still caught by the checks."""
    if isinstance(payload, dict):
        return {
            key: without_thumbnail(value, image)
            for key, value in payload.items()
            if not (image and _is_thumbnail(key, value, image))
        }
    if isinstance(payload, list | tuple):
        return [without_thumbnail(value, image) for value in payload]
    return payload


def _is_thumbnail(key: str, value: Any, image: str) -> bool:
    if key == "accessory" and isinstance(value, dict):
        return value.get("type") == "image" and value.get("image_url") == image
    return key == "thumbnail" and value == {"url": image}


def assert_safe_slack(payload: dict[str, Any], article_url: str, image: str = "") -> None:
    payload = without_thumbnail(payload, image)
    assert_no_live_mentions(payload)
    assert_no_foreign_links(payload, article_url)
    assert_slack_entities_whole(payload)
    assert_slack_limits(payload)


def assert_safe_discord(payload: dict[str, Any], article_url: str, image: str = "") -> None:
    payload = without_thumbnail(payload, image)
    assert_no_live_mentions(payload)
    assert_no_foreign_links(payload, article_url)
    assert_discord_escapes_whole(payload)
    assert_discord_limits(payload)


def assert_safe_markdown(text: str, article_url: str) -> None:
    assert_no_live_mentions(text)
    assert_no_foreign_links(text, article_url)
