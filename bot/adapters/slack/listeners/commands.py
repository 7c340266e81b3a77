"""``/linkbrief``: brief one link on demand, switch a channel's auto mode, or show help.

Slack wants an answer within three seconds, so every branch acknowledges at
once. Settings and help are answered in the acknowledgement itself (an
ephemeral reply only the caller sees). A link is briefed where everyone can
see it: the bot posts the placeholder in the channel and updates it with the
brief, exactly as for a link posted in the channel.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.adapters.slack.briefing import PLATFORM, Briefer, LinkJob


def help_text(reaction: str) -> str:
    return (
        "*linkbrief* reads a link and replies with a short brief: a summary and the key "
        "claims, each with who makes it and a quote checked against the article.\n"
        "• `/linkbrief <url>`: brief one link now, in this channel\n"
        "• `/linkbrief auto on`: brief every link posted in this channel (the default)\n"
        "• `/linkbrief auto off`: brief links only when asked\n"
        f"• react with :{reaction}: to a message: brief the links in it\n"
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


def register(bolt_app: AsyncApp, briefer: Briefer) -> None:
    store = briefer.app.store
    reaction = briefer.app.settings.slack_trigger_reaction.strip(":")
    usage = help_text(reaction)

    async def on_linkbrief(ack: AsyncAck, command: dict[str, Any]) -> None:
        text = str(command.get("text") or "").strip()
        words = text.lower().split()
        channel = str(command.get("channel_id") or "")
        if not words or words[0] == "help":
            await ack(text=usage)
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
        links = briefer.links(text)[:1]
        if not links:
            await ack(text=f"I didn't find an http(s) link in that.\n\n{usage}")
            return
        trigger_id = str(command.get("trigger_id") or "")
        job = LinkJob(
            key=command_key(channel, trigger_id, links[0]),
            channel=channel,
            url=links[0],
            response_url=command.get("response_url"),
        )
        # Persisted and started before the acknowledgement, so nothing is lost in between.
        key = f"slack:cmd:{trigger_id}"
        if await briefer.accept(key, [job]):
            briefer.start(key, [job])
        await ack()

    bolt_app.command("/linkbrief")(on_linkbrief)
