"""Posting a daily digest to a Discord channel, for the digest scheduler.

The digest's idempotency key becomes the message nonce, which discord.py sends
with ``enforce_nonce``: Discord itself refuses a second message with the same
nonce for a few minutes, which covers a retake right after a crash.
"""

from __future__ import annotations

import asyncio
import hashlib

import discord

from bot.adapters.discord.posting import send_kwargs
from bot.digest.models import Digest
from bot.digest.render import render_digest
from bot.errors import LinkbriefError

READY_TIMEOUT_S = 60.0


class DiscordDigestPoster:
    def __init__(self, bot: discord.Client, *, gateway: bool = True) -> None:
        self.bot = bot
        self.gateway = gateway  # False: a REST-only login (one-shot CLI), never "ready"

    async def post_digest(self, channel_id: str, digest: Digest) -> str:
        if self.gateway:
            await asyncio.wait_for(self.bot.wait_until_ready(), READY_TIMEOUT_S)
        channel = self.bot.get_channel(int(channel_id)) or await self.bot.fetch_channel(
            int(channel_id)
        )
        if not isinstance(channel, discord.abc.Messageable):
            raise LinkbriefError(f"Discord channel {channel_id} cannot receive messages.")
        # A nonce is at most 25 characters: a digest of the key fits.
        nonce = hashlib.sha256(digest.key.encode()).hexdigest()[:25]
        message = await channel.send(**send_kwargs(render_digest(digest).discord), nonce=nonce)
        return str(message.id)
