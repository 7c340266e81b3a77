"""The Slack HTTP port also serves the operators' /healthz and /metrics."""

from __future__ import annotations

from pathlib import Path

from tests.slack_helpers import SlackStack, event_body, message_event


async def test_healthz_and_metrics_share_the_slack_port(tmp_path: Path) -> None:
    async with SlackStack(tmp_path) as stack:
        assert stack.http is not None and stack.front is not None
        status, _ = await stack.post_event(event_body(message_event(f"see {stack.article_url()}")))
        assert status == 200
        await stack.drain()
        base = f"http://127.0.0.1:{stack.front.port}"
        async with stack.http.get(f"{base}/healthz") as resp:
            assert resp.status == 200
            assert (await resp.json())["status"] == "ok"
        async with stack.http.get(f"{base}/metrics") as resp:
            text = await resp.text()
        assert 'linkbrief_briefs_total{mode="llm",platform="slack"} 1.0' in text
        assert "linkbrief_brief_latency_seconds_bucket" in text
