"""``/linkbrief stats``: what linkbrief did for a workspace, today (UTC) and the last 7 days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.store.followups import ActivityTotals, FollowupStore
from bot.timeutil import Clock, utc_now


@dataclass(frozen=True, slots=True)
class StatsReport:
    today: ActivityTotals
    week: ActivityTotals
    daily_budget: int  # 0: unlimited

    def lines(self, bold: str = "*") -> list[str]:
        """Plain lines; ``bold`` is the platform's strong marker ("*" Slack, "**" Discord)."""
        out = []
        for label, t, days in (("Today (UTC)", self.today, 1), ("Last 7 days", self.week, 7)):
            budget = (
                f" of {self.daily_budget * days:,}" if self.daily_budget else " (no budget set)"
            )
            out += [
                f"{bold}{label}{bold}",
                f"• briefs: {t.briefs} · questions answered: {t.questions} · links failed: "
                f"{t.failures}",
                f"• model tokens: {t.tokens:,}{budget}",
                f"• claims withheld: {_share(t.claims_withheld, t.claims_total)}",
                f"• feedback: 👍 {t.thumbs_up} · 👎 {t.thumbs_down}",
                f"• domains that failed most: {_domains(t)}",
            ]
        return out


def _share(part: int, whole: int) -> str:
    if whole == 0:
        return "none (no claims yet)"
    return f"{round(100 * part / whole)}% ({part} of {whole})"


def _domains(t: ActivityTotals) -> str:
    if not t.failed_domains:
        return "none"
    return ", ".join(f"{domain} ({n})" for domain, n in t.failed_domains)


async def workspace_stats(
    followups: FollowupStore,
    *,
    platform: str,
    team_id: str,
    daily_budget: int,
    clock: Clock = utc_now,
) -> StatsReport:
    now = clock().astimezone(UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
    today = await followups.totals(platform, team_id, midnight)
    week = await followups.totals(platform, team_id, midnight - timedelta(days=6))
    return StatsReport(today=today, week=week, daily_budget=daily_budget)
