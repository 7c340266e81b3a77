"""The ``linkbrief`` command line (also ``python -m bot``).

    linkbrief run                         every configured front end (console without tokens)
    linkbrief summarize TARGET [--json]   one brief of a URL or a local file
    linkbrief extract TARGET... [--format text|markdown|json] [--out DIR]
    linkbrief discord sync                register the Discord slash commands (once)

Errors a user can cause print one line on stderr and exit non-zero; a
traceback means a bug.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bot.config import Settings, load_settings
from bot.errors import (
    ConfigError,
    InputError,
    InvalidURL,
    LinkbriefError,
    UnsupportedFile,
    UsageError,
)

log = logging.getLogger("bot.cli")

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_CLOSED_STDOUT = 141  # what a shell reports for a writer killed by SIGPIPE
LOCAL_SUFFIXES = {".html", ".htm", ".pdf", ".txt"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linkbrief", description="Brief links: summary, attributed claims, verified quotes."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start every front end configured in the environment")
    summarize = sub.add_parser("summarize", help="brief one URL or local file")
    summarize.add_argument("target", help="an http(s) URL or a local .html/.htm/.pdf/.txt file")
    summarize.add_argument("--json", action="store_true", help="print the brief as JSON")
    extract = sub.add_parser("extract", help="print only the cleaned article text")
    extract.add_argument("targets", nargs="+", metavar="TARGET")
    extract.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    extract.add_argument("--out", type=Path, help="write one file per target into DIR")
    discord = sub.add_parser("discord", help="Discord operations")
    discord_sub = discord.add_subparsers(dest="discord_command", required=True)
    discord_sub.add_parser("sync", help="register the slash commands with Discord (run once)")
    from bot.digest.cli import add_digest_parser

    add_digest_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        status = _main(argv)
        sys.stdout.flush()  # a reader that left early shows up here at the latest
    except BrokenPipeError:
        # `linkbrief extract URL | head -1`: the reader has what it wanted. Point stdout
        # at /dev/null so the interpreter's own flush at exit stays quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_CLOSED_STDOUT
    return status


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"linkbrief: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    from bot.logging_setup import setup_logging

    # One-shot commands print their result on stdout and keep stderr for the one
    # error line; the long-running bot logs at the configured level.
    # The console front end shares the terminal with its briefs: warnings only, unless
    # LOG_LEVEL was set on purpose.
    level = settings.log_level
    console = args.command == "run" and not (settings.slack_enabled or settings.discord_enabled)
    one_shot = args.command != "run" and level != "DEBUG"
    if one_shot or (console and "log_level" not in settings.model_fields_set):
        level = "WARNING"
    setup_logging(level, settings.log_format, settings.secrets())
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            return runner.run(_dispatch(args, settings))
    except KeyboardInterrupt:
        return 130
    except ConfigError as exc:
        print(f"linkbrief: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except UsageError as exc:
        print(f"linkbrief: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LinkbriefError as exc:
        print(f"linkbrief: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed: the bot is CPU-bound per link, and a third of that
    is event-loop callbacks, socket reads and thread hand-offs (bench/own_work.py)."""
    try:
        import uvloop
    except ImportError:  # Windows, or a trimmed install: the standard loop
        return None
    return uvloop.new_event_loop


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import running_app

    if args.command == "run":
        from bot.runner import run_front_ends

        async with running_app(settings) as app:
            await _until_signalled(run_front_ends(app))
        return 0
    if args.command == "discord":
        if not settings.discord_enabled:
            raise ConfigError("DISCORD_TOKEN is required for `linkbrief discord sync`")
        from bot.adapters.discord import sync_commands

        async with running_app(settings) as app:
            count = await sync_commands(app)
        print(f"Registered {count} slash commands with Discord.")
        return 0
    async with running_app(settings) as app:
        if args.command == "digest":
            from bot.adapters.posters import rest_posters
            from bot.digest.cli import run_digest_cli

            if args.verb != "run-now":
                return await run_digest_cli(app, args)
            async with rest_posters(app) as posters:
                return await run_digest_cli(app, args, posters)
        if args.command == "summarize":
            return await _summarize(app, args.target, as_json=args.json)
        return await _extract(app, args.targets, args.format, args.out)


async def _until_signalled(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work``; SIGTERM or SIGINT cancel it, so front ends and the store close cleanly.

    Work already accepted stays pending in the store and resumes at the next start.
    """
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        log.info("linkbrief: stopping")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def _is_url(target: str) -> bool:
    return bool(re.match(r"(?i)^https?://", target))


def _local_path(target: str) -> Path:
    if re.match(r"(?i)^[a-z][a-z0-9+.-]*://", target):
        raise InvalidURL(f"Only http(s) links can be briefed, not {target.split(':')[0]}:")
    path = Path(target)
    if not path.exists():
        raise InputError(f"No such file: {target} (for a web page, give the full https:// URL)")
    if path.suffix.lower() not in LOCAL_SUFFIXES:
        raise UnsupportedFile()
    return path


async def _article(app, target: str):  # type: ignore[no-untyped-def]
    from bot.pipeline.workers import extract_file_off_loop

    if _is_url(target):
        return await app.service.article_from_url(target)
    # under the extraction deadline, with the fetcher's size cap
    return await extract_file_off_loop(_local_path(target), app.settings.fetch_max_bytes)


async def _summarize(app, target: str, *, as_json: bool) -> int:  # type: ignore[no-untyped-def]
    if _is_url(target):
        brief = await app.service.brief_url(target)
    else:
        brief = await app.service.brief_article(await _article(app, target))
    if as_json:
        print(json.dumps(brief.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        from bot.render.markdown import render_markdown

        print(render_markdown(brief))
    return 0


async def _extract(app, targets: list[str], fmt: str, out: Path | None) -> int:  # type: ignore[no-untyped-def]
    from bot.pipeline.extract import article_to_markdown

    failures = 0
    for target in targets:
        try:
            article = await _article(app, target)
        except LinkbriefError as exc:
            if len(targets) == 1:
                raise
            print(f"linkbrief: {target}: {exc}", file=sys.stderr)
            failures += 1
            continue
        if fmt == "markdown":
            text = article_to_markdown(article)
        elif fmt == "json":
            text = json.dumps(_article_json(article), ensure_ascii=False, indent=2)
        else:
            text = article.text
        if out is None:
            print(text)
        else:
            out.mkdir(parents=True, exist_ok=True)
            path = out / _file_name(target, fmt)
            path.write_text(text + "\n", encoding="utf-8")
            print(path)
    return EXIT_ERROR if failures else 0


def _article_json(article) -> dict:  # type: ignore[no-untyped-def]
    return {
        "url": article.url,
        "canonical_url": article.canonical_url,
        "title": article.title,
        "site": article.site,
        "author": article.author,
        "published": article.published,
        "language": article.language,
        "format": article.source_format,
        "page_words": article.page_words,
        "article_words": article.article_words,
        "reduced_by_pct": article.reduced_by_pct,
        "text": article.text,
    }


def _file_name(target: str, fmt: str) -> str:
    """A safe, readable file name for one target (``example.com_news_story.md``)."""
    stem = re.sub(r"(?i)^https?://", "", target) if _is_url(target) else Path(target).stem
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._")[:120] or "article"
    return f"{stem}.{ {'text': 'txt', 'markdown': 'md', 'json': 'json'}[fmt] }"
