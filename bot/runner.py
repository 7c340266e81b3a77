"""``linkbrief run``: start every front end the settings configure, in one process.

Slack and Discord run side by side when both are configured, with the digest
scheduler posting through them, hourly housekeeping (``bot.maintenance``)
and, if ``OPS_HTTP_PORT`` asks for it, a standalone ``/healthz`` +
``/metrics`` server. With no chat tokens, the console front end reads stdin
until it ends. Every front end is built by the composition root
(``bot.app.build_front_ends``).
"""

from __future__ import annotations

import asyncio
import gc
import logging

from bot.app import App, build_console, build_front_ends

log = logging.getLogger(__name__)


async def run_front_ends(app: App) -> None:
    from bot.ops import start_ops_for

    ops = await start_ops_for(app)
    try:
        await _run(app)
    finally:
        if ops is not None:
            await ops.close()


async def _run(app: App) -> None:
    front_ends = await build_front_ends(app)
    if not front_ends:
        await build_console(app).run()
        return
    from bot.digest.scheduler import DigestScheduler
    from bot.maintenance import run_maintenance

    posters = {f.platform: f.poster for f in front_ends if f.poster is not None}
    tasks = [asyncio.create_task(f.run(), name=f.platform) for f in front_ends]
    tasks.append(asyncio.create_task(DigestScheduler(app, posters).run(), name="digests"))
    tasks.append(asyncio.create_task(run_maintenance(app), name="maintenance"))
    log.info("linkbrief running: %s", ", ".join(t.get_name() for t in tasks))
    # What is imported and built by now lives as long as the process: keep it out of
    # the collector's full passes, which otherwise walk it all and held the event loop
    # for up to 118 ms during a 200-link burst (docs/performance.md).
    gc.collect()
    gc.freeze()
    try:
        # If one part dies, stop the others too rather than limp along.
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
