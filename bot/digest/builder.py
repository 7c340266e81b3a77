"""Building a digest: gather what is new, merge one story told by several sources, rank, summarize.

Stories are merged when two candidates share a canonical URL or quote the
same words (a quoted span of five words or more in both descriptions or
briefs), and otherwise by what they report (``bot.digest.stories``: names,
figures and event words, weighted by how rare they are in the batch).
Entries are ranked by number of sources, channel shares and recency. Each
entry gets one line: a cached brief's first sentence when there is one, a
fresh brief while the per-digest cap on summaries lasts, and beyond it an
extractive line from the feed's own description.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.digest.disagree import OutletText, disagreements
from bot.digest.models import Digest, DigestEntry, Disagreement, LineMode, SourceRef
from bot.digest.stories import StoryText, group_stories
from bot.errors import LinkbriefError
from bot.i18n import CONTENT_LANGUAGES, DEFAULT_LANGUAGE, long_date, translator
from bot.pipeline.models import Brief
from bot.pipeline.sentences import split_sentences
from bot.store.digests import DigestChannel, DigestStore, SharedLink, StoredItem

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

MIN_QUOTE_WORDS = 5
PUBLISHED_LOOKBACK = timedelta(days=2)  # older items of a newly added feed stay out
FIRST_DIGEST_WINDOW = timedelta(days=1)
MAX_FIRST_WINDOW = timedelta(days=7)
LINE_LIMIT = 240
MAX_CANDIDATES = 2000
MAX_VOICES = 8  # items of one story read for disagreements
SHARED_SOURCE = "shared in this channel"  # marks a candidate that is a channel share
_QUOTE_RE = re.compile(r"[“\"«„]([^“”\"«»„]{12,400})[”\"»“]")
_NON_WORD = re.compile(r"[^\w\s]")


@dataclass(slots=True)
class Candidate:
    """An item or a shared link, before merging."""

    url: str
    canonical_url: str
    title: str
    summary: str
    source: str
    published: datetime | None
    seen_at: datetime
    shares: int = 0
    quotes: set[str] = field(default_factory=set)

    @property
    def when(self) -> datetime:
        return self.published or self.seen_at


# --- merging --------------------------------------------------------------------


def _norm_title(title: str) -> str:
    return " ".join(_NON_WORD.sub(" ", title.lower()).split())


def quoted_spans(text: str) -> set[str]:
    """Quoted passages of at least five words, normalised, for matching across sources."""
    spans = set()
    for match in _QUOTE_RE.finditer(text):
        norm = _norm_title(match.group(1))
        if len(norm.split()) >= MIN_QUOTE_WORDS:
            spans.add(norm)
    return spans


def cluster_stories(candidates: list[Candidate]) -> list[list[Candidate]]:
    """Group candidates that tell the same story; each group keeps input order.

    Same canonical URL or same quotation: one story whatever the wording; the
    rest is grouped by content (``bot.digest.stories``).
    """
    links: list[tuple[int, int]] = []
    by_url: dict[str, int] = {}
    by_quote: dict[str, int] = {}
    for i, cand in enumerate(candidates):
        links.append((by_url.setdefault(cand.canonical_url, i), i))
        links.extend((by_quote.setdefault(quote, i), i) for quote in cand.quotes)
    texts = [StoryText(title=c.title, text=c.summary) for c in candidates]
    return [[candidates[i] for i in group] for group in group_stories(texts, links)]


# --- ranking --------------------------------------------------------------------


def story_score(group: list[Candidate], now: datetime) -> float:
    """Outlets count most, then the channel's own shares, then freshness (a day's half-life-ish)."""
    outlets = len({c.source for c in group if c.source != SHARED_SOURCE})
    shares = sum(c.shares for c in group)
    newest = max(c.when for c in group)
    age_h = max(0.0, (now - newest).total_seconds() / 3600)
    return 2.0 * outlets + 1.5 * shares + math.exp(-age_h / 24)


def _entry(group: list[Candidate], score: float) -> DigestEntry:
    # The earliest report of the story leads; a bare shared link only when nothing else has it.
    reports = sorted(
        (c for c in group if c.source != SHARED_SOURCE), key=lambda c: (c.when, c.source)
    )
    shared = [c for c in group if c.source == SHARED_SOURCE]
    primary = (reports or shared)[0]
    sources: list[SourceRef] = []
    seen: set[str] = set()
    for cand in reports:  # outlets only: the channel's shares are a count, not a source
        if cand.source not in seen:
            seen.add(cand.source)
            sources.append(SourceRef(name=cand.source, url=cand.url))
    return DigestEntry(
        title=primary.title or primary.canonical_url,
        url=primary.url,
        line=extractive_line(next((c.summary for c in [*reports, *shared] if c.summary), "")),
        sources=sources,
        shares=sum(c.shares for c in group),
        published=min((c.published for c in group if c.published), default=None),
        score=round(score, 4),
    )


def _sort_title(group: list[Candidate]) -> str:
    return min((c.title or c.canonical_url) for c in group)


def rank_stories(
    groups: list[list[Candidate]], now: datetime, limit: int
) -> list[tuple[DigestEntry, list[Candidate]]]:
    """The ``limit`` best stories as entries, each with its group (only those are built)."""
    scored = sorted(
        ((round(story_score(g, now), 4), g) for g in groups),
        key=lambda pair: (-pair[0], _sort_title(pair[1])),
    )
    return [(_entry(group, score), group) for score, group in scored[:limit]]


def rank_entries(groups: list[list[Candidate]], now: datetime, limit: int) -> list[DigestEntry]:
    """The ``limit`` best stories as entries."""
    return [entry for entry, _ in rank_stories(groups, now, limit)]


def extractive_line(text: str, limit: int = LINE_LIMIT) -> str:
    """The first sentence of a description, cut to one line."""
    text = " ".join(text.split())
    if not text:
        return ""
    sentences = split_sentences(text)
    line = sentences[0].text if sentences else text
    return line if len(line) <= limit else line[: limit - 1].rsplit(" ", 1)[0] + "…"


def _brief_line(brief: Brief) -> str:
    return extractive_line(brief.summary) or extractive_line(brief.title)


# --- the whole build ------------------------------------------------------------------


def digest_title(day: date, lang: str | None = None) -> str:
    """``Daily digest — Wednesday 25 November 2026``, in the channel's language."""
    date_text = long_date(day, lang)
    return translator(lang).gettext("Daily digest — %(date)s") % {"date": date_text}


def digest_window(channel: DigestChannel, last_until: datetime | None, until: datetime) -> datetime:
    """Where this digest starts: the end of the previous one.

    The first digest covers the day before ``until`` and everything since the
    channel subscribed (a feed's first poll happens at subscription), a week at most.
    """
    if last_until is not None:
        return last_until
    earliest = min(until - FIRST_DIGEST_WINDOW, channel.created_at - timedelta(minutes=1))
    return max(earliest, until - MAX_FIRST_WINDOW)


def _candidates(items: list[StoredItem], shares: list[SharedLink]) -> list[Candidate]:
    cands = [
        Candidate(
            url=it.url,
            canonical_url=it.canonical_url,
            title=it.title,
            summary=it.summary,
            source=it.feed_title or _host(it.feed_url),
            published=it.published,
            seen_at=it.first_seen_at,
            quotes=quoted_spans(it.summary),
        )
        for it in items
    ]
    for share in shares:
        cands.append(
            Candidate(
                url=share.url,
                canonical_url=share.canonical_url,
                title="",
                summary="",
                source=SHARED_SOURCE,
                published=None,
                seen_at=share.shared_at,
                shares=share.times,
            )
        )
    return cands[:MAX_CANDIDATES]


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or url).removeprefix("www.")


async def build_digest(
    app: App,
    channel: DigestChannel,
    *,
    day: str,
    title: str | None = None,
    since: datetime,
    until: datetime,
    llm_calls: int | None = None,
) -> Digest:
    """The digest for ``channel`` covering (since, until]; spends at most ``llm_calls`` briefs."""
    digests = DigestStore(app.store)
    language = await digests.channel_language(channel.platform, channel.channel_id)
    items = await digests.items_for_channel(
        channel.platform,
        channel.channel_id,
        since=since,
        until=until,
        published_after=since - PUBLISHED_LOOKBACK,
    )
    shares = (
        await digests.shares_for_channel(
            channel.platform, channel.channel_id, since=since, until=until
        )
        if channel.include_shares
        else []
    )
    candidates = _candidates(items, shares)
    # Shared links have no title or description of their own: a cached brief supplies both.
    for cand in candidates:
        if cand.source == SHARED_SOURCE:
            brief = await app.service.cached_brief(cand.canonical_url)
            if brief is not None:
                cand.title, cand.summary = brief.title, brief.summary
                cand.quotes = {_norm_title(c.quote) for c in brief.verified_claims if c.quote}
    groups = await asyncio.to_thread(cluster_stories, candidates)
    ranked = rank_stories(groups, until, channel.max_entries)
    for entry, group in ranked:
        entry.disagreements = await _disagreements(app, group)
    entries = [entry for entry, _ in ranked]
    cap = app.settings.digest_llm_calls if llm_calls is None else llm_calls
    content = CONTENT_LANGUAGES.get(language or "", "")
    spent = await _fill_lines(app, entries, cap, content)
    return Digest(
        platform=channel.platform,
        channel_id=channel.channel_id,
        day=day,
        title=title or digest_title(date.fromisoformat(day), language),
        language=language or DEFAULT_LANGUAGE,
        since=since,
        until=until,
        entries=entries,
        candidates=len(candidates),
        summaries_made=spent,
    )


async def _disagreements(app: App, group: list[Candidate]) -> list[Disagreement]:
    """What the outlets of one story disagree on, from their items and cached briefs."""
    feed_urls = {c.canonical_url for c in group if c.source != SHARED_SOURCE}
    if len(group) < 2:
        return []
    texts: list[OutletText] = []
    # Earliest report first, as the entry lists its outlets.
    for cand in sorted(group, key=lambda c: (c.source == SHARED_SOURCE, c.when, c.source)):
        if cand.source == SHARED_SOURCE and cand.canonical_url in feed_urls:
            continue  # the same article as a feed item: not another voice
        if len(texts) >= MAX_VOICES:
            break  # a cached-brief read per voice: a big story costs a bounded number
        brief = await app.service.cached_brief(cand.canonical_url)
        outlet = cand.source
        if cand.source == SHARED_SOURCE:
            outlet = (brief.site if brief is not None and brief.site else "") or _host(cand.url)
        text = f"{cand.title}\n{cand.summary}"
        quotes: list[tuple[str, str]] = []
        if brief is not None:
            text += "\n" + brief.summary
            quotes = [(c.quote, c.speaker) for c in brief.verified_claims if c.quote]
        texts.append(OutletText(outlet=outlet, text=text, quotes=quotes))
    if len({t.outlet for t in texts}) < 2:
        return []
    return disagreements(texts)


async def _fill_lines(app: App, entries: list[DigestEntry], cap: int, language: str = "") -> int:
    """Give each entry its line; returns how many fresh briefs (capped calls) were made.

    ``language``: the channel's (for the model); a brief already cached in it is
    used first, then one in the article's language, then a fresh one in it.
    """
    to_brief: list[DigestEntry] = []
    for entry in entries:
        cached = None
        if language:
            cached = await app.service.cached_brief(_cache_key(app, entry.url, language))
        if cached is None:
            cached = await app.service.cached_brief(_canonical(entry.url))
        if cached is not None:
            _apply(entry, cached, "cached")
        elif len(to_brief) < cap:
            to_brief.append(entry)
    results = await asyncio.gather(
        *(app.service.brief_url(e.url, language=language) for e in to_brief),
        return_exceptions=True,
    )
    for entry, result in zip(to_brief, results, strict=True):
        if isinstance(result, Brief):
            _apply(entry, result, "summarized")
        elif isinstance(result, LinkbriefError):
            log.info("digest: no brief for %s (%s); extractive line", entry.url, result.kind)
        elif isinstance(result, BaseException):
            log.warning("digest: brief of %s failed", entry.url, exc_info=result)
    return len(to_brief)


def _apply(entry: DigestEntry, brief: Brief, mode: LineMode) -> None:
    line = _brief_line(brief)
    if line:
        entry.line, entry.line_mode = line, mode
    if not entry.title or entry.title == entry.url:
        entry.title = brief.title or entry.title


def _cache_key(app: App, url: str, language: str) -> str:
    try:
        return app.service.cache_key(url, language)
    except LinkbriefError:
        return url


def _canonical(url: str) -> str:
    from bot.pipeline.urls import canonical_url

    try:
        return canonical_url(url)
    except LinkbriefError:
        return url
