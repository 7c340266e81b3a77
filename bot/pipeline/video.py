"""Video pages: a YouTube watch page briefed from its title, channel, description and captions.

The watch page carries its facts in the player data it embeds for its own script
(``var ytInitialPlayerResponse = {...};``): ``videoDetails`` (title, channel, the full
description) and, when the video has captions, the caption tracks with their URLs.
``read_video`` reads that; ``bot.pipeline.follow`` fetches the chosen caption track
through the same guard as any link, and ``captions_text`` turns the track (YouTube's
timed-text XML) into paragraphs. The brief says what it was made from.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml.html import HtmlElement

_PLAYER_SCRIPTS = etree.XPath("//script[contains(text(), 'ytInitialPlayerResponse')]/text()")
_PLAYER_START = re.compile(r"ytInitialPlayerResponse\s*=\s*(?=\{)")
# a paragraph of transcript every so many caption lines, so the text reads as prose
_LINES_PER_PARAGRAPH = 12
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

FROM_DESCRIPTION = "This is a video: the brief is from its title, channel and description."
FROM_CAPTIONS = (
    "This is a video: the brief is from its title, channel, description and captions ({lang})."
)
CAPTIONS_UNREADABLE = (
    "This is a video: its captions could not be read, so the brief is from its title, channel "
    "and description."
)


@dataclass(slots=True)
class Video:
    title: str
    channel: str
    description: str
    caption_url: str  # "" when the page lists no caption track
    caption_language: str


def read_video(tree: HtmlElement, url: str) -> Video | None:
    """The video on a YouTube watch page, or None for any other page."""
    for script in _PLAYER_SCRIPTS(tree):
        player = _player_response(str(script))
        details = player.get("videoDetails") if player else None
        if isinstance(details, dict) and details.get("videoId"):
            caption_url, language = _caption_track(player, url)
            return Video(
                title=str(details.get("title") or ""),
                channel=str(details.get("author") or ""),
                description=str(details.get("shortDescription") or ""),
                caption_url=caption_url,
                caption_language=language,
            )
    return None


def captions_text(data: bytes) -> str:
    """YouTube timed-text XML (``<transcript><text>`` or ``<timedtext><body><p>``) as prose."""
    try:
        root = etree.fromstring(data, _XML_PARSER)
    except etree.XMLSyntaxError:
        return ""
    lines = []
    for element in root.iter("text", "p"):
        # the track escapes its text once more than XML needs ("&amp;#39;")
        line = " ".join(html.unescape("".join(element.itertext())).split())
        if line:
            lines.append(line)
    paragraphs = [
        " ".join(lines[i : i + _LINES_PER_PARAGRAPH])
        for i in range(0, len(lines), _LINES_PER_PARAGRAPH)
    ]
    return "\n\n".join(paragraphs)


def _player_response(script: str) -> dict | None:
    match = _PLAYER_START.search(script)
    if not match:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(script, match.end())
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _caption_track(player: dict, url: str) -> tuple[str, str]:
    """The best caption track: a human-made one before automatic captions, English first."""
    captions = player.get("captions") or {}
    renderer = (
        captions.get("playerCaptionsTracklistRenderer") if isinstance(captions, dict) else None
    )
    tracks = renderer.get("captionTracks") if isinstance(renderer, dict) else None
    if not isinstance(tracks, list):
        return "", ""
    usable = [t for t in tracks if isinstance(t, dict) and isinstance(t.get("baseUrl"), str)]
    if not usable:
        return "", ""

    def rank(track: dict) -> tuple[bool, bool]:
        return (track.get("kind") == "asr", not str(track.get("languageCode", "")).startswith("en"))

    best = min(usable, key=rank)
    caption_url = urljoin(url, best["baseUrl"])
    if urlsplit(caption_url).scheme not in ("http", "https"):
        return "", ""
    return caption_url, str(best.get("languageCode") or "")
