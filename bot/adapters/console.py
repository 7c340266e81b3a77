"""The console front end: read lines from stdin, brief every link, print markdown.

It is what ``linkbrief run`` starts when no chat tokens are set, so a newcomer
can paste a link and see exactly what a channel would get. A line starting
with ``?`` asks a follow-up question about the last link (``bot.followup``).
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from typing import TextIO

from bot.app import App
from bot.errors import LinkbriefError
from bot.followup.render import answer_markdown
from bot.pipeline.urls import links_in_message
from bot.render.markdown import render_error_markdown, render_markdown

PROMPT = "Paste a link, or ask about the last one with a line starting with ? (Ctrl-D to quit):"
NO_LINK_YET = "Paste a link first; a line starting with ? asks about the last link."


async def ask_console(app: App, url: str, question: str) -> str:
    """The answer to a ``?`` line about ``url``, as markdown (errors said plainly)."""
    thread = "console:" + hashlib.sha256(url.encode()).hexdigest()[:24]
    try:
        answer = await app.followups.ask_about(
            url, question, platform="console", team_id="console", channel_id="console",
            thread_id=thread, user_id="console",
        )  # fmt: skip
    except LinkbriefError as exc:
        return render_error_markdown(str(exc))
    return answer_markdown(answer)


async def run_console(app: App, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    if stdin.isatty():
        print(PROMPT, file=stdout, flush=True)
    last_link: str | None = None
    while True:
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            return
        if line.lstrip().startswith("?"):
            question = line.strip()[1:].strip()
            if last_link is None or not question:
                print(NO_LINK_YET, file=stdout, flush=True)
            else:
                print(await ask_console(app, last_link, question), file=stdout, flush=True)
            continue
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
                last_link = link
        if dropped:
            print(
                f"_(Only the first {len(links)} links were briefed; {dropped} more skipped.)_",
                file=stdout,
                flush=True,
            )
