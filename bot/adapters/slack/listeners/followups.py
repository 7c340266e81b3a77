"""Issue 18 on Slack: questions in a brief's thread, and the buttons under every brief.

Registration and translation only; the work is ``bot.followup``:

* ``app_mention`` in a thread → ``FollowupService.ask`` → the answer in that thread
  (exactly once per message: a claim on the message's ``ts``, so the event's
  redelivery or its twin ``message`` event never answers twice);
* ``block_actions`` on ``linkbrief:*`` buttons (Socket Mode and signed HTTP alike,
  bolt checks the signature) → ``Controls``; the clicker hears back privately.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.parts import SlackParts
from bot.adapters.slack.surface import NO_UNFURL, PLATFORM
from bot.errors import LinkbriefError
from bot.followup.render import (
    ACTION_PREFIX,
    DELETE,
    REGENERATE,
    UP,
    answer_slack,
    parse_action_id,
    vote_text,
    with_slack_controls,
)
from bot.render.slack import render_slack

log = logging.getLogger(__name__)

QUESTION_CLAIM_S = 7 * 86400
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
NOT_A_BRIEF_THREAD = "Ask me in the thread of one of my briefs and I'll answer from that article."


def question_text(text: str) -> str:
    """The question without the mentions of the bot (or anyone)."""
    return " ".join(_MENTION.sub(" ", text).split())


def register(bolt_app: AsyncApp, parts: SlackParts) -> None:
    app, delivery = parts.app, parts.delivery

    async def on_mention(body: dict[str, Any], client: AsyncWebClient) -> None:
        event = body.get("event") or {}
        thread, channel = event.get("thread_ts"), str(event.get("channel") or "")
        question = question_text(str(event.get("text") or ""))
        if not thread or not channel or not question or event.get("bot_id"):
            return  # a top-level mention carries a link (briefed) or nothing to answer
        if not await app.store.claim_once(f"slack:question:{channel}:{event.get('ts')}",
                                          ttl_s=QUESTION_CLAIM_S):  # fmt: skip
            return
        delivery.spawn(answer(client, body, event, str(thread), question), name="slack-question")

    async def answer(
        client: AsyncWebClient, body: dict[str, Any], event: dict[str, Any], thread: str,
        question: str,
    ) -> None:  # fmt: skip
        channel = str(event["channel"])
        try:
            reply = await app.followups.ask(
                platform=PLATFORM, team_id=str(body.get("team_id") or event.get("team") or ""),
                channel_id=channel, thread_id=thread, user_id=str(event.get("user") or ""),
                question=question,
            )  # fmt: skip
            message = answer_slack(reply) if reply is not None else {"text": NOT_A_BRIEF_THREAD}
        except LinkbriefError as exc:
            message = {"text": exc.message}
        await client.chat_postMessage(channel=channel, thread_ts=thread, **message, **NO_UNFURL)

    async def on_action(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        for action in body.get("actions") or []:
            name = parse_action_id(str(action.get("action_id") or ""))
            if name is not None:
                delivery.spawn(control(client, body, name, str(action.get("value") or "0")),
                              name=f"slack-{name}")  # fmt: skip

    async def control(client: AsyncWebClient, body: dict[str, Any], name: str, value: str) -> None:
        channel = str((body.get("channel") or {}).get("id") or "")
        ts = str((body.get("message") or body.get("container") or {}).get("ts") or "")
        if not ts:
            ts = str((body.get("container") or {}).get("message_ts") or "")
        user = str((body.get("user") or {}).get("id") or "")
        where = {"platform": PLATFORM, "channel_id": channel, "message_id": ts}

        async def tell(text: str) -> None:
            await client.chat_postEphemeral(channel=channel, user=user, text=text)

        try:
            if name == REGENERATE:
                version = int(value) if value.isdigit() else -1
                done = await app.controls.regenerate(**where, version=version, user_id=user)
                if done.brief is None:
                    await tell(done.text)
                    return
                message = with_slack_controls(render_slack(done.brief), done.version)
                await client.chat_update(channel=channel, ts=ts, **message, **NO_UNFURL)
            elif name == DELETE:
                manager = await is_admin(client, user)
                post, refusal = await app.controls.may_delete(**where, user_id=user,
                                                              is_manager=manager)  # fmt: skip
                if post is None:
                    await tell(refusal)
                    return
                await client.chat_delete(channel=channel, ts=ts)
                await app.controls.deleted(post)
            else:
                counts = await app.controls.vote(**where, user_id=user,
                                                 vote=1 if name == UP else -1)  # fmt: skip
                if counts is not None:
                    await tell(vote_text(*counts))
        except LinkbriefError as exc:
            await tell(exc.message)

    async def is_admin(client: AsyncWebClient, user: str) -> bool:
        """Workspace admins and owners manage every channel; Slack's Web API does not
        expose per-channel managers to bots, so those are the managers we can see."""
        try:
            info = (await client.users_info(user=user)).get("user") or {}
        except SlackApiError:
            return False
        return bool(info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner"))

    bolt_app.event("app_mention")(on_mention)
    bolt_app.action(re.compile(rf"^{ACTION_PREFIX}:"))(on_action)
