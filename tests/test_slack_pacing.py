"""Back-pressure helpers of the Slack front end: write ordering and loop pacing."""

from __future__ import annotations

import asyncio
import time

from bot.adapters.slack.pacing import InFlight, LoopPacer, WriteOrder


async def test_queued_writes_go_acknowledgements_first() -> None:
    order = WriteOrder()
    done: list[str] = []
    holder_in = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with order.turn(WriteOrder.FINISH):
            holder_in.set()
            await release.wait()

    async def write(name: str, priority: int) -> None:
        async with order.turn(priority):
            done.append(name)

    holder = asyncio.create_task(hold())
    await holder_in.wait()
    waiters = [
        asyncio.create_task(write("finish", WriteOrder.FINISH)),
        asyncio.create_task(write("post", WriteOrder.POST)),
        asyncio.create_task(write("ack-1", WriteOrder.ACK)),
        asyncio.create_task(write("ack-2", WriteOrder.ACK)),
    ]
    await asyncio.sleep(0)  # let them all queue
    release.set()
    await asyncio.gather(holder, *waiters)
    assert done == ["ack-1", "ack-2", "post", "finish"]


async def test_a_cancelled_waiter_does_not_block_the_queue() -> None:
    order = WriteOrder()
    release = asyncio.Event()
    entered = asyncio.Event()
    done: list[str] = []

    async def hold() -> None:
        async with order.turn(WriteOrder.ACK):
            entered.set()
            await release.wait()

    async def write(name: str) -> None:
        async with order.turn(WriteOrder.POST):
            done.append(name)

    holder = asyncio.create_task(hold())
    await entered.wait()
    doomed = asyncio.create_task(write("doomed"))
    survivor = asyncio.create_task(write("survivor"))
    await asyncio.sleep(0)
    doomed.cancel()
    release.set()
    await asyncio.gather(holder, survivor)
    assert doomed.cancelled()
    assert done == ["survivor"]
    async with order.turn(WriteOrder.FINISH):  # and the lock is free again afterwards
        done.append("after")
    assert done == ["survivor", "after"]


async def test_the_pacer_holds_work_back_while_the_loop_lags() -> None:
    pacer = LoopPacer(interval_s=0.01, max_lag_s=0.02, max_hold_s=30)
    pacer.start()
    try:
        await asyncio.sleep(0.03)
        time.sleep(0.2)  # block the loop: the probe asleep meanwhile wakes up >= 0.19 s late

        async def blocked_probe_reported() -> None:
            # Not merely "above max_lag_s": on a loaded machine an earlier probe may
            # already report a few tens of ms of lag before the block's one lands.
            while pacer.lag_s <= 0.15:
                await asyncio.sleep(0.001)

        await asyncio.wait_for(blocked_probe_reported(), timeout=60)
        assert pacer.lag_s > 0.1
        await pacer.calm()
        assert pacer.lag_s <= pacer.max_lag_s
    finally:
        await pacer.aclose()


async def test_lower_priority_work_waits_until_nothing_is_in_flight() -> None:
    posting = InFlight(max_wait_s=30)
    events: list[str] = []
    release = asyncio.Event()
    entered = asyncio.Event()

    async def post() -> None:
        async with posting.active():
            entered.set()
            await release.wait()
            events.append("placeholder")

    async def brief() -> None:
        await posting.idle()
        events.append("brief")

    poster = asyncio.create_task(post())
    await entered.wait()
    briefer = asyncio.create_task(brief())
    for _ in range(5):
        await asyncio.sleep(0)
    assert events == []
    release.set()
    await asyncio.gather(poster, briefer)
    assert events == ["placeholder", "brief"]
