"""The console front end: read lines from stdin, brief every link, print the briefs.

It is what ``linkbrief run`` starts when no chat tokens are set, so a newcomer
can paste a link and see exactly what a channel would get. Each line is one
request through the same delivery core as the chat platforms; the console's
"placeholder" is a slot in the line's output, printed in the order the links
were pasted once the line's briefs are in. How it looks — a status line per
link, rich briefs on a terminal, plain text for scripts, a prompt after each
answer — is ``bot.adapters.console_view``.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
import weakref
from typing import TextIO

from bot.adapters.console_view import PROMPT, ConsoleView
from bot.app import App
from bot.delivery import Asker, Delivery, LinkJob, Outcome, Ref, Request
from bot.errors import LinkbriefError
from bot.pipeline.urls import links_in_message

PLATFORM = "console"
__all__ = ["PROMPT", "ConsoleFrontEnd", "ConsoleSurface", "run_console"]
# One slot of a line's output: a note, a brief, or (link, message) for an error.
Slot = tuple[str, object]


class ConsoleSurface:
    """Collects each line's output in link order; ``flush`` shows it through the view."""

    platform = PLATFORM

    def __init__(self, stdout: TextIO | None = None) -> None:
        self.stdout = stdout or sys.stdout
        self.view = ConsoleView(self.stdout, interactive=False)
        self._slots: weakref.WeakKeyDictionary[Request, list[Slot | None]] = (
            weakref.WeakKeyDictionary()
        )

    async def prepare(self, request: Request, *, look: bool) -> None:
        pass

    async def post(self, request: Request, job: LinkJob) -> Ref | None:
        slots = self._slots.setdefault(request, [])
        slots.append(("note", job.note) if job.note is not None else None)
        return {"slot": len(slots) - 1}

    async def find(self, request: Request, job: LinkJob, taken: list[Ref]) -> Ref | None:
        return None  # nothing outlives the process: a console line is never resumed

    async def update(self, request: Request, job: LinkJob, ref: Ref, outcome: Outcome) -> None:
        # The link is the user's own input, shown as typed; only the message is rendered.
        slot: Slot = (
            ("error", (job.url, outcome.message))
            if isinstance(outcome, LinkbriefError)
            else ("brief", outcome)
        )
        self._slots.setdefault(request, [])[int(ref["slot"])] = slot

    def flush(self, request: Request) -> None:
        for slot in self._slots.pop(request, []):
            if slot is None:
                continue
            kind, value = slot
            if kind == "brief":
                self.view.brief(value)  # type: ignore[arg-type]
            elif kind == "error":
                link, message = value  # type: ignore[misc]
                self.view.error(link, message)
            else:
                self.view.note(str(value))


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
        view = self.surface.view
        view.interactive = self.stdin.isatty()
        view.prompt()
        try:
            while line := await asyncio.to_thread(self.stdin.readline):
                links, dropped = links_in_message(line, self.app.settings.max_links_per_message)
                if not links:
                    if line.strip() and view.interactive:
                        view.note("No http(s) link in that line.")
                        view.prompt()
                    continue
                request = self.request(links, dropped)
                with view.briefing(), view.watch_line(links):
                    await self.delivery.run(request)  # every link of the line at once
                self.surface.flush(request)
                view.prompt()
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
