"""The console's live status: one line per link while it is briefed, then gone.

    ⠹ example.com — fetching…
    ⠼ news.example.org — summarizing…

It consumes the pipeline's progress events (``bot.pipeline.progress``): a
pasted line's briefs run inside ``status.watch_line(links)``, so each link's
steps — fetching, reading, summarizing, checking quotes — move its own line. The lines live in a
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
LABELS = {"checking": "checking quotes"}  # what each pipeline step is called on screen


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
    def watch_line(self, links: list[str]) -> Iterator[None]:
        """Show a line per link while the block runs; the pipeline's steps move them.

        Steps arrive with the URL the pipeline is working on: the link itself, or
        (after a redirect) the page it landed on, matched to its link by host.
        """
        for link in links:
            self._move(link, "starting")

        def moved(url: str, step: str) -> None:
            link = url if url in self._steps else self._by_host(url)
            if link is not None:
                self._move(link, step)

        with progress.watching(moved):
            yield

    def _by_host(self, url: str) -> str | None:
        host = host_of(url)
        for link in self._steps:
            if host_of(link) == host:
                return link
        return None

    def _move(self, link: str, step: str) -> None:
        self._steps[link] = step
        line = Text(f"{host_of(link) or link} — {LABELS.get(step, step)}…")
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
