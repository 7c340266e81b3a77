"""The console's live status: one line per link while it is briefed, then gone.

    ⠹ example.com — fetching…
    ⠼ news.example.org — summarizing…

It consumes the pipeline's progress events (``bot.pipeline.progress``): each
link's brief runs inside ``status.watch(link)``, so its steps — fetching,
reading, summarizing, checking quotes — move its own line. The lines live in a
``rich.live.Live`` that is transient: when the briefs are printed, the status
lines are cleared first. Only used when stdout is a terminal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from bot.pipeline import progress
from bot.render.common import host_of

REFRESHES_PER_S = 8


class LinkStatus:
    """The status lines of the links being briefed now (one ``Live`` at a time)."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._steps: dict[str, str] = {}  # link -> step, in the order pasted
        self._spinners: dict[str, Spinner] = {}
        self._live: Live | None = None

    @property
    def steps(self) -> dict[str, str]:
        """Each link's current step (what the lines show), for tests."""
        return dict(self._steps)

    def __enter__(self) -> LinkStatus:
        self._live = Live(
            self._render(),
            console=self._console,
            transient=True,  # cleared before the briefs are printed
            refresh_per_second=REFRESHES_PER_S,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None
        self._steps.clear()
        self._spinners.clear()

    @contextmanager
    def watch(self, link: str) -> Iterator[None]:
        """Show ``link``'s line while the block runs; its pipeline steps update it."""
        self._move(link, "starting")
        with progress.watching(lambda _url, step: self._move(link, step)):
            try:
                yield
            finally:
                self._steps.pop(link, None)
                self._spinners.pop(link, None)
                self._refresh()

    def _move(self, link: str, step: str) -> None:
        self._steps[link] = step
        line = Text(f"{host_of(link) or link} — {step}…")
        spinner = self._spinners.get(link)
        if spinner is None:
            self._spinners[link] = Spinner("dots", text=line, style="cyan")
        else:
            spinner.update(text=line)
        self._refresh()

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._render(), refresh=True)  # a step is news: show it now

    def _render(self) -> RenderableType:
        return Group(*self._spinners.values())
