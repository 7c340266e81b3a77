"""``/linkbrief language <code>``: the channel's language, for every front end and the CLI.

    language              say which language the channel uses
    language de           the bot's labels and messages, and the digest, in German
    language default      back to English labels (content stays in the article's language)

The setting lives in the store (``channel_languages``) and needs no digest
subscription: briefs, answers and digests all read it. Replies are written in
the language just chosen, so the person sees at once what they picked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.digest.commands import CommandReply
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, UnknownLanguage, normalize_language, translator
from bot.store.digests import DigestStore

if TYPE_CHECKING:
    from bot.app import App

CLEAR_WORDS = frozenset({"default", "auto", "reset", "clear", "off"})


async def channel_language(app: App, platform: str, channel_id: str) -> str:
    """The channel's language code for the bot's own words (English when none is set)."""
    chosen = await DigestStore(app.store).channel_language(platform, channel_id)
    return chosen or DEFAULT_LANGUAGE


def _name(code: str) -> str:
    return f"{LANGUAGES[code]} ({code})"


async def handle_language_command(
    app: App, platform: str, channel_id: str, args: list[str], now: datetime | None = None
) -> CommandReply:
    """Show, set or clear the channel's language; a mistake comes back as a reply."""
    now = now or datetime.now(UTC)
    store = DigestStore(app.store)
    current = await channel_language(app, platform, channel_id)
    if not args:
        _ = translator(current).gettext
        return CommandReply(
            _("This channel's language is %(language)s.") % {"language": _name(current)}
        )
    if len(args) == 1 and args[0].lower() in CLEAR_WORDS:
        await store.set_channel_language(platform, channel_id, None, now)
        _ = translator(DEFAULT_LANGUAGE).gettext
        text = _("This channel's language is now %(language)s.")
        return CommandReply(text % {"language": _name(DEFAULT_LANGUAGE)}, ephemeral=False)
    try:
        if len(args) != 1:
            raise UnknownLanguage(" ".join(args))
        code = normalize_language(args[0])
    except UnknownLanguage as exc:
        _ = translator(current).gettext
        text = _("Unknown language “%(code)s”. Choose one of: %(choices)s.")
        return CommandReply(
            text % {"code": str(exc)[:40], "choices": ", ".join(LANGUAGES)}, ok=False
        )
    await store.set_channel_language(platform, channel_id, code, now)
    _ = translator(code).gettext
    text = _("This channel's language is now %(language)s.")
    return CommandReply(text % {"language": _name(code)}, ephemeral=False)
