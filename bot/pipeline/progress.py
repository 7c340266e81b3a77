"""Progress of one brief, step by step, for whoever is watching (the console's status line).

The pipeline calls ``report(step, url)`` as a link moves through it::

    fetching → reading → summarizing → checking (the quotes)

A front end that wants to show it wraps its call in ``watching(callback)``; the
callback is kept in a context variable, so it follows the request into the tasks
it starts and never crosses to another requester's link. With nobody watching,
``report`` costs one context-variable read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Literal

Step = Literal["fetching", "reading", "summarizing", "checking"]
STEPS: tuple[Step, ...] = ("fetching", "reading", "summarizing", "checking")
Watcher = Callable[[str, Step], None]  # (url, step)

_watcher: ContextVar[Watcher | None] = ContextVar("linkbrief_progress", default=None)


def report(step: Step, url: str) -> None:
    """Tell the watcher, if any, that ``url`` has reached ``step``; never raises."""
    watcher = _watcher.get()
    if watcher is None:
        return
    with suppress(Exception):  # a broken status line must never break a brief
        watcher(url, step)


@contextmanager
def watching(watcher: Watcher) -> Iterator[None]:
    """Send the steps of every brief started inside this block to ``watcher``."""
    token = _watcher.set(watcher)
    try:
        yield
    finally:
        _watcher.reset(token)
