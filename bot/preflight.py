"""Start-up checks of the chat platforms: an unreachable service or a rejected token
is one ``ConfigError`` line (exit 3) naming the setting, before any front end runs.

Later, a connection lost while running is the client library's to retry; those
retries are logged one line each (``bot.logging_setup``), never as tracebacks.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.errors import ConfigError

log = logging.getLogger(__name__)

# Slack's answers to auth.test that mean "this token will never work".
_BAD_TOKEN = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}


def unreachable(service: str, where: str, exc: BaseException, setting: str) -> ConfigError:
    """``cannot reach Discord at discord.com:443 (Name or service not known) — …``."""
    return ConfigError(
        f"cannot reach {service} at {where} ({network_reason(exc)}) — check this machine's "
        f"network connection{f', or {setting}' if setting else ''}"
    )


def network_reason(exc: BaseException) -> str:
    """The innermost readable reason of a connection failure (DNS, refused, timeout)."""
    seen: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(seen) < 10:
        seen.append(cause)
        cause = cause.__cause__ or cause.__context__
    for candidate in reversed(seen):
        strerror = getattr(candidate, "strerror", None)
        if isinstance(strerror, str) and strerror:
            return strerror
        if isinstance(candidate, TimeoutError):
            return "timed out"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


async def check_slack(client: Any, api_base_url: str) -> None:
    """``auth.test`` once: the token is accepted and Slack's Web API is reachable.

    ``client`` is the front end's ``AsyncWebClient``; anything that is neither a
    network failure nor a token Slack refuses is left to the front end to report.
    """
    from aiohttp import ClientError
    from slack_sdk.errors import SlackApiError

    try:
        await client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error", "")) if exc.response is not None else ""
        if error in _BAD_TOKEN:
            raise ConfigError(
                f"Slack rejected SLACK_BOT_TOKEN ({error}) — copy the Bot User OAuth Token "
                "(xoxb-…) again from OAuth & Permissions, and reinstall the app if it was removed"
            ) from None
        log.warning("slack: auth.test answered %s; starting anyway", error or "an error")
    except (ClientError, OSError, TimeoutError) as exc:
        raise unreachable("Slack", api_base_url, exc, "SLACK_API_BASE_URL") from None
