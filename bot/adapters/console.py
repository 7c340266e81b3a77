"""The console front end: read lines from stdin, brief every link, print markdown.

It is what ``linkbrief run`` starts when no chat tokens are set, so a newcomer
can paste a link and see exactly what a channel would get.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.app import App
from bot.errors import LinkbriefError
from bot.pipeline.urls import links_in_message
from bot.render.markdown import render_error_markdown, render_markdown

PROMPT = "Paste a link (Ctrl-D to quit):"


async def run_console(app: App, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    if stdin.isatty():
        print(PROMPT, file=stdout, flush=True)
    while True:
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            return
        links, dropped = links_in_message(line, app.settings.max_links_per_message)
        if not links:
            if line.strip() and stdin.isatty():
                print("No http(s) link in that line.", file=stdout, flush=True)
            continue
        # Start every link of the line at once; print in the order they were pasted.
        results = await asyncio.gather(
            *(app.service.brief_url(link) for link in links), return_exceptions=True
        )
        for link, result in zip(links, results, strict=True):
            if isinstance(result, LinkbriefError):
                # The link is the user's own input, shown as typed; only the
                # message goes through the renderer.
                print(f"{link}\n{render_error_markdown(str(result))}", file=stdout, flush=True)
            elif isinstance(result, BaseException):
                raise result
            else:
                print(render_markdown(result), file=stdout, flush=True)
        if dropped:
            print(
                f"_(Only the first {len(links)} links were briefed; {dropped} more skipped.)_",
                file=stdout,
                flush=True,
            )
