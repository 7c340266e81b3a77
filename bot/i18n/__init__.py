"""The bot's own words in the channel's language: labels, digest wording, command replies.

Message catalogues are gettext ``.po`` files under ``locales/<lang>/LC_MESSAGES/
linkbrief.po``, shipped as package data and compiled in memory with Babel the
first time a language is used (no build step, no compiled files to go stale).
English is the source language: ``_("Claims")`` is the English text, and a
message missing from a catalogue falls back to it.

Content — summaries, claims, quotes, titles — stays in the article's language;
only what the bot itself writes is translated. A channel with no language set
gets English labels.

    t = translator("de")
    t.gettext("also covered by")            # "auch berichtet von"
    t.ngettext("%(n)d story", "%(n)d stories", 3) % {"n": 3}
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from functools import lru_cache
from importlib import resources

DEFAULT_LANGUAGE = "en"
LANGUAGES: dict[str, str] = {  # code → the language's own name, for replies
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "ru": "Русский",
}
# What the model is asked to write in, for a channel that chose a language.
CONTENT_LANGUAGES: dict[str, str] = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "ru": "Russian",
}
DOMAIN = "linkbrief"


class UnknownLanguage(ValueError):
    """A language code we have no catalogue for."""


def normalize_language(code: str) -> str:
    """``"DE"``, ``"de-AT"``, ``"de_DE"`` → ``"de"``; raises ``UnknownLanguage`` otherwise."""
    base = code.strip().lower().replace("_", "-").split("-")[0]
    if base not in LANGUAGES:
        raise UnknownLanguage(code)
    return base


def _catalogue(lang: str) -> bytes | None:
    # Babel is imported on first use: a channel that never changes language never loads it.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    path = resources.files(__package__) / "locales" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return None
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


@lru_cache(maxsize=len(LANGUAGES))
def translator(lang: str | None = None) -> gettext.NullTranslations:
    """The translations for ``lang`` (English, the source text, for None or unknown codes)."""
    try:
        code = normalize_language(lang or DEFAULT_LANGUAGE)
    except UnknownLanguage:
        code = DEFAULT_LANGUAGE
    compiled = None if code == DEFAULT_LANGUAGE else _catalogue(code)
    if compiled is None:
        return gettext.NullTranslations()
    return gettext.GNUTranslations(io.BytesIO(compiled))


def long_date(day: date, lang: str | None = None) -> str:
    """``Wednesday 25 November 2026`` in the language's own form (Babel's CLDR data)."""
    from babel.dates import format_date

    try:
        code = normalize_language(lang or DEFAULT_LANGUAGE)
    except UnknownLanguage:
        code = DEFAULT_LANGUAGE
    if code == DEFAULT_LANGUAGE:
        return format_date(day, format="EEEE d MMMM y", locale="en")
    return format_date(day, format="full", locale=code)


# The language of the command being answered, for code that builds a reply in
# many places (``bot.digest.commands``): set once per command, read by ``_``.
_active: ContextVar[str] = ContextVar("linkbrief_language", default=DEFAULT_LANGUAGE)


@contextmanager
def active_language(lang: str | None) -> Iterator[None]:
    """``_`` and ``ngettext`` speak ``lang`` inside this block (this task only)."""
    token = _active.set(lang or DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _active.reset(token)


def _(message: str) -> str:
    return translator(_active.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translator(_active.get()).ngettext(singular, plural, n)
