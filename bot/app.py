"""The composition root: every long-lived part is built here, from ``Settings``.

``build_app`` builds the store, fetcher, summarizer, brief service, limits
and metrics; ``build_front_ends`` builds the chat front ends the settings
configure (``build_slack``, ``build_discord``, ``build_console``), each a
platform surface on one delivery core (``App.delivery``). The CLI, the runner
and tests all call these; tests hand in fakes (a resolver for the fetcher, a
scripted summarizer) instead of patching internals. Heavy optional parts
(the openai SDK, slack-bolt, discord.py) are imported only when configured.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from bot.config import Settings
from bot.delivery import Delivery, Order, Surface
from bot.errors import LinkbriefError
from bot.followup.controls import Controls, metered
from bot.followup.service import Answerer, FollowupService
from bot.i18n import CONTENT_LANGUAGES
from bot.limits import Limits
from bot.ops import check_health
from bot.ops.metrics import Metrics
from bot.pipeline import workers
from bot.pipeline.contracts import Summarizer
from bot.pipeline.extractive import ExtractiveSummarizer
from bot.pipeline.fetch import SafeFetcher
from bot.pipeline.models import Brief
from bot.pipeline.service import BriefService
from bot.store import Store
from bot.store.digests import DigestStore
from bot.store.followups import FollowupStore
from bot.store.leases import LEASE_S
from bot.timeutil import Clock, utc_now

if TYPE_CHECKING:
    from bot.adapters.console import ConsoleFrontEnd
    from bot.adapters.discord import DiscordFrontEnd
    from bot.adapters.slack import SlackFrontEnd
    from bot.digest.scheduler import DigestPoster


@dataclass
class App:
    settings: Settings
    store: Store
    fetcher: SafeFetcher
    service: BriefService
    limits: Limits
    metrics: Metrics
    followups: FollowupService  # issue 18: questions in a brief's thread
    controls: Controls  # issue 18: Regenerate, Delete, votes
    clock: Clock = utc_now
    order: Order = field(default_factory=Order)  # one priority order for every front end
    closers: list = field(default_factory=list)

    def delivery(
        self, surface: Surface, *, lease_s: float = LEASE_S, limited: bool = True
    ) -> Delivery:
        """The delivery core for one platform's surface (``limited``: rate limits and
        budgets apply; not for the operator's own console)."""
        return Delivery(
            surface,
            store=self.store,
            brief_link=self.brief_link if limited else self.brief_unlimited,
            model_slots=self.settings.llm_concurrency,
            lease_s=lease_s,
            order=self.order,
            clock=self.clock,
        )

    async def brief_link(
        self, url: str, *, platform: str, team_id: str, channel_id: str, user_id: str
    ) -> Brief:
        """What a chat front end calls per link: rate limits, then the brief on the team's budget.

        Raises ``UserRateLimited``/``ChannelRateLimited`` (post ``str(error)``) or
        any other ``LinkbriefError``; counts rate-limit refusals in the metrics.
        """
        # issue 19: a channel that chose a language gets the model's brief in it
        # (read beside the rate-limit check, not after it).
        chosen = asyncio.ensure_future(
            DigestStore(self.store).channel_language(platform, channel_id)
        )
        try:
            await self.limits.check_brief(
                platform=platform, team_id=team_id, channel_id=channel_id, user_id=user_id
            )
        except LinkbriefError as exc:
            self.metrics.failed(kind=exc.kind)
            await asyncio.gather(chosen, return_exceptions=True)
            raise
        except BaseException:
            chosen.cancel()
            raise
        budget = metered(self.limits.budget(platform=platform, team_id=team_id))
        language = CONTENT_LANGUAGES.get(await chosen or "", "")
        try:
            brief = await self.service.brief_url(
                url, budget=budget, platform=platform, language=language
            )
        except LinkbriefError as exc:
            await self.followups.record_brief(
                platform=platform, team_id=team_id, url=url, error_kind=exc.kind
            )
            raise
        await self.followups.record_brief(
            platform=platform, team_id=team_id, url=url, brief=brief, tokens=budget.spent
        )
        return brief

    async def brief_unlimited(self, url: str, *, platform: str, **_asker: str) -> Brief:
        """A brief outside any rate limit or budget (the console, the operator's own)."""
        return await self.service.brief_url(url, platform=platform)

    async def health(self) -> dict[str, Any]:
        """The ``/healthz`` report (see ``bot.ops.check_health``)."""
        return await check_health(self.store)

    async def aclose(self) -> None:
        await self.order.aclose()
        await self.followups.settle()  # articles still being kept need the store
        for close in reversed(self.closers):
            await close()
        await self.fetcher.aclose()
        await self.store.close()


def build_summarizer(settings: Settings) -> Summarizer:
    """The LLM summarizer when one is configured, else the extractive one."""
    if settings.llm_enabled:
        from bot.llm import build_llm_summarizer  # deferred: openai is slow to import

        return build_llm_summarizer(settings)
    return ExtractiveSummarizer()


def build_answerer(settings: Settings, summarizer: Summarizer) -> Answerer | None:
    """The model answerer for follow-up questions when briefs use a model client; else None
    (questions are answered offline, from the article's best-matching sentences)."""
    client = getattr(summarizer, "client", None)
    if summarizer.mode != "llm" or client is None or not hasattr(client, "complete_json"):
        return None
    from bot.followup.model import ModelAnswerer, load_followup_prompts  # deferred: openai

    return ModelAnswerer(
        client, load_followup_prompts(), max_input_tokens=settings.max_input_tokens
    )


async def build_app(
    settings: Settings,
    *,
    fetcher: SafeFetcher | None = None,
    summarizer: Summarizer | None = None,
    store: Store | None = None,
    clock: Clock = utc_now,
) -> App:
    store = store or await Store.open(settings.database_url)
    metrics = Metrics()
    fetcher = fetcher or SafeFetcher.from_settings(settings)
    summarizer = summarizer or build_summarizer(settings)
    fallback = ExtractiveSummarizer() if summarizer.mode != "extractive" else None
    service = BriefService(
        fetcher=fetcher,
        summarizer=summarizer,
        fallback=fallback,
        cache=store,
        cache_ttl_s=settings.brief_cache_ttl_s,
        observer=metrics,
    )
    limits = Limits(store, settings, clock=clock)
    followup_store = FollowupStore(store)
    followups = FollowupService(
        followups=followup_store,
        articles=service,
        limits=limits,
        article_ttl_s=settings.brief_cache_ttl_s,
        model=build_answerer(settings, summarizer),
    )
    service.on_article = followups.keep_article
    controls = Controls(
        store=store,
        followups=followup_store,
        questions=followups,
        builder=service,
        cache=store,
        limits=limits,
    )
    app = App(
        settings=settings,
        store=store,
        fetcher=fetcher,
        service=service,
        limits=limits,
        metrics=metrics,
        followups=followups,
        controls=controls,
        clock=clock,
    )
    # Extraction workers: sized and timed from settings, started in the background.
    workers.configure(size=settings.extract_workers or None, deadline_s=settings.extract_timeout_s)
    warming = asyncio.create_task(workers.shared_pool().warm())
    app.closers.append(lambda: _stop(warming))
    # A model client we built holds a connection pool: close it with the app.
    client = getattr(summarizer, "client", None)
    if client is not None and hasattr(client, "aclose"):
        app.closers.append(client.aclose)
    return app


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@asynccontextmanager
async def running_app(settings: Settings, **parts: object) -> AsyncIterator[App]:
    app = await build_app(settings, **parts)  # type: ignore[arg-type]
    try:
        yield app
    finally:
        await app.aclose()


class FrontEnd(Protocol):
    """A chat front end as the runner sees it: run until cancelled; post digests."""

    platform: str
    poster: DigestPoster | None

    async def run(self) -> None: ...


async def build_slack(
    app: App, *, http_host: str = "0.0.0.0", http_port: int | None = None,
    lease_s: float = LEASE_S,
) -> SlackFrontEnd:  # fmt: skip
    """Slack: one Web API session and client, the surface, the delivery core, the bolt app."""
    import aiohttp

    from bot.adapters.slack.app import build_bolt_app, build_web_client
    from bot.adapters.slack.frontend import SlackFrontEnd
    from bot.adapters.slack.parts import SlackParts
    from bot.adapters.slack.surface import SlackSurface

    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
    client = build_web_client(app.settings, session)
    surface = SlackSurface(client, posts=app.followups.followups)  # posts: issue 18
    parts = SlackParts(app, client, app.delivery(surface, lease_s=lease_s))
    return SlackFrontEnd(
        parts, build_bolt_app(app.settings, parts), close_session=session.close,
        http_host=http_host, http_port=http_port,
    )  # fmt: skip


def build_discord(app: App, *, lease_s: float = LEASE_S) -> DiscordFrontEnd:
    """Discord: the bot (its surface and delivery core inside) pointed at the configured API."""
    from bot.adapters.discord import DiscordFrontEnd, LinkbriefBot, configure_endpoints

    configure_endpoints(app.settings)
    bot = LinkbriefBot(app, lambda surface: app.delivery(surface, lease_s=lease_s))
    return DiscordFrontEnd(app, bot)


def build_console(
    app: App, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> ConsoleFrontEnd:
    """The console: stdin lines in, briefs out, through the same delivery core."""
    from bot.adapters.console import ConsoleFrontEnd, ConsoleSurface

    surface = ConsoleSurface(stdout)
    return ConsoleFrontEnd(app, app.delivery(surface, limited=False), surface, stdin)


async def build_front_ends(app: App) -> list[FrontEnd]:
    """Every chat front end the settings configure (none: the caller runs the console)."""
    front_ends: list[FrontEnd] = []
    if app.settings.slack_enabled:
        front_ends.append(await build_slack(app))
    if app.settings.discord_enabled:
        front_ends.append(build_discord(app))
    return front_ends
