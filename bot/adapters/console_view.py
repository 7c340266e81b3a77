"""What the console front end shows, on a terminal or to a script.

On a terminal (stdout is a tty): the prompt after every answer, a live status
line per link while it is briefed (``bot.adapters.console_status``), briefs
rendered with rich (``bot.render.terminal``) and one blank line between them.
When stdout is a pipe or a file: plain text only — no prompt, no status, no
colour — so scripts get the briefs and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TextIO

from rich.console import Console

from bot.adapters.console_status import LinkStatus
from bot.pipeline.models import Brief
from bot.render.terminal import (
    render_plain,
    render_plain_error,
    render_terminal,
    render_terminal_error,
)

PROMPT = "Paste a link (Ctrl-D to quit):"


class ConsoleView:
    """Prints prompts, status lines, briefs and errors; one per console session."""

    def __init__(self, stdout: TextIO, *, interactive: bool, prompt: str = PROMPT) -> None:
        self.stdout = stdout
        self.interactive = interactive
        self.prompt_text = prompt
        self.terminal = _is_tty(stdout)
        # highlight=False: rich must not colour numbers and URLs it finds in article text.
        self._console = Console(file=stdout, highlight=False, soft_wrap=False) if (
            self.terminal
        ) else None  # fmt: skip
        self._status = LinkStatus(self._console) if self._console is not None else None
        self._printed = 0  # briefs and errors so far: a blank line goes between them

    def prompt(self) -> None:
        if not self.interactive:
            return
        if self._console is not None:
            self._console.print(self.prompt_text, style="bold", markup=False, soft_wrap=True)
        else:
            self._write(self.prompt_text)

    def note(self, text: str) -> None:
        """A line about the input itself (no link found, links skipped)."""
        if self._console is not None:
            self._console.print(text, style="dim", markup=False)
        else:
            self._write(text)

    def text(self, text: str) -> None:
        """An answer already rendered as text (a follow-up question's)."""
        self._separate()
        self._write(text.rstrip("\n"))

    @contextmanager
    def briefing(self) -> Iterator[None]:
        """Around one pasted line's links: the live status lines, on a terminal."""
        with self._status if self._status is not None else nullcontext():
            yield

    def watch_line(self, links: list[str]) -> AbstractContextManager[None]:
        """Around one pasted line's briefs: each link's status line follows its steps."""
        return self._status.watch_line(links) if self._status is not None else nullcontext()

    def brief(self, brief: Brief) -> None:
        self._separate()
        if self._console is not None:
            self._console.print(render_terminal(brief))
        else:
            self._write(render_plain(brief))

    def error(self, link: str, message: str) -> None:
        self._separate()
        if self._console is not None:
            self._console.print(render_terminal_error(link, message))
        else:
            self._write(render_plain_error(link, message))

    def _separate(self) -> None:
        if self._printed:
            self._write("")
        self._printed += 1

    def _write(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
