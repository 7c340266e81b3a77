"""The message catalogues and the bot's own words in a channel's language."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import (
    LANGUAGES,
    UnknownLanguage,
    long_date,
    normalize_language,
    translator,
)
from bot.render.common import MODE_LABELS
from bot.render.discord import EMBED_TOTAL_LIMIT, embed_size, render_discord
from bot.render.markdown import render_markdown
from bot.render.slack import MAX_BLOCKS, render_slack
from tests.test_render import huge_brief, nasty_brief, visible

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "bot" / "i18n" / "locales"
TRANSLATED = [code for code in LANGUAGES if code != "en"]
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%%")
# Messages translated through a variable rather than a literal (so not extracted).
INDIRECT = {
    *MODE_LABELS.values(),
    "Nothing new in the followed feeds or shared links since the last digest.",
}


def _catalogue(code: str):
    with (LOCALES / code / "LC_MESSAGES" / "linkbrief.po").open("rb") as fh:
        return read_po(fh, locale=code)


def _in_code() -> set[str]:
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2)}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT / "bot"), method_map=[("**.py", "python")], keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_in_the_code_is_translated_with_the_same_placeholders(code: str) -> None:
    catalog = _catalogue(code)
    ids = {m.id[0] if isinstance(m.id, tuple) else m.id: m for m in catalog if m.id}
    assert _in_code() | INDIRECT == set(ids), "catalogue and code disagree"
    for msgid, message in ids.items():
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(forms), f"{code}: untranslated {msgid!r}"
        ids_ = message.id if isinstance(message.id, tuple) else (message.id,)
        allowed = set().union(*(set(_PLACEHOLDER.findall(i)) for i in ids_))
        for n, form in enumerate(forms):
            got = set(_PLACEHOLDER.findall(form))
            # The singular may spell the number out ("once"); other forms name what the plural does.
            want = set(_PLACEHOLDER.findall(ids_[-1])) if n else allowed
            assert got <= allowed and (n == 0 or got == want), f"{code}: {form!r}"
    assert catalog.num_plurals in (2, 3)


def test_language_codes_are_normalised_and_unknown_ones_refused() -> None:
    assert normalize_language("DE") == "de"
    assert normalize_language("de-AT") == "de"
    assert normalize_language("pt_BR".replace("pt", "es")) == "es"
    with pytest.raises(UnknownLanguage):
        normalize_language("klingon")
    assert translator("klingon").gettext("Vote") == "Vote"  # unknown → English
    assert translator(None).gettext("Vote") == "Vote"


def test_plural_forms_follow_each_language() -> None:
    def stories(code: str, n: int) -> str:
        return translator(code).ngettext("%(n)d story", "%(n)d stories", n) % {"n": n}

    assert [stories("ru", n) for n in (1, 3, 5, 21)] == [
        "1 новость",
        "3 новости",
        "5 новостей",
        "21 новость",
    ]
    assert stories("fr", 0) == "0 sujet" and stories("fr", 2) == "2 sujets"
    assert stories("de", 1) == "1 Meldung" and stories("en", 1) == "1 story"


def test_dates_in_each_language() -> None:
    day = date(2026, 11, 25)
    assert long_date(day) == "Wednesday 25 November 2026"
    assert long_date(day, "de") == "Mittwoch, 25. November 2026"
    assert long_date(day, "fr") == "mercredi 25 novembre 2026"


BRIEF_LABELS = {
    "en": (
        "AI summary",
        "900-word article · 3-sentence summary · 4 claims checked, 2 withheld",
        "2 claims could not be checked",
        "(per Source-1",
    ),
    "de": (
        "KI-Zusammenfassung",
        "4 Aussagen geprüft, 2 zurückgehalten",
        "2 Aussagen ließen sich",
        "(laut Source-1",
    ),
    "fr": (
        "résumé par IA",
        "4 affirmations vérifiées, 2 écartées",
        "2 affirmations n’ont pas pu",
        "(selon Source-1",
    ),
    "es": (
        "resumen con IA",
        "4 afirmaciones comprobadas, 2 retenidas",
        "2 afirmaciones no se",
        "(según Source-1",
    ),
    "ru": (
        "сводка ИИ",
        "4 утверждения проверены, скрыто: 2",
        "2 утверждения не удалось",
        "(по данным Source-1",
    ),
}


@pytest.mark.parametrize("code", list(BRIEF_LABELS))
@pytest.mark.parametrize("render", [render_markdown, render_slack, render_discord])
def test_brief_labels_in_the_channel_language_content_untouched(code: str, render) -> None:
    seen = visible(render(nasty_brief(), code))
    for label in BRIEF_LABELS[code]:
        assert label in seen
    assert "Summary start." in seen  # the article's own words are not translated
    if code != "en":
        assert "AI summary" not in seen and "per Source-1" not in seen


@pytest.mark.parametrize("code", TRANSLATED)
def test_translated_briefs_still_fit_the_platform_limits(code: str) -> None:
    slack = render_slack(huge_brief(), code)
    assert len(slack["blocks"]) <= MAX_BLOCKS
    embed = render_discord(huge_brief(), code)["embeds"][0]
    assert embed_size(embed) <= EMBED_TOTAL_LIMIT
    assert embed["color"] == render_discord(huge_brief())["embeds"][0]["color"]
    md = render_markdown(huge_brief(), code)
    assert translator(code).gettext("Key claims") in md
