"""The second fetch some pages need: a thread's linked article, a video's captions.

Both go through the fetcher the first page came through, so every rule of the SSRF
guard (addresses, ports, redirects, size, time) applies to them too. A failure here
never loses the brief: the thread or the video description is briefed instead, and
the brief says so.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

from bot.errors import LinkbriefError
from bot.pipeline.contracts import Fetcher
from bot.pipeline.models import Article, FetchedPage
from bot.pipeline.quality import check_article
from bot.pipeline.video import CAPTIONS_UNREADABLE, FROM_CAPTIONS, captions_text

log = logging.getLogger(__name__)

CAPTION_TYPES = frozenset({"text/xml", "application/xml", "text/plain", "text/html"})
LINKED_UNREADABLE = "I couldn't read the linked article ({reason}); the brief is from the thread."


async def follow(
    article: Article, fetcher: Fetcher, extract: Callable[[FetchedPage], Awaitable[Article]]
) -> Article:
    """The article with what its page points to folded in (unchanged for plain articles)."""
    if article.kind == "discussion" and article.linked_url:
        return await _linked_article(article, fetcher, extract)
    if article.kind == "video" and article.caption_url:
        return await _with_captions(article, fetcher)
    return article


async def _linked_article(
    thread: Article, fetcher: Fetcher, extract: Callable[[FetchedPage], Awaitable[Article]]
) -> Article:
    try:
        page = await fetcher.fetch(thread.linked_url)
        linked = await extract(page)
    except LinkbriefError as error:
        log.info("linked article unreadable (%s): %s", error.kind, thread.linked_url)
        note = LINKED_UNREADABLE.format(reason=str(error).rstrip("."))
        return _thread_only(replace(thread, notes=[*thread.notes, note]), error)
    if linked.kind != "article":
        # another thread or a video: brief the thread rather than follow links further
        return _thread_only(thread, None)
    # The brief is of the shared link (the thread), its text the linked article's.
    return replace(
        linked,
        url=thread.url,
        canonical_url=thread.canonical_url,
        title=linked.title or thread.title,
        image=linked.image or thread.image,
        kind="discussion",
        notes=[*thread.notes, *linked.notes],
        comments=thread.comments,
        linked_url=thread.linked_url,
        links=[*linked.links, thread.linked_url],
    )


def _thread_only(thread: Article, error: LinkbriefError | None) -> Article:
    """The thread briefed on its own: gated like any article. With next to no text of
    its own (a fresh link with no comments yet), the linked article's error is the
    clearer thing to tell the reader."""
    try:
        check_article(thread)
    except LinkbriefError:
        if error is not None:
            raise error from None
        raise
    return thread


async def _with_captions(video: Article, fetcher: Fetcher) -> Article:
    try:
        page = await fetcher.fetch(video.caption_url, accept=CAPTION_TYPES)
        transcript = captions_text(page.body)
    except LinkbriefError as error:
        log.info("caption track unreadable (%s)", error.kind)
        transcript = ""
    if not transcript:
        return replace(video, notes=[CAPTIONS_UNREADABLE])
    language = parse_qs(urlsplit(video.caption_url).query).get("lang", [""])[0] or "unknown"
    text = f"{video.text}\n\n# Transcript\n\n{transcript}" if video.text else transcript
    return replace(
        video,
        text=text,
        page_words=video.page_words + len(transcript.split()),
        notes=[FROM_CAPTIONS.format(lang=language)],
    )
