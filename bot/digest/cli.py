"""``linkbrief digest …``: the digest commands for scripts and operations.

    linkbrief digest add --channel slack:C123 https://example.org/feed.xml
    linkbrief digest list [--channel slack:C123]
    linkbrief digest time --channel discord:42 08:30 Europe/Berlin
    linkbrief digest language --channel slack:C123 de
    linkbrief digest preview --channel slack:C123 [--format markdown|slack|discord]
    linkbrief digest run-now [--channel slack:C123]

Every verb but ``run-now`` goes through ``handle_digest_command``, exactly as
the chat command does. ``run-now`` delivers today's digest now, through the
same exactly-once ledger as the scheduler (so it never doubles a digest
already posted today); with no chat poster configured for the platform it
prints the digest instead of posting it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.digest.commands import describe_channel, handle_digest_command
from bot.digest.models import Digest
from bot.digest.render import render_digest
from bot.digest.scheduler import DigestPoster, DigestScheduler, RunOutcome
from bot.errors import InputError, UsageError
from bot.store.digests import DigestChannel, DigestStore
from bot.timeutil import utc_now

if TYPE_CHECKING:
    from bot.app import App

PLATFORMS = ("slack", "discord")
# verb -> (help, [(argument, argparse options)])
_VERBS: dict[str, tuple[str, list[tuple[str, dict[str, Any]]]]] = {
    "add": ("follow a feed, or a site whose page links its feed", [("url", {})]),
    "remove": ("stop following a feed", [("url", {})]),
    "list": ("feeds with their last poll status (every channel without --channel)", []),
    "time": (
        "delivery time and IANA timezone",
        [("time", {"help": "HH:MM"}), ("zone", {"nargs": "?", "help": "e.g. Europe/Berlin"})],
    ),
    "days": ("weekdays only, or every day", [("days", {"choices": ("weekdays", "daily")})]),
    "max": ("most entries in one digest", [("n", {})]),
    "shares": ("include the links shared in the channel", [("onoff", {"choices": ("on", "off")})]),
    "language": (
        "the channel's language for the bot's words and the digest (en, de, fr, es, ru; "
        "'default' for English)",
        [("language", {"nargs": "?"})],
    ),
    "preview": ("the digest as it would look now (nothing is sent or recorded)", []),
    "stop": ("unsubscribe the channel", []),
    "run-now": ("deliver today's digest now (once a day at most, as scheduled ones)", []),
}


def add_digest_parser(sub: Any) -> None:
    """Register ``digest`` and its verbs on the main parser's subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--channel", help="PLATFORM:CHANNEL_ID, e.g. slack:C123 or discord:42")
    common.add_argument(
        "--format",
        choices=("markdown", "slack", "discord"),
        default="markdown",
        help="how preview/run-now print the digest",
    )
    digest = sub.add_parser("digest", help="subscribe / list / unsubscribe / preview / run-now")
    verbs = digest.add_subparsers(dest="verb", required=True)
    for verb, (text, arguments) in _VERBS.items():
        parser = verbs.add_parser(verb, help=text, parents=[common])
        for name, options in arguments:
            parser.add_argument(name, **options)


def _verb_args(args: argparse.Namespace) -> list[str]:
    names = [name for name, _ in _VERBS[args.verb][1]]
    return [str(getattr(args, n)) for n in names if getattr(args, n, None) is not None]


def parse_channel(value: str | None) -> tuple[str, str]:
    platform, _, channel_id = (value or "").partition(":")
    if platform not in PLATFORMS or not channel_id:
        raise UsageError("Give the channel as --channel slack:C123 or --channel discord:1234.")
    return platform, channel_id


class PrintingPoster:
    """For ``run-now`` without a chat connection: the digest goes to stdout."""

    def __init__(self, platform: str, fmt: str) -> None:
        self.platform = platform
        self.fmt = fmt

    async def post_digest(self, channel_id: str, digest: Digest) -> str:
        print(_format(digest, self.fmt))
        return f"stdout:{self.platform}:{channel_id}:{digest.day}"


def _format(digest: Digest, fmt: str) -> str:
    rendered = render_digest(digest)
    if fmt == "slack":
        return json.dumps(rendered.slack, ensure_ascii=False, indent=2)
    if fmt == "discord":
        return json.dumps(rendered.discord, ensure_ascii=False, indent=2)
    return rendered.markdown.rstrip("\n")


async def run_digest_cli(
    app: App, args: argparse.Namespace, posters: Mapping[str, DigestPoster] | None = None
) -> int:
    """Run ``linkbrief digest <verb>``; returns the exit status."""
    now = utc_now()
    if args.verb == "run-now":
        return await _run_now(app, args, posters or {}, now)
    if args.verb == "list" and not args.channel:
        return await _list_all(app, now)
    platform, channel_id = parse_channel(args.channel)
    if args.verb == "preview" and args.format != "markdown":
        reply = await handle_digest_command(app, platform, channel_id, "preview")
        if reply.digest is None:
            print(reply.text, file=sys.stderr)
            return 1
        out = reply.digest.slack if args.format == "slack" else reply.digest.discord
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    command = " ".join([args.verb, *_verb_args(args)])
    reply = await handle_digest_command(app, platform, channel_id, command)
    print(reply.text.rstrip("\n"))
    return 0 if reply.ok else 1


async def _list_all(app: App, now: datetime) -> int:
    digests = DigestStore(app.store)
    channels = await digests.channels()
    if not channels:
        print("No channel has a digest yet.")
    for channel in channels:
        feeds = await digests.followed_feeds(channel.platform, channel.channel_id)
        print(f"{channel.platform}:{channel.channel_id}")
        print(describe_channel(channel, feeds, now))
    return 0


async def _run_now(
    app: App, args: argparse.Namespace, posters: Mapping[str, DigestPoster], now: datetime
) -> int:
    digests = DigestStore(app.store)
    if args.channel:
        platform, channel_id = parse_channel(args.channel)
        channel = await digests.get_channel(platform, channel_id)
        if channel is None:
            raise InputError(f"{args.channel} has no digest; add a feed first.")
        channels = [channel]
    else:
        channels = await digests.channels()
    chosen = {p: posters.get(p) or PrintingPoster(p, args.format) for p in PLATFORMS}
    scheduler = DigestScheduler(app, chosen, clock=lambda: now, poll_feeds=False)
    failed = 0
    for channel in channels:
        feeds = await digests.followed_feeds(channel.platform, channel.channel_id)
        await scheduler.poller.poll_feeds(feeds, now)
        outcome = await scheduler.run_channel(channel, now, force=True)
        where = f"{outcome.platform}:{outcome.channel_id} {outcome.day}"
        said = await _in_words(digests, channel, outcome, printed=outcome.platform not in posters)
        print(f"{where}: {said}", file=sys.stderr)
        failed += outcome.status in ("failed", "lost", "no_poster")
    return 1 if failed else 0


async def _in_words(
    digests: DigestStore, channel: DigestChannel, outcome: RunOutcome, *, printed: bool
) -> str:
    """What ``run-now`` did, for a person: ``printed here (no Slack connection …)``."""
    name = f"{outcome.platform}:{outcome.channel_id}"
    platform = outcome.platform.capitalize()
    status, detail = outcome.status, f" ({outcome.detail})" if outcome.detail else ""
    if status == "posted" and printed:
        return f"printed here (no {platform} connection for {name})"
    if status == "posted":
        return f"posted to {name}" + detail
    if status == "empty":
        return "nothing new since the last digest — nothing sent"
    if status == "held":
        return await _why_held(digests, channel, outcome.day)
    if status == "no_poster":
        return f"not sent: no {platform} connection for {name}"
    if status == "lost":
        return f"not sent: another linkbrief process took the digest over{detail}"
    if status == "failed":
        return f"not sent: it failed{detail}; the scheduler tries again later"
    return status + detail


async def _why_held(digests: DigestStore, channel: DigestChannel, day: str) -> str:
    """A digest already on record for ``day``: when it went out, or who is on it."""
    run = next((r for r in await digests.runs(channel.platform, channel.channel_id)
                if r.day == day), None)  # fmt: skip
    if run is None or run.state not in ("posted", "skipped"):
        return "another linkbrief process is delivering it right now — nothing sent"
    if run.state == "skipped":
        return "today's digest was recorded as skipped — nothing sent"
    at = run.posted_at or run.due_at
    when = at.astimezone(ZoneInfo(channel.timezone)).strftime("%H:%M") if at else "earlier"
    verb = "printed" if (run.message_id or "").startswith("stdout:") else "posted"
    return f"already {verb} today at {when} — nothing sent"
