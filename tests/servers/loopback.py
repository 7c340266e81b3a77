"""What every local fake server shares: an aiohttp app bound on loopback.

Subclasses build their ``web.Application``; this class starts it on a free port
(``port=0``) and offers both ways the tests use a server:

    async with SomeServer() as srv:          # inside an async test
        ...
    base = srv.start_in_thread(); ...; srv.stop()   # for subprocess tests and benches
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Any, Self

from aiohttp import web


class LoopbackServer:
    thread_name = "loopback-server"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- what subclasses provide ---------------------------------------------
    def build_app(self) -> web.Application:
        raise NotImplementedError

    def runner_options(self) -> dict[str, Any]:
        return {"access_log": None, "shutdown_timeout": 0.5, "handle_signals": False}

    def site_options(self) -> dict[str, Any]:
        return {}

    async def before_close(self) -> None:
        """Cancel anything long-running (hanging handlers) before the runner stops."""

    # --- addresses ------------------------------------------------------------
    @property
    def scheme(self) -> str:
        return "https" if self.site_options().get("ssl_context") is not None else "http"

    @property
    def root_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url

    def url(self, path: str) -> str:
        return self.root_url + (path if path.startswith("/") else "/" + path)

    # --- async lifecycle ------------------------------------------------------
    async def start(self) -> str:
        self._runner = web.AppRunner(self.build_app(), **self.runner_options())
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, **self.site_options())
        await site.start()
        server = site._server  # aiohttp exposes the bound port only here
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self.base_url

    async def close(self) -> None:
        await self.before_close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- thread lifecycle -----------------------------------------------------
    def start_in_thread(self, timeout: float = 30.0) -> str:
        """Serve from its own event loop in a daemon thread; returns the base URL."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.close())
            loop.close()

        self._thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError(f"{self.thread_name} did not start")
        if failure:
            raise failure[0]
        return self.base_url

    def stop(self) -> None:
        """Stop a server started with ``start_in_thread``."""
        if self._loop is None or self._thread is None:
            raise RuntimeError("stop() is for start_in_thread(); use 'await close()' instead")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._thread = None
        self._loop = None
