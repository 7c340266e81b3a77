"""Discussion pages: a Hacker News item or a Reddit thread, read as what they are.

A thread links an article and carries comments. ``read_discussion`` recognises the page
by its markup (so a mirror or a recorded copy reads the same as the live site) and returns
an ``Article`` of kind "discussion": its text is the post and the comments (what the
summarizer sees when the linked article cannot be read), its ``linked_url`` is the
article to fetch through the same guard (``bot.pipeline.follow``), its ``comments`` are
the comments by author.

``thread_points`` then picks "What the thread says": three replies to the post by three
different commenters, in the order the site ranks them, each with a verbatim sentence of
the comment, and verifies each quote against that commenter's own comments, as a claim's
quote is verified against the article.

Supported markup: Hacker News items (``table.fatitem`` and ``tr.comtr``), Reddit's
current thread page (``shreddit-post`` / ``shreddit-comment``) and old.reddit threads
(``div.thing`` with ``data-author``).
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml.html import HtmlElement

from bot.pipeline.models import Comment, ThreadPoint
from bot.pipeline.normalize import normalize_for_match
from bot.pipeline.sentences import split_sentences

POINTS = 3
MIN_QUOTE_WORDS = 6
MAX_QUOTE_WORDS = 45
MAX_COMMENTS = 300

_HN_ITEM = etree.XPath("//table[contains(concat(' ', @class, ' '), ' fatitem ')]")
_HN_TITLE = etree.XPath(".//span[@class='titleline']/a[1]")
_HN_TOPTEXT = etree.XPath(".//div[contains(@class, 'toptext')]")
_HN_POSTER = etree.XPath(".//a[contains(@class, 'hnuser')]/text()")
_HN_COMMENTS = etree.XPath("//tr[contains(concat(' ', @class, ' '), ' comtr ')]")
_HN_INDENT = etree.XPath(".//td[@class='ind']/@indent")
_HN_COMMENT_TEXT = etree.XPath(".//*[contains(concat(' ', @class, ' '), ' commtext ')]")
_HN_REPLY = etree.XPath(".//*[contains(@class, 'reply')]")

_REDDIT_POST = etree.XPath("//shreddit-post")
_REDDIT_POST_BODY = etree.XPath(".//*[@slot='text-body']")
_REDDIT_COMMENTS = etree.XPath("//shreddit-comment")
_REDDIT_COMMENT_BODY = etree.XPath("./*[@slot='comment']")
_OLD_REDDIT_LINK = etree.XPath(
    "//div[contains(concat(' ', @class, ' '), ' thing ') and contains(concat(' ', @class, ' '),"
    " ' link ')]"
)
_OLD_REDDIT_COMMENTS = etree.XPath(
    "//div[contains(concat(' ', @class, ' '), ' thing ') and contains(concat(' ', @class, ' '),"
    " ' comment ') and @data-author]"
)
_OLD_REDDIT_TEXT = etree.XPath("./div[contains(@class, 'entry')]//div[contains(@class, 'md')]")
_OLD_REDDIT_TITLE = etree.XPath(".//a[contains(concat(' ', @class, ' '), ' title ')]")
_DELETED = frozenset({"[deleted]", "[removed]", ""})
_SPACES = re.compile(r"[^\S\n]+")


class Thread:
    """A discussion page as read: where it is, what it links, who said what."""

    def __init__(self, site: str, title: str, linked_url: str, post: str, poster: str) -> None:
        self.site = site
        self.title = title
        self.linked_url = linked_url
        self.post = post
        self.poster = poster
        self.comments: list[Comment] = []

    def text(self) -> str:
        """The thread as text: the post, then each comment under its author's name."""
        parts = [self.post] if self.post else []
        parts += [f"{c.author}: {c.text}" for c in self.comments]
        return "\n\n".join(parts)


def read_thread(tree: HtmlElement, url: str) -> Thread | None:
    """The thread on a Hacker News or Reddit page, or None for any other page."""
    item = _HN_ITEM(tree)
    if item:
        return _hacker_news(tree, item[0], url)
    post = _REDDIT_POST(tree)
    if post:
        return _reddit(tree, post[0], url)
    links = _OLD_REDDIT_LINK(tree)
    if links and _OLD_REDDIT_COMMENTS(tree):
        return _old_reddit(tree, links[0], url)
    return None


def thread_points(comments: list[Comment], count: int = POINTS) -> list[ThreadPoint]:
    """Up to ``count`` replies to the post by different commenters, each quote verified."""
    points: list[ThreadPoint] = []
    seen: set[str] = set()
    for comment in comments:
        if comment.depth != 0 or comment.author in seen or comment.author in _DELETED:
            continue
        quote = _quote(comment.text)
        if not quote:
            continue
        seen.add(comment.author)
        points.append(verify_point(ThreadPoint(commenter=comment.author, quote=quote), comments))
        if len(points) == count:
            break
    return points


def verify_point(point: ThreadPoint, comments: list[Comment]) -> ThreadPoint:
    """Verified when the quote stands, verbatim, in a comment by the named commenter."""
    needle = normalize_for_match(point.quote)
    if not needle:
        return point.model_copy(update={"verified": False, "reason": "empty quote"})
    said_by = [c for c in comments if needle in normalize_for_match(c.text)]
    if any(c.author == point.commenter for c in said_by):
        return point.model_copy(update={"verified": True, "reason": ""})
    if said_by:
        reason = f"said by {said_by[0].author}, not {point.commenter}"
    else:
        reason = "quote not in the thread"
    return point.model_copy(update={"verified": False, "reason": reason})


def _quote(text: str) -> str:
    """The comment's first sentence of a readable length (verbatim), else its opening.

    Paragraphs that quote someone else (``> ...``, as HN and Reddit mark them) are not
    the commenter's own words and are skipped.
    """
    own = [p for p in text.split("\n\n") if p.strip() and not p.lstrip().startswith(">")]
    sentences = [s.text.strip() for p in own for s in split_sentences(p) if s.text.strip()]
    for sentence in sentences:
        if MIN_QUOTE_WORDS <= len(sentence.split()) <= MAX_QUOTE_WORDS:
            return sentence
    for sentence in sentences:
        if len(sentence.split()) >= MIN_QUOTE_WORDS:
            return " ".join(sentence.split()[:MAX_QUOTE_WORDS])
    return ""


def _text(element: HtmlElement | None) -> str:
    """An element's text with its paragraphs kept apart."""
    if element is None:
        return ""
    parts: list[str] = []
    for block in element.iter():
        if block.tag in ("p", "li", "pre", "blockquote") and block is not element:
            block.tail = "\n\n" + (block.tail or "")
            block.text = "\n\n" + (block.text or "")
    parts.append(element.text_content())
    lines = [_SPACES.sub(" ", line).strip() for line in "".join(parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _hacker_news(tree: HtmlElement, item: HtmlElement, url: str) -> Thread:
    anchors = _HN_TITLE(item)
    title = anchors[0].text_content().strip() if anchors else ""
    href = anchors[0].get("href", "") if anchors else ""
    linked = urljoin(url, href) if href else ""
    if urlsplit(linked).path.startswith("/item") or linked == url:
        linked = ""  # "Ask HN" and "Show HN" without a link point at the item itself
    toptext = _HN_TOPTEXT(item)
    posters = _HN_POSTER(item)
    thread = Thread(
        "Hacker News",
        title,
        linked,
        _text(toptext[0]) if toptext else "",
        str(posters[0]) if posters else "",
    )
    for row in _HN_COMMENTS(tree)[:MAX_COMMENTS]:
        authors = _HN_POSTER(row)
        bodies = _HN_COMMENT_TEXT(row)
        if not authors or not bodies:
            continue
        for reply in _HN_REPLY(bodies[0]):
            reply.drop_tree()
        indent = _HN_INDENT(row)
        depth = int(indent[0]) if indent and str(indent[0]).isdigit() else 0
        text = _text(bodies[0])
        if text:
            thread.comments.append(Comment(author=str(authors[0]).strip(), text=text, depth=depth))
    return thread


def _reddit(tree: HtmlElement, post: HtmlElement, url: str) -> Thread:
    href = post.get("content-href", "")
    linked = urljoin(url, href) if href else ""
    if "/comments/" in urlsplit(linked).path or urlsplit(linked).hostname in {None, "i.redd.it"}:
        linked = ""  # a self post, or a picture: nothing to read beyond the thread
    body = _REDDIT_POST_BODY(post)
    thread = Thread(
        "Reddit",
        post.get("post-title", ""),
        linked,
        _text(body[0]) if body else "",
        post.get("author", ""),
    )
    for comment in _REDDIT_COMMENTS(tree)[:MAX_COMMENTS]:
        bodies = _REDDIT_COMMENT_BODY(comment)
        text = _text(bodies[0]) if bodies else ""
        depth = comment.get("depth", "0")
        if text:
            thread.comments.append(
                Comment(
                    author=comment.get("author", "").strip(),
                    text=text,
                    depth=int(depth) if depth.isdigit() else 0,
                )
            )
    return thread


def _old_reddit(tree: HtmlElement, link: HtmlElement, url: str) -> Thread:
    linked = urljoin(url, link.get("data-url", ""))
    if "/comments/" in urlsplit(linked).path:
        linked = ""
    titles = _OLD_REDDIT_TITLE(link)
    body = _OLD_REDDIT_TEXT(link)
    thread = Thread(
        "Reddit",
        titles[0].text_content().strip() if titles else "",
        linked,
        _text(body[0]) if body else "",
        link.get("data-author", ""),
    )
    for comment in _OLD_REDDIT_COMMENTS(tree)[:MAX_COMMENTS]:
        bodies = _OLD_REDDIT_TEXT(comment)
        text = _text(bodies[0]) if bodies else ""
        # a reply sits inside its parent comment's "thing comment" div
        nested = any(
            "comment" in (a.get("class") or "").split() for a in comment.iterancestors("div")
        )
        if text:
            author = comment.get("data-author", "")
            thread.comments.append(Comment(author=author, text=text, depth=1 if nested else 0))
    return thread
