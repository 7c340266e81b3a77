"""The delivery core on its own, with a recording surface handed in (no platform), and
two Slack processes on one database (SQLite file, and PostgreSQL when configured).

The surface records what the core asks of it; the store is real; the brief function
is a stand-in that records which links were briefed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import build_app, build_slack
from bot.delivery import Asker, Delivery, LinkJob, Order, Outcome, Ref, Request
from bot.delivery.order import ACK, BRIEF, PLACEHOLDER
from bot.errors import LinkbriefError
from bot.pipeline.models import Brief
from bot.store import Store
from tests.fault_support import posts, updates
from tests.slack_helpers import SlackStack, event_body, message_event, signed_headers


class RecordingSurface:
    platform = "test"

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.calls: list[tuple[str, str]] = []
        self.outcomes: dict[str, Outcome] = {}

    async def prepare(self, request: Request, *, look: bool) -> None:
        self.calls.append(("prepare", request.key))
        request.place["settled"] = True  # like Discord noting its thread

    async def post(self, request: Request, job: LinkJob) -> Ref | None:
        self.calls.append(("post", job.url or "note"))
        return None if self.refuse else {"n": len(self.calls)}

    async def find(self, request: Request, job: LinkJob, taken: list[Ref]) -> Ref | None:
        self.calls.append(("find", job.url))
        return None

    async def update(self, request: Request, job: LinkJob, ref: Ref, outcome: Outcome) -> None:
        self.calls.append(("update", job.url))
        self.outcomes[job.url] = outcome


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    try:
        yield s
    finally:
        await s.close()


def core(store: Store, surface: RecordingSurface, briefed: list[str]) -> Delivery:
    async def brief_link(url: str, **_asker: str) -> Brief:
        briefed.append(url)
        if "bad" in url:
            raise LinkbriefError("That page could not be read.")
        return Brief(url=url, canonical_url=url, title="t", mode="extractive", summary="s")

    return Delivery(surface, store=store, brief_link=brief_link)


def request(key: str, *urls: str) -> Request:
    jobs = [LinkJob(key=f"message-1:{url}", url=url) for url in urls]  # shared by triggers
    return Request(f"test:{key}", jobs, Asker("T1", "C1", "U1"), {"channel": "C1"})


async def test_placeholders_go_out_in_link_order_and_errors_become_the_reply(
    store: Store,
) -> None:
    surface, briefed = RecordingSurface(), []
    delivery = core(store, surface, briefed)
    urls = [f"https://example.test/{n}" for n in range(5)] + ["https://example.test/bad"]
    assert await delivery.submit(request("r1", *urls))
    await delivery.drain()
    assert [url for call, url in surface.calls if call == "post"] == urls
    assert sorted(briefed) == sorted(urls)
    assert isinstance(surface.outcomes[urls[-1]], LinkbriefError)
    # The place the surface amended was saved with the request; the request is finished.
    payload, finished = await store.get_pending("test:r1") or ({}, False)
    assert payload["place"]["settled"] and finished
    # The same trigger again: refused at accept; another trigger on the same links: skipped.
    assert not await delivery.submit(request("r1", *urls))
    assert await delivery.submit(request("r2", *urls[:1]))
    await delivery.drain()
    assert len([c for c in surface.calls if c[0] == "post"]) == len(urls)
    await delivery.aclose()


async def test_a_refused_placeholder_cancels_its_brief(store: Store) -> None:
    surface, briefed = RecordingSurface(refuse=True), []
    delivery = core(store, surface, briefed)
    assert await delivery.submit(request("r1", "https://example.test/a"))
    await delivery.drain()
    assert briefed == []  # the brief waited for the placeholder, then was not needed
    await delivery.aclose()


async def test_resumed_work_looks_for_its_placeholder_before_posting(store: Store) -> None:
    surface, briefed = RecordingSurface(), []
    first = core(store, surface, briefed)
    assert await first.accept(request("r1", "https://example.test/a"))
    await first.aclose()  # stopped before running: the work stays pending
    second = core(store, surface, briefed)
    assert await second.resume_pending() == 1
    await second.drain()
    assert [c[0] for c in surface.calls] == ["prepare", "find", "post", "update"]
    await second.aclose()


async def test_briefs_wait_for_acknowledgements_and_placeholders() -> None:
    order = Order(max_wait_s=60)
    log: list[str] = []

    async def brief() -> None:
        await order.turn(BRIEF)
        log.append("brief")

    async with order.active(ACK):
        waiting = asyncio.create_task(brief())
        await asyncio.sleep(0)
        async with order.active(PLACEHOLDER):
            log.append("ack done")
        await asyncio.sleep(0)
        assert log == ["ack done"]
    async with order.active(PLACEHOLDER):
        await asyncio.sleep(0)
        assert log == ["ack done"]
    await waiting
    assert log == ["ack done", "brief"]


async def test_a_cancelled_turn_is_cancelled_even_as_the_lane_goes_idle() -> None:
    order = Order(max_wait_s=60)
    async with order.active(PLACEHOLDER):
        waiting = asyncio.create_task(order.turn(BRIEF))
        await asyncio.sleep(0)
    waiting.cancel()  # the lane went idle in the same loop turn
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_two_processes_given_the_same_event_post_one_reply(
    tmp_path: Path, db_url: str
) -> None:
    async with SlackStack(tmp_path, database_url=db_url, brief_cache_ttl_s=0) as stack:
        assert stack.front is not None
        other_app = await build_app(stack.settings())
        other = await build_slack(other_app, http_host="127.0.0.1", http_port=0)
        await other.start()
        try:
            assert stack.http is not None
            body = json.dumps(event_body(message_event(f"<{stack.article_url()}>")))
            headers = signed_headers(body, {"Content-Type": "application/json"})
            urls = [stack.events_url, f"http://127.0.0.1:{other.port}/slack/events"]

            async def send(url: str) -> int:
                assert stack.http is not None
                async with stack.http.post(url, data=body.encode(), headers=headers) as resp:
                    return resp.status

            assert await asyncio.gather(*(send(u) for u in urls * 2)) == [200] * 4
            await stack.api.wait_for(lambda: len(updates(stack)) >= 1, timeout=30)
            await asyncio.gather(stack.drain(), other.delivery.drain())
            assert len(posts(stack)) == 1 and len(updates(stack)) == 1
        finally:
            await other.stop()
            await other_app.aclose()
