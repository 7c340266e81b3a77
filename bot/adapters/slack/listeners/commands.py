"""``/linkbrief``: brief one link on demand, switch a channel's auto mode, or show help.

Slack wants an answer within three seconds, so every branch acknowledges at
once. Settings and help are answered in the acknowledgement itself (an
ephemeral reply only the caller sees). A link is briefed where everyone can
see it: the bot posts the placeholder in the channel and updates it with the
brief, exactly as for a link posted in the channel.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.adapters.slack.links import links_of
from bot.adapters.slack.parts import SlackParts
from bot.adapters.slack.surface import PLATFORM, place
from bot.delivery import Asker, LinkJob, Request
from bot.digest.commands import handle_digest_command
from bot.digest.language import handle_language_command
from bot.errors import LinkbriefError
from bot.followup.stats import workspace_stats

log = logging.getLogger(__name__)


def help_text(reaction: str) -> str:
    return (
        "*linkbrief* reads a link and replies with a short brief: a summary and the key "
        "claims, each with who makes it and a quote checked against the article.\n"
        "• `/linkbrief <url>`: brief one link now, in this channel\n"
        "• `/linkbrief auto on`: brief every link posted in this channel (the default)\n"
        "• `/linkbrief auto off`: brief links only when asked\n"
        f"• react with :{reaction}: to a message: brief the links in it\n"
        "• `/linkbrief digest add <feed or site url>`: a daily digest in this channel "
        "(`digest help` for more)\n"
        "• `/linkbrief language de`: the bot's words in this channel in de, fr, es, ru or en\n"
        "• mention me in a brief's thread to ask about the article; "
        "`/linkbrief stats`: this workspace's figures (only you see them)\n"
        "• `/linkbrief help`: this help"
    )


def auto_text(auto: bool) -> str:
    if auto:
        return "Auto-brief is *on*: I'll brief every link posted in this channel."
    return (
        "Auto-brief is *off*: I'll brief links here only when asked "
        "(`/linkbrief <url>`, or a reaction)."
    )


def command_key(channel: str, trigger_id: str, url: str) -> str:
    return f"slack:cmd:{channel}:{trigger_id}:{url}"


async def answer_digest(
    parts: SlackParts, respond: AsyncRespond, channel: str, user: str, args: str
) -> None:
    """``/linkbrief digest …``: acknowledged already; the answer goes to the caller only."""
    try:
        reply = await handle_digest_command(parts.app, PLATFORM, channel, args, user_id=user)
    except Exception:  # a bug must still get an answer, not silence
        log.exception("slack: digest command failed")
        await respond(text=LinkbriefError().message, response_type="ephemeral")
        return
    if reply.digest is not None:
        await respond(**reply.digest.slack, response_type="ephemeral")
    else:
        await respond(text=reply.text, response_type="ephemeral")


async def stats_text(parts: SlackParts, team_id: str) -> str:
    """``/linkbrief stats`` (issue 18): the workspace's figures, for the caller only."""
    report = await workspace_stats(
        parts.app.followups.followups, platform=PLATFORM, team_id=team_id,
        daily_budget=parts.app.settings.daily_token_budget,
    )  # fmt: skip
    return "\n".join(["*linkbrief stats for this workspace*", *report.lines("*")])


def register(bolt_app: AsyncApp, parts: SlackParts) -> None:
    store, delivery = parts.app.store, parts.delivery
    reaction = parts.app.settings.slack_trigger_reaction.strip(":")
    usage = help_text(reaction)

    async def on_linkbrief(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        text = str(command.get("text") or "").strip()
        words = text.lower().split()
        channel = str(command.get("channel_id") or "")
        if not words or words[0] == "help":
            await ack(text=usage)
            return
        if words[0] == "digest":
            # Adding a feed fetches it, which can take longer than Slack's 3 s.
            await ack()
            user = str(command.get("user_id") or "")
            delivery.spawn(
                answer_digest(parts, respond, channel, user, text[len("digest") :].strip()),
                name="slack-digest-command",
            )
            return
        # issue 19: the channel's language (labels, messages, digest).
        if words[0] == "language":
            reply = await handle_language_command(parts.app, PLATFORM, channel, words[1:])
            await ack(text=reply.text)
            return
        if words[0] == "stats":  # issue 18: answered privately, in the acknowledgement
            team = str(command.get("team_id") or "")
            await ack(text=await stats_text(parts, team))
            return
        if words[0] == "auto":
            if len(words) == 2 and words[1] in ("on", "off"):
                auto = words[1] == "on"
                await store.set_channel_auto(PLATFORM, channel, auto)
                await ack(text=auto_text(auto))
            else:
                current = (await store.get_channel(PLATFORM, channel)).auto
                await ack(text=f"{auto_text(current)}\nUse `/linkbrief auto on` or `off`.")
            return
        links = links_of({"text": text}, cap=1)[0]
        if not links:
            await ack(text=f"I didn't find an http(s) link in that.\n\n{usage}")
            return
        trigger_id = str(command.get("trigger_id") or "")
        asker = Asker(str(command.get("team_id") or ""), channel, str(command.get("user_id") or ""))
        job = LinkJob(key=command_key(channel, trigger_id, links[0]), url=links[0])
        where = place(channel, None, command.get("response_url"))
        # Persisted and started before the acknowledgement, so nothing is lost in between.
        await delivery.submit(Request(f"slack:cmd:{trigger_id}", [job], asker, where))
        await ack()

    bolt_app.command("/linkbrief")(on_linkbrief)
