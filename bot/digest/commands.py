"""``/linkbrief digest …`` for every front end, platform-neutral.

    add <url>             follow a feed (or a site: its feed is found from the page)
    remove <url>          stop following it
    list                  the feeds, each with its last poll status, and the settings
    time 08:30 [Zone]     delivery time and IANA timezone
    days weekdays|daily   weekdays only, or every day
    max <n>               at most n entries
    shares on|off         include the links shared in the channel
    language [de]         the channel's language (also ``/linkbrief language de``)
    preview               the digest as it would look now (only to the caller)
    stop                  unsubscribe the channel

Front ends call ``handle_digest_command`` and post ``reply.text`` (ephemeral
when ``reply.ephemeral``) or, for ``preview``, the rendered ``reply.digest``.
The CLI calls the same function, so both behave alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.digest.poller import resolve_feed
from bot.digest.render import RenderedDigest, render_digest
from bot.digest.scheduler import DigestScheduler, parse_hhmm
from bot.errors import LinkbriefError
from bot.i18n import _, active_language, ngettext
from bot.pipeline.urls import canonical_url
from bot.store.digests import DigestChannel, DigestStore, FeedState
from bot.timeutil import utc_now

if TYPE_CHECKING:
    from bot.app import App

USAGE = (
    "Usage: `/linkbrief digest add <url>` · `remove <url>` · `list` · "
    "`time 08:30 Europe/Berlin` · `days weekdays|daily` · `max 10` · `shares on|off` · "
    "`language de` · `preview` · `stop`"
)
_SLACK_LINK = re.compile(r"^<([^|>]+)(?:\|[^>]*)?>$")


@dataclass(frozen=True, slots=True)
class CommandReply:
    text: str
    ephemeral: bool = True
    digest: RenderedDigest | None = None
    ok: bool = True  # False for a usage error or a refusal (the CLI exits non-zero)


def _fail(text: str) -> CommandReply:
    return CommandReply(text, ephemeral=True, ok=False)


def _no_digest() -> CommandReply:
    return _fail(_("This channel has no digest. Start one: `/linkbrief digest add <url>`."))


def _url_arg(raw: str) -> str:
    """A URL as chat clients send it: Slack wraps it in <…|…>, Discord in <…>."""
    raw = raw.strip()
    match = _SLACK_LINK.match(raw)
    return match.group(1) if match else raw


async def _channel(app: App, platform: str, channel_id: str, now: datetime) -> DigestChannel:
    s = app.settings
    return await DigestStore(app.store).ensure_channel(
        platform,
        channel_id,
        delivery_time=s.digest_default_time,
        timezone=s.digest_default_tz,
        max_entries=s.digest_max_entries,
        now=now,
    )


async def handle_digest_command(
    app: App,
    platform: str,
    channel_id: str,
    args: str,
    *,
    user_id: str = "",
    clock: Callable[[], datetime] = utc_now,
) -> CommandReply:
    """Run one ``digest`` subcommand for a channel; user mistakes come back as replies."""
    words = args.split()
    if words and words[0].lower() == "digest":
        words = words[1:]
    if not words or words[0].lower() in ("help", "-h", "--help"):
        return _fail(USAGE)
    verb, rest = words[0].lower(), words[1:]
    now = clock()
    lang = await DigestStore(app.store).channel_language(platform, channel_id)
    with active_language(lang):  # replies in the channel's language
        handler = _HANDLERS.get(verb)
        if handler is None:
            return _fail(_("I don't know `digest %(verb)s`.") % {"verb": verb} + f" {USAGE}")
        try:
            return await handler(app, platform, channel_id, rest, now)
        except LinkbriefError as exc:
            return _fail(str(exc))


async def _add(
    app: App, platform: str, channel_id: str, rest: list[str], now: datetime
) -> CommandReply:
    if len(rest) != 1:
        return _fail("Usage: `/linkbrief digest add <feed or site URL>`")
    url = canonical_url(_url_arg(rest[0]))
    resolved = await resolve_feed(app.fetcher, url)
    digests = DigestStore(app.store)
    key = await digests.upsert_feed(
        resolved.feed_url,
        title=resolved.parsed.title,
        site_url=resolved.parsed.site_url,
        now=now,
    )
    # The fetch just made is the feed's first poll: keep its items and validators.
    await digests.add_items(key, resolved.parsed.items, now)
    await digests.record_poll(
        key,
        now=now,
        status="ok",
        next_poll_at=now + timedelta(seconds=app.settings.digest_poll_interval_s),
        etag=resolved.etag,
        last_modified=resolved.last_modified,
    )
    await _channel(app, platform, channel_id, now)
    added = await digests.follow(platform, channel_id, key, url, now)
    name = resolved.parsed.title or resolved.feed_url
    if not added:
        text = _("This channel already follows %(name)s (%(url)s).")
        return CommandReply(text % {"name": name, "url": resolved.feed_url})
    text = _(
        "Following %(name)s (%(url)s): %(items)s in it now. "
        "New ones go into this channel's daily digest."
    )
    items = _items(len(resolved.parsed.items))
    return CommandReply(
        text % {"name": name, "url": resolved.feed_url, "items": items}, ephemeral=False
    )


async def _remove(
    app: App, platform: str, channel_id: str, rest: list[str], now: datetime
) -> CommandReply:
    if len(rest) != 1:
        return _fail("Usage: `/linkbrief digest remove <url>`")
    raw = _url_arg(rest[0])
    digests = DigestStore(app.store)
    removed = await digests.unfollow(platform, channel_id, raw)
    if not removed:
        try:
            removed = await digests.unfollow(platform, channel_id, canonical_url(raw))
        except LinkbriefError:
            removed = False
    if not removed:
        text = _("This channel doesn't follow %(url)s. See `/linkbrief digest list`.")
        return _fail(text % {"url": raw})
    return CommandReply(_("Stopped following %(url)s.") % {"url": raw}, ephemeral=False)


def _feed_status(feed: FeedState, now: datetime) -> str:
    if feed.last_status == "error":
        nxt = feed.next_poll_at.strftime("%H:%M UTC")
        return f"error: {feed.last_error} ({feed.failures} in a row; next try {nxt})"
    if feed.last_polled_at is None:
        return "not polled yet"
    minutes = max(0, int((now - feed.last_polled_at).total_seconds() // 60))
    return f"{feed.last_status}, polled {minutes} min ago"


def _items(n: int) -> str:
    return ngettext("%(n)d item", "%(n)d items", n) % {"n": n}


def describe_channel(channel: DigestChannel, feeds: list[FeedState], now: datetime) -> str:
    days = "weekdays" if channel.weekdays_only else "every day"
    shares = "with" if channel.include_shares else "without"
    lines = [
        f"Digest at {channel.delivery_time} {channel.timezone}, {days}, up to "
        f"{channel.max_entries} entries, {shares} the links shared here."
    ]
    if not feeds:
        lines.append("No feeds yet: `/linkbrief digest add <url>`.")
    for feed in feeds:
        lines.append(
            f"• {feed.title or feed.feed_url} — {feed.feed_url} — {_feed_status(feed, now)}"
        )
    return "\n".join(lines)


async def _list(
    app: App, platform: str, channel_id: str, rest: list[str], now: datetime
) -> CommandReply:
    digests = DigestStore(app.store)
    channel = await digests.get_channel(platform, channel_id)
    if channel is None:
        return _no_digest()
    feeds = await digests.followed_feeds(platform, channel_id)
    return CommandReply(describe_channel(channel, feeds, now))


async def _time(
    app: App, platform: str, channel_id: str, rest: list[str], now: datetime
) -> CommandReply:
    if not 1 <= len(rest) <= 2:
        return _fail("Usage: `/linkbrief digest time 08:30 Europe/Berlin`")
    try:
        at = parse_hhmm(rest[0])
    except ValueError:
        return _fail(
            _("%(value)s is not a time like 08:30 (24-hour clock).") % {"value": repr(rest[0])}
        )
    channel = await _channel(app, platform, channel_id, now)
    zone = rest[1] if len(rest) == 2 else channel.timezone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        text = _("%(value)s is not an IANA timezone (e.g. Europe/Berlin, UTC).")
        return _fail(text % {"value": repr(zone)})
    hhmm = at.strftime("%H:%M")
    await DigestStore(app.store).update_channel(
        platform, channel_id, now, delivery_time=hhmm, timezone=zone
    )
    text = _("The digest now comes at %(time)s %(zone)s.") % {"time": hhmm, "zone": zone}
    return CommandReply(text, ephemeral=False)


async def _days(
    app: App, platform: str, channel_id: str, rest: list[str], now: datetime
) -> CommandReply:
    choice = rest[0].lower() if len(rest) == 1 else ""
    if choice not in ("weekdays", "daily", "everyday"):
        return _fail("Usage: `/linkbrief digest days weekdays` or `days daily`")
    await _channel(app, platform, channel_id, now)
    weekdays = choice == "weekdays"
    await DigestStore(app.store).update_channel(platform, channel_id, now, weekdays_only=weekdays)
    return CommandReply(
        _("The digest now comes on weekdays only.")
        if weekdays
        else _("The digest now comes every day."),
        ephemeral=False,
    )


async def _max(
    app: App, platform: str, channel_id: str, rest: list[str], now: datetime
) -> CommandReply:
    if len(rest) != 1 or not rest[0].isdigit() or not 1 <= int(rest[0]) <= 50:
        return _fail("Usage: `/linkbrief digest max 10` (1 to 50)")
    await _channel(app, platform, channel_id, now)
    await DigestStore(app.store).update_channel(platform, channel_id, now, max_entries=int(rest[0]))
    text = _("The digest now lists at most %(n)d entries.") % {"n": int(rest[0])}
    return CommandReply(text, ephemeral=False)


async def _shares(
    app: App, platform: str, channel_id: str, rest: list[str], now: datetime
) -> CommandReply:
    choice = rest[0].lower() if len(rest) == 1 else ""
    if choice not in ("on", "off"):
        return _fail("Usage: `/linkbrief digest shares on` or `shares off`")
    await _channel(app, platform, channel_id, now)
    await DigestStore(app.store).update_channel(
        platform, channel_id, now, include_shares=choice == "on"
    )
    text = (
        _("The digest now includes the links shared here.")
        if choice == "on"
        else _("The digest now leaves out the links shared here.")
    )
    return CommandReply(text, ephemeral=False)


async def _preview(
    app: App, platform: str, channel_id: str, rest: list[str], now: datetime
) -> CommandReply:
    digests = DigestStore(app.store)
    channel = await digests.get_channel(platform, channel_id)
    if channel is None:
        return _no_digest()
    scheduler = DigestScheduler(app, {}, clock=lambda: now, poll_feeds=False)
    day = now.astimezone(ZoneInfo(channel.timezone)).date()
    digest = await scheduler.build(channel, day, now)
    rendered = render_digest(digest)
    return CommandReply(rendered.markdown, ephemeral=True, digest=rendered)


async def _stop(
    app: App, platform: str, channel_id: str, rest: list[str], now: datetime
) -> CommandReply:
    await DigestStore(app.store).drop_channel(platform, channel_id)
    return CommandReply(_("This channel no longer gets a digest."), ephemeral=False)


async def _language(
    app: App, platform: str, channel_id: str, rest: list[str], now: datetime
) -> CommandReply:
    from bot.digest.language import handle_language_command  # it builds on CommandReply

    return await handle_language_command(app, platform, channel_id, rest, now)


_HANDLERS = {
    "add": _add,
    "remove": _remove,
    "rm": _remove,
    "list": _list,
    "ls": _list,
    "time": _time,
    "days": _days,
    "max": _max,
    "shares": _shares,
    "language": _language,
    "preview": _preview,
    "stop": _stop,
}
