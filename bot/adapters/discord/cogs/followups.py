"""Issue 18 on Discord: questions to the bot about a brief, and the brief's buttons.

Registration and translation only; the work is ``bot.followup``:

* a message that mentions the bot, or replies to it, in the bot's thread under a
  brief (or as a reply to a brief posted without a thread) → ``FollowupService.ask``
  → the answer as a reply (once per message: a claim on its id);
* a click on a ``linkbrief:<action>:<version>`` button → ``Controls``; the clicker
  hears back privately (ephemeral). Delete needs the poster or Manage Messages.
"""

from __future__ import annotations

import logging
import re

import discord
from discord.ext import commands

from bot.adapters.discord.controls_view import CONTROLS_KEY
from bot.adapters.discord.posting import NO_MENTIONS, edit_kwargs
from bot.adapters.discord.surface import PLATFORM
from bot.app import App
from bot.errors import LinkbriefError
from bot.followup.render import (
    DELETE,
    REGENERATE,
    UP,
    answer_discord,
    parse_discord_custom_id,
    vote_text,
)
from bot.render.discord import render_discord

log = logging.getLogger(__name__)

QUESTION_CLAIM_S = 7 * 86400
_MENTION = re.compile(r"<@[!&]?\d+>")


class FollowupCog(commands.Cog):
    def __init__(self, bot: commands.Bot, app: App) -> None:
        self.bot = bot
        self.app = app

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if message.author.bot or me is None:
            return
        mentioned = any(u.id == me.id for u in message.mentions) or bool(
            re.search(rf"<@!?{me.id}>", message.content)
        )
        ref = message.reference.message_id if message.reference else None
        if not mentioned and ref is None:
            return
        channel = str(message.channel.id)
        followups = self.app.followups
        # In the bot's thread the thread is the conversation (it may not be cached as a
        # Thread); elsewhere a reply to the brief is.
        post = await followups.post_for_thread(PLATFORM, channel, channel)
        if post is None and ref is not None:
            post = await followups.post_for_thread(PLATFORM, channel, str(ref))
        if post is None:
            return  # not a conversation under one of our briefs
        thread = post.thread_id
        question = " ".join(_MENTION.sub(" ", message.content).split())
        if not question:
            return
        if not await self.app.store.claim_once(f"discord:question:{message.id}",
                                               ttl_s=QUESTION_CLAIM_S):  # fmt: skip
            return
        try:
            answer = await followups.ask(
                platform=PLATFORM, team_id=str(message.guild.id if message.guild else ""),
                channel_id=channel, thread_id=thread, user_id=str(message.author.id),
                question=question,
            )  # fmt: skip
            content = answer_discord(answer)["content"] if answer else None
        except LinkbriefError as exc:
            content = exc.message
        if content:
            await message.channel.send(
                content=content, allowed_mentions=NO_MENTIONS, mention_author=False,
                reference=message.to_reference(fail_if_not_exists=False),
            )  # fmt: skip

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type != discord.InteractionType.component or interaction.message is None:
            return
        parsed = parse_discord_custom_id(str((interaction.data or {}).get("custom_id") or ""))
        if parsed is None:
            return
        action, version = parsed
        where = {"platform": PLATFORM, "channel_id": str(interaction.message.channel.id),
                 "message_id": str(interaction.message.id)}  # fmt: skip
        user = str(interaction.user.id)
        try:
            if action == REGENERATE:
                await interaction.response.defer()  # the rebuild outlasts Discord's 3 s
                done = await self.app.controls.regenerate(**where, version=version, user_id=user)
                if done.brief is None:
                    await interaction.followup.send(done.text, ephemeral=True)
                    return
                rendered = {**render_discord(done.brief), CONTROLS_KEY: done.version}
                await interaction.message.edit(**edit_kwargs(rendered))
            elif action == DELETE:
                manager = bool(interaction.permissions.manage_messages)
                post, refusal = await self.app.controls.may_delete(**where, user_id=user,
                                                                   is_manager=manager)  # fmt: skip
                if post is None:
                    await interaction.response.send_message(refusal, ephemeral=True)
                    return
                await interaction.response.defer()
                await interaction.message.delete()
                await self.app.controls.deleted(post)
            else:
                counts = await self.app.controls.vote(**where, user_id=user,
                                                      vote=1 if action == UP else -1)  # fmt: skip
                text = vote_text(*counts) if counts else "That brief is gone."
                await interaction.response.send_message(text, ephemeral=True)
        except LinkbriefError as exc:
            if interaction.response.is_done():
                await interaction.followup.send(exc.message, ephemeral=True)
            else:
                await interaction.response.send_message(exc.message, ephemeral=True)
