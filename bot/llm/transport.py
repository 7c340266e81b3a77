"""The model client's HTTP transport: the openai SDK's httpx2 requests sent over aiohttp.

The SDK stays the client (retries, error classes, base URL, auth, timeouts);
only the bytes go over one aiohttp session, which costs about half the CPU of
httpx2's own stack per call (bench/own_work.py is CPU-bound per link).
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.request

import aiohttp
import httpx2
import openai


class AiohttpTransport(httpx2.AsyncBaseTransport):
    """The SDK's httpx2 requests sent over one aiohttp session, bodies read whole.

    Not the SDK's own ``DefaultAioHttpClient``: its error map reports a refused or
    dropped connection as a timeout, and it reads answers in 16 KiB chunks.
    Redirects, cookies and decompression stay with httpx2, as with its own stack.
    """

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}

    def _open_session(self) -> aiohttp.ClientSession:
        # Created on first use: a ClientSession belongs to the running event loop.
        connector = aiohttp.TCPConnector(
            limit=openai.DEFAULT_CONNECTION_LIMITS.max_connections or 0,
            keepalive_timeout=openai.DEFAULT_CONNECTION_LIMITS.keepalive_expiry,
            ssl=httpx2.create_ssl_context(),  # httpx2's CA bundle and SSL_CERT_* handling
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # httpx2 keeps the cookies
            auto_decompress=False,  # httpx2 decodes Content-Encoding
        )

    def _proxy_for(self, url: httpx2.URL) -> str | None:
        """HTTP(S)_PROXY / NO_PROXY as httpx2 honours them, looked up once per origin
        (aiohttp's ``trust_env`` would re-read the environment on every request)."""
        origin = (url.scheme, url.netloc.decode("ascii"))
        if origin not in self._proxies:
            bypass = urllib.request.proxy_bypass(origin[1])
            proxies = urllib.request.getproxies()
            self._proxies[origin] = None if bypass else proxies.get(url.scheme, proxies.get("all"))
        return self._proxies[origin]

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        session = self._session
        if session is None or session.closed:
            session = self._session = self._open_session()
        limits = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            sock_connect=limits.get("connect"),
            sock_read=limits.get("read"),  # like httpx2: the longest wait for the next bytes
            connect=limits.get("pool"),  # aiohttp's "connect" covers waiting for the pool
        )
        # The SDK's retry loop turns httpx2 timeouts into APITimeoutError and other
        # httpx2 request errors into APIConnectionError; others would escape unwrapped.
        try:
            async with session.request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=await request.aread() or None,
                timeout=timeout,
                proxy=self._proxy_for(request.url),
                allow_redirects=False,
                compress=False,
            ) as response:
                body = await response.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx2.ConnectTimeout(str(exc), request=request) from exc
        except TimeoutError as exc:  # aiohttp's socket-read timeout among them
            raise httpx2.ReadTimeout(str(exc), request=request) from exc
        except aiohttp.ClientConnectorError as exc:  # refused, DNS, TLS, proxy
            raise httpx2.ConnectError(str(exc), request=request) from exc
        except (aiohttp.ClientError, OSError) as exc:  # dropped, reset, malformed answer
            raise httpx2.ReadError(str(exc), request=request) from exc
        return httpx2.Response(
            response.status,
            headers=response.raw_headers,
            stream=httpx2.ByteStream(body),
            request=request,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def __del__(self) -> None:
        # Like the SDK's own client: a client dropped without aclose() still closes
        # its connections if a loop is running (else aiohttp warns, rightly).
        session = self._session
        if session is not None and not session.closed:
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().create_task(session.close())
