"""What every Slack listener is handed: the app, the Web API client and the delivery core."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.app import App
from bot.delivery import Delivery


@dataclass(frozen=True, slots=True)
class SlackParts:
    app: App
    client: AsyncWebClient
    delivery: Delivery
