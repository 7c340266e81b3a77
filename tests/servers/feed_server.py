"""A local feed server for the digest tests and benchmark: RSS, Atom and JSON Feed with ETags.

    async with FeedServer() as srv:
        srv.set_feed("a", rss_feed("Outlet A", srv.url("/"), items), RSS)
        url = srv.url("/feeds/a")            # conditional GET: 304 when unchanged
        srv.bodies_sent["a"], srv.not_modified["a"]

Also ``/site/<name>`` (an HTML page announcing ``/feeds/<name>`` with
``<link rel="alternate">``), ``/articles/<slug>`` (a short article page per
item, for briefs) and ``/fail/<code>`` (a feed that keeps failing).
"""

from __future__ import annotations

import hashlib
import html
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from tests.servers.loopback import LoopbackServer

RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
JSON_FEED = "application/feed+json"
_LAST_MODIFIED = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FeedItem:
    slug: str
    title: str
    summary: str
    published: datetime
    link: str = ""  # absolute; defaults to the server's /articles/<slug>


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def rss_feed(title: str, site: str, items: list[FeedItem], base: str) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{_esc(title)}</title><link>{_esc(site)}</link><description>x</description>",
    ]
    for it in items:
        link = it.link or f"{base}/articles/{it.slug}"
        parts.append(
            f"<item><title>{_esc(it.title)}</title><link>{_esc(link)}</link>"
            f'<guid isPermaLink="false">{_esc(title)}-{it.slug}</guid>'
            f"<pubDate>{format_datetime(it.published, usegmt=True)}</pubDate>"
            f"<description>{_esc('<p>' + it.summary + '</p>')}</description></item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode()


def atom_feed(title: str, site: str, items: list[FeedItem], base: str) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f'<title>{_esc(title)}</title><link rel="alternate" href="{_esc(site)}"/>',
        f"<id>urn:feed:{_esc(title)}</id><updated>2026-11-24T06:00:00Z</updated>",
    ]
    for it in items:
        link = it.link or f"{base}/articles/{it.slug}"
        parts.append(
            f'<entry><title>{_esc(it.title)}</title><link rel="alternate" href="{_esc(link)}"/>'
            f"<id>urn:{_esc(title)}:{it.slug}</id>"
            f"<published>{it.published.isoformat()}</published>"
            f"<updated>{it.published.isoformat()}</updated>"
            f'<summary type="html">{_esc(it.summary)}</summary></entry>'
        )
    parts.append("</feed>")
    return "\n".join(parts).encode()


def json_feed(title: str, site: str, items: list[FeedItem], base: str) -> bytes:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": title,
            "home_page_url": site,
            "items": [
                {
                    "id": f"{title}-{it.slug}",
                    "url": it.link or f"{base}/articles/{it.slug}",
                    "title": it.title,
                    "summary": it.summary,
                    "date_published": it.published.isoformat(),
                }
                for it in items
            ],
        }
    ).encode()


class FeedServer(LoopbackServer):
    """An aiohttp server (port 0 = any free port) counting requests, bodies and 304s."""

    thread_name = "feed-server"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.feeds: dict[str, tuple[bytes, str]] = {}
        self.articles: dict[str, tuple[str, str]] = {}  # slug -> (title, text)
        self.hits: Counter[str] = Counter()
        self.bodies_sent: Counter[str] = Counter()  # feed name -> full bodies sent
        self.not_modified: Counter[str] = Counter()  # feed name -> 304s sent

    def set_feed(self, name: str, body: bytes, content_type: str) -> None:
        self.feeds[name] = (body, content_type)

    def set_article(self, slug: str, title: str, text: str) -> None:
        self.articles[slug] = (title, text)

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._count])
        app.add_routes(
            [
                web.get("/feeds/{name}", self._feed),
                web.get("/site/{name}", self._site),
                web.get("/articles/{slug}", self._article),
                web.get("/fail/{code:\\d+}", self._fail),
            ]
        )
        return app

    def runner_options(self) -> dict[str, Any]:
        return {"access_log": None, "shutdown_timeout": 1.0}

    def site_options(self) -> dict[str, Any]:
        return {"backlog": 1024}  # the benchmark opens hundreds of polls at once

    @web.middleware
    async def _count(self, request: web.Request, handler: web.Handler) -> web.StreamResponse:
        self.hits[request.path] += 1
        return await handler(request)

    async def _feed(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in self.feeds:
            return web.Response(status=404, text="no such feed")
        body, ctype = self.feeds[name]
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        validators = {"ETag": etag, "Last-Modified": format_datetime(_LAST_MODIFIED, usegmt=True)}
        inm = request.headers.get("If-None-Match")
        if inm is not None and etag in {t.strip() for t in inm.split(",")}:
            self.not_modified[name] += 1
            return web.Response(status=304, headers=validators)
        self.bodies_sent[name] += 1
        return web.Response(body=body, headers={**validators, "Content-Type": ctype})

    async def _site(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        page = (
            "<!doctype html><html><head><title>A site</title>"
            '<link rel="stylesheet" href="/style.css">'
            f'<link rel="alternate" type="application/rss+xml" title="Feed" href="/feeds/{name}">'
            "</head><body><p>Welcome.</p></body></html>"
        )
        return web.Response(text=page, content_type="text/html")

    async def _article(self, request: web.Request) -> web.Response:
        slug = request.match_info["slug"]
        title, text = self.articles.get(slug, (f"Story {slug}", ""))
        if not text:
            text = (
                f"This is the article called {title}. It reports on events in some detail, "
                "with enough sentences for the extractive summarizer to work with.\n\n"
                "Officials said the plan would go ahead next week, after a long consultation "
                "with residents, businesses and the regional transport authority.\n\n"
                "Critics disagreed. They argued that the costs had been underestimated and "
                "that the timetable left no room for the environmental review the law requires."
            )
        paragraphs = "".join(f"<p>{_esc(p)}</p>" for p in text.split("\n\n"))
        page = (
            f"<!doctype html><html><head><title>{_esc(title)}</title></head><body>"
            f"<article><h1>{_esc(title)}</h1>{paragraphs}</article></body></html>"
        )
        return web.Response(text=page, content_type="text/html")

    async def _fail(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="broken")
