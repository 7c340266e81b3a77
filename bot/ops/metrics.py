"""Prometheus metrics for one ``App``: briefs, failures by kind, model tokens, fetch bytes, latency.

Each ``Metrics`` has its own ``CollectorRegistry`` (never prometheus_client's
global one), so a process, or a test, may build several apps side by side.
``Metrics`` is the brief service's ``PipelineObserver``; front ends add
their own failures (rate limits, posting errors) with ``failed(kind=...)``.

Exported (all prefixed ``linkbrief_``): ``briefs_total{mode,platform}``,
``brief_cache_hits_total{platform}``, ``failures_total{kind}``,
``model_tokens_total{type}``, ``model_calls_total{outcome}``,
``fetch_bytes_total``, and the histograms ``brief_latency_seconds``,
``fetch_latency_seconds`` and ``model_latency_seconds``; plus the
``process_*`` collector on Linux.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
)
from prometheus_client.exposition import choose_encoder

NAMESPACE = "linkbrief"
# What a person waits for: a cache hit (milliseconds) up to a slow page plus a slow model.
BRIEF_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120)
FETCH_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30)
MODEL_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120)
# Failure kinds shown at 0 from the start, so dashboards and alerts see the series.
KNOWN_FAILURE_KINDS = (
    "invalid_url",
    "blocked_address",
    "fetch_timeout",
    "http_status",
    "connect_failed",
    "not_an_article",
    "too_large",
    "too_many_redirects",
    "empty_page",
    "consent_wall",
    "paywall",
    "llm_unavailable",
    "llm_bad_output",
    "budget_exhausted",
    "user_rate_limited",
    "channel_rate_limited",
    "internal",
)


class Metrics:
    """The counters and histograms, in a registry of their own."""

    def __init__(self, *, process_metrics: bool = True) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.briefs = Counter(
            "briefs", "Briefs served to a requester.", ["mode", "platform"],
            namespace=NAMESPACE, registry=registry,
        )  # fmt: skip
        self.cache_hits = Counter(
            "brief_cache_hits", "Briefs served from the cache (no fetch, no model call).",
            ["platform"], namespace=NAMESPACE, registry=registry,
        )  # fmt: skip
        self.failures = Counter(
            "failures",
            "Failures by kind: errors a requester saw, model failures the extractive "
            "fallback covered, and budget-degraded briefs.",
            ["kind"], namespace=NAMESPACE, registry=registry,
        )  # fmt: skip
        self.model_tokens = Counter(
            "model_tokens", "Model tokens used, by type (prompt, completion).", ["type"],
            namespace=NAMESPACE, registry=registry,
        )  # fmt: skip
        self.model_calls = Counter(
            "model_calls", "Model summarizations, by outcome (ok, failed).", ["outcome"],
            namespace=NAMESPACE, registry=registry,
        )  # fmt: skip
        self.fetch_bytes = Counter(
            "fetch_bytes", "Decoded page bytes fetched.", namespace=NAMESPACE, registry=registry
        )
        self.brief_latency = Histogram(
            "brief_latency_seconds", "Time from a brief request to the brief (cache hits too).",
            namespace=NAMESPACE, registry=registry, buckets=BRIEF_BUCKETS,
        )  # fmt: skip
        self.fetch_latency = Histogram(
            "fetch_latency_seconds", "Time to fetch a page, redirects included.",
            namespace=NAMESPACE, registry=registry, buckets=FETCH_BUCKETS,
        )  # fmt: skip
        self.model_latency = Histogram(
            "model_latency_seconds", "Time the model summarizer took, failures included.",
            namespace=NAMESPACE, registry=registry, buckets=MODEL_BUCKETS,
        )  # fmt: skip
        for kind in KNOWN_FAILURE_KINDS:
            self.failures.labels(kind=kind)
        for token_type in ("prompt", "completion"):
            self.model_tokens.labels(type=token_type)
        for outcome in ("ok", "failed"):
            self.model_calls.labels(outcome=outcome)
        if process_metrics:
            ProcessCollector(namespace=NAMESPACE, registry=registry)

    # --- bot.pipeline.contracts.PipelineObserver -----------------------------------

    def stage(self, url: str, stage: str) -> None:
        pass  # progress is for a person watching one link, not for counters

    def fetched(self, *, body_bytes: int, seconds: float) -> None:
        self.fetch_bytes.inc(max(0, body_bytes))
        self.fetch_latency.observe(seconds)

    def model_called(
        self, *, prompt_tokens: int, completion_tokens: int, seconds: float, failed: str = ""
    ) -> None:
        self.model_latency.observe(seconds)
        self.model_tokens.labels(type="prompt").inc(max(0, prompt_tokens))
        self.model_tokens.labels(type="completion").inc(max(0, completion_tokens))
        self.model_calls.labels(outcome="failed" if failed else "ok").inc()
        if failed:
            self.failures.labels(kind=failed).inc()

    def brief_served(self, *, mode: str, platform: str, seconds: float, cached: bool) -> None:
        self.briefs.labels(mode=mode, platform=platform).inc()
        if cached:
            self.cache_hits.labels(platform=platform).inc()
        self.brief_latency.observe(seconds)

    def failed(self, *, kind: str) -> None:
        self.failures.labels(kind=kind).inc()

    # --- exposition ------------------------------------------------------------------

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The body and Content-Type for a scrape (OpenMetrics if the scraper asks for it)."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """One sample's current value (0.0 if absent), for tests and the health report."""
        sample = self.registry.get_sample_value(name, labels or {})
        return 0.0 if sample is None else sample
