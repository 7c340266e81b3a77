"""Slash commands: ``/summarize url:``, ``/linkbrief auto on|off``, ``/linkbrief digest``
and ``/linkbrief language``.

``/linkbrief digest command:`` takes the same words as Slack's
``/linkbrief digest …`` (``add <url>``, ``list``, ``time 08:30 Europe/Berlin``,
``preview``…) and answers only the caller.

``/summarize`` is deferred at once (Discord allows 3 s for the first answer, a
brief takes longer), then answered with a follow-up. The per-channel ``auto``
setting lives in the store, so it survives restarts and is shared by every
process. Commands reach Discord only through ``linkbrief discord sync``.
"""

from __future__ import annotations

import logging
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.adapters.discord.posting import NO_MENTIONS, send_kwargs
from bot.adapters.discord.surface import PLATFORM
from bot.app import App
from bot.delivery import Asker, Delivery
from bot.digest.commands import handle_digest_command
from bot.digest.language import channel_language, handle_language_command
from bot.errors import InvalidURL, LinkbriefError
from bot.followup.stats import workspace_stats
from bot.pipeline.urls import links_in_message
from bot.render.discord import render_discord, render_discord_error

log = logging.getLogger(__name__)


class CommandsCog(commands.Cog):
    linkbrief = app_commands.Group(
        name="linkbrief",
        description="linkbrief settings for this channel",
        guild_only=True,
        # Visible to everyone, since /linkbrief stats is for whoever asks; the settings
        # below check Manage Channels themselves (Discord sets permissions per group).
    )

    def __init__(self, app: App, delivery: Delivery) -> None:
        self.app = app
        self.delivery = delivery

    @app_commands.command(name="summarize", description="Brief a link: summary and key claims")
    @app_commands.describe(url="The http(s) link to brief")
    async def summarize(self, interaction: discord.Interaction, url: str) -> None:
        # An interaction re-delivered after a RESUME must not be answered twice
        # (Discord would refuse the second callback anyway, as an invalid request).
        if not await self.app.store.claim_once(f"discord:interaction:{interaction.id}"):
            return
        await interaction.response.defer(thinking=True)
        links, _ = links_in_message(url, 1)
        if links:
            asker = Asker(
                team_id=str(interaction.guild_id or ""),
                channel_id=str(interaction.channel_id or ""),
                user_id=str(interaction.user.id),
            )
            outcome = await self.delivery.outcome(links[0], asker)
            if isinstance(outcome, LinkbriefError):
                rendered = render_discord_error(outcome.message)
            else:  # issue 19: the channel's language for the labels
                lang = await channel_language(self.app, PLATFORM, asker.channel_id)
                rendered = render_discord(outcome, lang)
        else:
            rendered = render_discord_error(InvalidURL.default_message)
        kwargs = send_kwargs(rendered)
        kwargs["content"] = kwargs["content"] or discord.utils.MISSING
        await interaction.followup.send(**kwargs)

    @linkbrief.command(name="auto", description="Brief every link posted in this channel?")
    @app_commands.describe(mode="on: brief every link; off: only /summarize")
    async def auto(self, interaction: discord.Interaction, mode: Literal["on", "off"]) -> None:
        if not await _may_change_settings(interaction):
            return
        channel = interaction.channel
        channel_id = interaction.channel_id or 0
        if isinstance(channel, discord.Thread) and channel.parent_id:
            channel_id = channel.parent_id  # threads follow their channel
        await self.app.store.set_channel_auto(PLATFORM, str(channel_id), mode == "on")
        text = (
            "I'll brief every link posted in this channel."
            if mode == "on"
            else "I'll stop briefing links here; `/summarize` still works."
        )
        await interaction.response.send_message(text, allowed_mentions=NO_MENTIONS)

    @linkbrief.command(
        name="stats", description="This server's linkbrief figures (only you see them)"
    )
    async def stats(self, interaction: discord.Interaction) -> None:
        report = await workspace_stats(
            self.app.followups.followups, platform=PLATFORM,
            team_id=str(interaction.guild_id or ""),
            daily_budget=self.app.settings.daily_token_budget,
        )  # fmt: skip
        text = "\n".join(["**linkbrief stats for this server**", *report.lines("**")])
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    # issue 19: the channel's language (labels, messages, digest).
    @linkbrief.command(name="language", description="The bot's language in this channel")
    @app_commands.describe(code="en, de, fr, es or ru; 'default' for English; empty to show")
    async def language(self, interaction: discord.Interaction, code: str = "") -> None:
        if code.strip() and not await _may_change_settings(interaction):
            return
        channel = interaction.channel
        channel_id = interaction.channel_id or 0
        if isinstance(channel, discord.Thread) and channel.parent_id:
            channel_id = channel.parent_id
        reply = await handle_language_command(self.app, PLATFORM, str(channel_id), code.split())
        await interaction.response.send_message(
            reply.text, ephemeral=reply.ephemeral, allowed_mentions=NO_MENTIONS
        )

    @linkbrief.command(name="digest", description="This channel's daily digest of feeds and links")
    @app_commands.describe(
        command="add <url> · remove <url> · list · time 08:30 Europe/Berlin · preview · stop"
    )
    async def digest(self, interaction: discord.Interaction, command: str) -> None:
        if not await _may_change_settings(interaction):
            return
        # Adding a feed fetches it: defer (privately) at once, answer in a follow-up.
        await interaction.response.defer(ephemeral=True, thinking=True)
        channel = interaction.channel
        channel_id = interaction.channel_id or 0
        if isinstance(channel, discord.Thread) and channel.parent_id:
            channel_id = channel.parent_id
        try:
            reply = await handle_digest_command(
                self.app,
                PLATFORM,
                str(channel_id),
                command,
                user_id=str(interaction.user.id),
            )
        except Exception:  # a bug still gets an answer, not "the application did not respond"
            log.exception("digest command failed")
            rendered = render_discord_error(LinkbriefError.default_message)
        else:
            rendered = reply.digest.discord if reply.digest else render_discord_text(reply.text)
        kwargs = send_kwargs(rendered)
        kwargs["content"] = kwargs["content"] or discord.utils.MISSING
        await interaction.followup.send(ephemeral=True, **kwargs)


def render_discord_text(text: str) -> dict:
    """A command's plain answer, as a message dict (the text is our own wording)."""
    return {"content": text[:2000], "embeds": []}


SETTINGS_NEED_MANAGE_CHANNELS = (
    "Changing linkbrief's settings in this channel needs the Manage Channels permission. "
    "`/linkbrief stats` and `/summarize` are open to everyone."
)


async def _may_change_settings(interaction: discord.Interaction) -> bool:
    """True for members who manage the channel; the others get a private answer."""
    if interaction.permissions.manage_channels:
        return True
    await interaction.response.send_message(
        SETTINGS_NEED_MANAGE_CHANNELS, ephemeral=True, allowed_mentions=NO_MENTIONS
    )
    return False
