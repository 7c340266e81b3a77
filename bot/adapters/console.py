"""The console front end: read lines from stdin, brief every link, print markdown.

It is what ``linkbrief run`` starts when no chat tokens are set, so a newcomer
can paste a link and see exactly what a channel would get. Each line is one
request through the same delivery core as the chat platforms; the console's
"placeholder" is a slot in the line's output, printed in the order the links
were pasted once the line's briefs are in. A line starting with ``?`` asks a
follow-up question about the last link briefed (``bot.followup``). How it
looks — a status line per link, rich briefs on a terminal, plain text for
scripts, a prompt after each answer — is ``bot.adapters.console_view``.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import uuid
import weakref
from typing import TextIO

from bot.adapters.console_view import ConsoleView
from bot.app import App
from bot.delivery import Asker, Delivery, LinkJob, Outcome, Ref, Request
from bot.errors import LinkbriefError
from bot.followup.render import answer_markdown
from bot.pipeline.urls import links_in_message
from bot.render.markdown import render_error_markdown

PLATFORM = "console"
PROMPT = "Paste a link, or ask about the last one with a line starting with ? (Ctrl-D to quit):"
NO_LINK_YET = "Paste a link first; a line starting with ? asks about the last link."


class ConsoleSurface:
    """Collects each line's output in link order; ``flush`` prints it."""

    platform = PLATFORM

    def __init__(self, stdout: TextIO | None = None) -> None:
        self.stdout = stdout or sys.stdout
        self.view = ConsoleView(self.stdout, interactive=False, prompt=PROMPT)
        # One slot per job of a line: a note, a brief, or (link, message) for an error.
        self._slots: weakref.WeakKeyDictionary[Request, list[tuple[str, object] | None]] = (
            weakref.WeakKeyDictionary()
        )
        self._briefed: weakref.WeakKeyDictionary[Request, dict[int, str]] = (
            weakref.WeakKeyDictionary()
        )
        self.last_link: str | None = None  # what a "?" line asks about

    async def prepare(self, request: Request, *, look: bool) -> None:
        pass

    async def post(self, request: Request, job: LinkJob) -> Ref | None:
        slots = self._slots.setdefault(request, [])
        slots.append(("note", job.note) if job.note is not None else None)
        return {"slot": len(slots) - 1}

    async def find(self, request: Request, job: LinkJob, taken: list[Ref]) -> Ref | None:
        return None  # nothing outlives the process: a console line is never resumed

    async def update(self, request: Request, job: LinkJob, ref: Ref, outcome: Outcome) -> None:
        slot: tuple[str, object]
        if isinstance(outcome, LinkbriefError):
            # The link is the user's own input, shown as typed; only the message is rendered.
            slot = ("error", (job.url, outcome.message))
        else:
            slot = ("brief", outcome)
            self._briefed.setdefault(request, {})[int(ref["slot"])] = job.url
        self._slots.setdefault(request, [])[int(ref["slot"])] = slot

    def flush(self, request: Request) -> None:
        briefed = self._briefed.pop(request, {})
        if briefed:  # the last link of the line that was briefed
            self.last_link = briefed[max(briefed)]
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
                if line.lstrip().startswith("?"):
                    view.text(await self.ask(line.strip()[1:].strip()))
                    view.prompt()
                    continue
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

    async def ask(self, question: str) -> str:
        """The answer to a ``?`` line about the last link, as markdown (errors said plainly)."""
        url = self.surface.last_link
        if url is None or not question:
            return NO_LINK_YET
        thread = "console:" + hashlib.sha256(url.encode()).hexdigest()[:24]
        try:
            answer = await self.app.followups.ask_about(
                url, question, platform=PLATFORM, team_id=PLATFORM, channel_id=PLATFORM,
                thread_id=thread, user_id=PLATFORM, limited=False,
            )  # fmt: skip
        except LinkbriefError as exc:
            return render_error_markdown(exc.message)
        return answer_markdown(answer)

    @staticmethod
    def request(links: list[str], dropped: int) -> Request:
        line = f"{PLATFORM}:{uuid.uuid4().hex}"  # a console line is never redelivered
        return Request.for_links(
            line, links, dropped, job_key=lambda url: f"{line}:{url}", asker=Asker(), place={}
        )


async def run_console(app: App, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
    from bot.app import build_console

    await build_console(app, stdin, stdout).run()
