"""Links that are not plain articles: discussion threads and video pages.

``read_special_page`` looks at the parsed page before any cleaning and, for a Hacker
News item, a Reddit thread or a YouTube watch page, returns the ``Article`` that page
stands for; any other page gives None and goes to the article extractor. What still
needs the network (the thread's linked article, the video's caption track) is left
in ``linked_url`` / ``caption_url`` for ``bot.pipeline.follow``.
"""

from __future__ import annotations

from lxml.html import HtmlElement

from bot.pipeline.discussion import read_thread
from bot.pipeline.extract_meta import PageMetadata
from bot.pipeline.models import Article
from bot.pipeline.normalize import strip_invisible
from bot.pipeline.video import FROM_DESCRIPTION, read_video

# Markers one of the readers needs; a substring search of the raw page is far cheaper
# than any walk of the tree, and most pages have none of them.
_MARKERS = ("fatitem", "shreddit-post", "data-author", "ytInitialPlayerResponse")
_MARKER_BYTES = tuple(marker.encode() for marker in _MARKERS)
THREAD_NOTE = "A {site} thread: the brief covers the linked article and what the thread says."
THREAD_ONLY_NOTE = "A {site} thread with no linked article: the brief is from the thread itself."


def may_be_special(html: str | bytes) -> bool:
    """Whether the raw page carries a marker of a thread or video page."""
    if isinstance(html, bytes):
        return any(marker in html for marker in _MARKER_BYTES)
    return any(marker in html for marker in _MARKERS)


def read_special_page(
    tree: HtmlElement, url: str, meta: PageMetadata, page_words: int
) -> Article | None:
    """The article a discussion or video page stands for, or None for an ordinary page."""
    thread = read_thread(tree, url)
    if thread is not None:
        text = strip_invisible(thread.text())
        note = THREAD_NOTE if thread.linked_url else THREAD_ONLY_NOTE
        return Article(
            url=url,
            canonical_url=meta.canonical_url or url,
            text=text,
            title=strip_invisible(thread.title or meta.title),
            site=thread.site,
            author=strip_invisible(thread.poster),
            published=meta.published,
            language=meta.language,
            page_words=max(page_words, len(text.split())),
            image=meta.image,
            kind="discussion",
            notes=[note.format(site=thread.site)],
            comments=thread.comments,
            linked_url=thread.linked_url,
        )
    video = read_video(tree, url)
    if video is not None:
        text = strip_invisible(video.description.strip())
        return Article(
            url=url,
            canonical_url=meta.canonical_url or url,
            text=text,
            title=strip_invisible(video.title or meta.title),
            site="YouTube",
            author=strip_invisible(video.channel),
            published=meta.published,
            language=meta.language,
            page_words=max(page_words, len(text.split())),
            image=meta.image,
            kind="video",
            notes=[FROM_DESCRIPTION],
            caption_url=video.caption_url,
        )
    return None
