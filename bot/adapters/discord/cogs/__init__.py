"""The bot's features, one cog each: links in messages, slash commands."""
