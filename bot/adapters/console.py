"""The console front end: read lines from stdin, brief every link, print markdown.

It is what ``linkbrief run`` starts when no chat tokens are set, so a newcomer
can paste a link and see exactly what a channel would get. Each line is one
request through the same delivery core as the chat platforms; the console's
"placeholder" is a slot in the line's output, printed in the order the links
were pasted once the line's briefs are in.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
import weakref
from typing import TextIO

from bot.app import App
from bot.delivery import Asker, Delivery, LinkJob, Outcome, Ref, Request
from bot.errors import LinkbriefError
from bot.pipeline.urls import links_in_message
from bot.render.markdown import render_error_markdown, render_markdown

PLATFORM = "console"
PROMPT = "Paste a link (Ctrl-D to quit):"


class ConsoleSurface:
    """Collects each line's output in link order; ``flush`` prints it."""

    platform = PLATFORM

    def __init__(self, stdout: TextIO | None = None) -> None:
        self.stdout = stdout or sys.stdout
        self._slots: weakref.WeakKeyDictionary[Request, list[str]] = weakref.WeakKeyDictionary()

    async def prepare(self, request: Request, *, look: bool) -> None:
        pass

    async def post(self, request: Request, job: LinkJob) -> Ref | None:
        slots = self._slots.setdefault(request, [])
        slots.append(f"_({job.note})_" if job.note is not None else "")
        return {"slot": len(slots) - 1}

    async def find(self, request: Request, job: LinkJob, taken: list[Ref]) -> Ref | None:
        return None  # nothing outlives the process: a console line is never resumed

    async def update(self, request: Request, job: LinkJob, ref: Ref, outcome: Outcome) -> None:
        if isinstance(outcome, LinkbriefError):
            # The link is the user's own input, shown as typed; only the message is rendered.
            text = f"{job.url}\n{render_error_markdown(outcome.message)}"
        else:
            text = render_markdown(outcome)
        self._slots.setdefault(request, [])[int(ref["slot"])] = text

    def flush(self, request: Request) -> None:
        for text in self._slots.pop(request, []):
            if text:
                print(text, file=self.stdout, flush=True)


class ConsoleFrontEnd:
    platform = PLATFORM
    poster = None

    def __init__(
        self, app: App, delivery: Delivery, surface: ConsoleSurface, stdin: TextIO | None = None
    ) -> None:
        self.app = app
        self.delivery = delivery
        self.surface = surface
        self.stdin = stdin or sys.stdin

    async def run(self) -> None:
        stdout = self.surface.stdout
        if self.stdin.isatty():
            print(PROMPT, file=stdout, flush=True)
        try:
            while line := await asyncio.to_thread(self.stdin.readline):
                links, dropped = links_in_message(line, self.app.settings.max_links_per_message)
                if not links:
                    if line.strip() and self.stdin.isatty():
                        print("No http(s) link in that line.", file=stdout, flush=True)
                    continue
                request = self.request(links, dropped)
                await self.delivery.run(request)  # every link of the line at once
                self.surface.flush(request)
        finally:
            await self.delivery.aclose()

    @staticmethod
    def request(links: list[str], dropped: int) -> Request:
        line = f"{PLATFORM}:{uuid.uuid4().hex}"  # a console line is never redelivered
        return Request.for_links(
            line, links, dropped, job_key=lambda url: f"{line}:{url}", asker=Asker(), place={}
        )


async def run_console(app: App, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
    from bot.app import build_console

    await build_console(app, stdin, stdout).run()
