"""Bolt listeners, one module per trigger; each exposes ``register(bolt_app, parts)``."""

from bot.adapters.slack.listeners import commands, followups, messages, reactions

__all__ = ["commands", "followups", "messages", "reactions"]
