"""The console front end: read lines from stdin, brief every link, print the briefs.

It is what ``linkbrief run`` starts when no chat tokens are set, so a newcomer
can paste a link and see what a channel would get. How it looks — status lines,
rich briefs on a terminal, plain text for scripts — is ``bot.adapters.console_view``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.adapters.console_view import PROMPT, ConsoleView
from bot.app import App
from bot.errors import LinkbriefError
from bot.pipeline.models import Brief
from bot.pipeline.urls import links_in_message

__all__ = ["PROMPT", "run_console"]


async def run_console(app: App, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
    stdin = stdin or sys.stdin
    view = ConsoleView(stdout or sys.stdout, interactive=stdin.isatty())
    view.prompt()
    while True:
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            return
        links, dropped = links_in_message(line, app.settings.max_links_per_message)
        if not links:
            if line.strip() and view.interactive:
                view.note("No http(s) link in that line.")
                view.prompt()
            continue

        async def brief(link: str) -> Brief:
            with view.watch(link):
                return await app.service.brief_url(link, platform="console")

        # Start every link of the line at once; print in the order they were pasted.
        with view.briefing():
            results = await asyncio.gather(*(brief(link) for link in links), return_exceptions=True)
        for link, result in zip(links, results, strict=True):
            if isinstance(result, LinkbriefError):
                view.error(link, str(result))
            elif isinstance(result, BaseException):
                raise result
            else:
                view.brief(result)
        if dropped:
            view.note(f"(Only the first {len(links)} links were briefed; {dropped} more skipped.)")
        view.prompt()
