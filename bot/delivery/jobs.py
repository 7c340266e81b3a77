"""What a link job is, as saved before the platform is acknowledged.

A ``Request`` is one trigger's work (a message, an edit, a command, a
reaction's message): the pending item stored under ``key`` before anything is
posted. It lists its ``LinkJob``s in posting order, names who asked
(``Asker``: whose model budget and rate limits apply) and keeps ``place``,
the platform's own note of where to post (Slack: channel and thread; Discord:
channel, message and thread), which the platform may amend while posting
(Discord saves the thread it started) and the delivery core saves.

A ``LinkJob``'s ``key`` is its lease key: one link in one message, shared by
every trigger on that message, so a link is briefed once however many
triggers ask (a redelivery, a reaction, an edit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bot.store.tables import digest

LINKS_KIND = "links"
SKIPPED_NOTE = "#skipped-note"  # the note's stand-in for a link in its lease key


def host_of(url: str) -> str:
    """What logs may say about a link: its host only (a query can carry a user's token)."""
    return urlsplit(url).hostname or "?"


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asked: the workspace or guild (model budget), channel and user (rate limits)."""

    team_id: str = ""
    channel_id: str = ""
    user_id: str = ""


@dataclass(frozen=True, slots=True)
class LinkJob:
    """One link to brief, or (``note`` set) one line to post, under lease ``key``."""

    key: str
    url: str = ""
    note: str | None = None

    @property
    def tag(self) -> str:
        """A short, stable name for the job that carries no link (lease keys hold URLs)."""
        return digest(self.key)[:32]

    def to_payload(self) -> dict[str, Any]:
        return {"key": self.key, "url": self.url, "note": self.note}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> LinkJob:
        return cls(key=str(payload["key"]), url=str(payload.get("url") or ""),
                   note=payload.get("note"))  # fmt: skip


@dataclass(slots=True, eq=False, weakref_slot=True)
class Request:
    """One trigger's link jobs, persisted as one pending item under ``key``."""

    key: str
    jobs: list[LinkJob]
    asker: Asker = field(default_factory=Asker)
    place: dict[str, Any] = field(default_factory=dict)
    language: str = ""  # issue 19: the channel's, for the brief's labels (looked up, not stored)

    @classmethod
    def for_links(
        cls,
        key: str,
        links: list[str],
        skipped: int,
        *,
        job_key: Callable[[str], str],
        asker: Asker,
        place: dict[str, Any],
    ) -> Request:
        """A message's links, and the note that says how many the cap skipped (a job of
        its own, under ``job_key("#skipped-note")``, so it is said once per message)."""
        jobs = [LinkJob(key=job_key(url), url=url) for url in links]
        if skipped:
            note = f"Only the first {len(links)} links are briefed; {skipped} more skipped."
            jobs.append(LinkJob(key=job_key(SKIPPED_NOTE), note=note))
        return cls(key=key, jobs=jobs, asker=asker, place=place)

    def to_payload(self) -> dict[str, Any]:
        return {
            "kind": LINKS_KIND,
            "jobs": [job.to_payload() for job in self.jobs],
            "asker": {"team_id": self.asker.team_id, "channel_id": self.asker.channel_id,
                      "user_id": self.asker.user_id},
            "place": dict(self.place),
        }  # fmt: skip

    @classmethod
    def from_payload(cls, key: str, payload: dict[str, Any]) -> Request:
        asker = payload.get("asker") or {}
        return cls(
            key=key,
            jobs=[LinkJob.from_payload(job) for job in payload.get("jobs") or []],
            asker=Asker(
                **{k: str(asker.get(k) or "") for k in ("team_id", "channel_id", "user_id")}
            ),
            place=dict(payload.get("place") or {}),
        )
