"""Issue 18: the Regenerate / thumbs / Delete buttons under a Discord brief.

Message components are built with discord.py's ``ui`` classes; their custom ids
(``linkbrief:<action>:<version>``) are all a click carries back, and the
followups cog answers them from ``on_interaction`` (no per-message view state,
so a click works after a restart).
"""

from __future__ import annotations

import discord

from bot.followup.render import DELETE, DOWN, REGENERATE, UP, discord_custom_id

CONTROLS_KEY = "controls"  # in a rendered dict: the version the buttons carry


def controls_view(version: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action, label, style in (
        (REGENERATE, "🔄 Regenerate", discord.ButtonStyle.secondary),
        (UP, "👍", discord.ButtonStyle.secondary),
        (DOWN, "👎", discord.ButtonStyle.secondary),
        (DELETE, "🗑 Delete", discord.ButtonStyle.danger),
    ):
        view.add_item(
            discord.ui.Button(
                label=label, style=style, custom_id=discord_custom_id(action, version)
            )
        )
    return view
