"""What a chat platform gives the delivery core: four calls, nothing else.

A ``Ref`` is what a platform needs to find its placeholder again (Slack: the
message's ``ts``; Discord: the message and channel ids); the core records it
as the link's progress as soon as the platform returns it.

A platform may amend ``request.place`` in ``prepare`` (Discord notes the
thread it started there) or ``post``; the core saves the amended place with
the request before it asks for the placeholder, or records it.
"""

from __future__ import annotations

from typing import Any, Protocol

from bot.delivery.jobs import LinkJob, Request
from bot.errors import LinkbriefError
from bot.pipeline.models import Brief

Ref = dict[str, Any]
# What a link job ends with: the brief, or the error the person is shown instead.
Outcome = Brief | LinkbriefError


class Surface(Protocol):
    """Where link jobs are posted: a placeholder (or a note), found again, then updated."""

    platform: str

    async def prepare(self, request: Request, *, look: bool) -> None:
        """Settle where the request's jobs post, once per request (Discord starts the
        thread, and notes it in ``request.place``); ``look``: one may exist already."""
        ...

    async def post(self, request: Request, job: LinkJob) -> Ref | None:
        """Post the job's placeholder (or its ``note``); None if the platform refused."""
        ...

    async def find(self, request: Request, job: LinkJob, taken: list[Ref]) -> Ref | None:
        """The job's placeholder already posted by an interrupted process, if any;
        ``taken``: the placeholders the request's other jobs recorded (not this one's)."""
        ...

    async def update(self, request: Request, job: LinkJob, ref: Ref, outcome: Outcome) -> None:
        """Turn the placeholder into the brief, or into the error's message."""
        ...
