"""The quality gate: refuse pages that are a consent wall, a paywall teaser or empty.

Conservative on purpose: a real article that merely mentions cookies or subscriptions
must pass. A page is refused only when its text is short *and* dominated by the
wall's own language, or when there is next to nothing to read.

Length is counted in words where words are separated by spaces, and by characters
where they are not (Chinese, Japanese, Thai, ...): a well-extracted Chinese article
is a handful of space-separated "words". A short post that names its title and
author is a post, not an empty page, and needs less text.
"""

from __future__ import annotations

import re

from bot.errors import ConsentWall, EmptyPage, Paywall
from bot.pipeline.models import Article
from bot.pipeline.wordcount import word_count

MIN_WORDS = 40
# A short post with a title and a byline: enough text for a sentence or two.
MIN_SHORT_POST_WORDS = 12
# Above this many words a page is an article whatever phrases it contains.
WALL_MAX_WORDS = 400
TEASER_MAX_WORDS = 250

_CONSENT_PHRASES = re.compile(
    r"\b(?:cookies?|consent|accept all|reject all|accept cookies|manage (?:preferences|"
    r"settings|options|cookies)|cookie (?:policy|settings|preferences)|privacy (?:policy|"
    r"settings|center|centre)|we and our (?:\d+ )?partners|our partners|legitimate interest|"
    r"personali[sz]ed (?:ads|content)|ad measurement|store and/or access information|"
    r"precise geolocation|device (?:characteristics|identifiers)|tracking technologies|"
    r"opt[- ]out|withdraw your consent|audience insights|iab)\b",
    re.IGNORECASE,
)
# The wall's own interface: what it asks the reader to click or agree to.
_CONSENT_ACTIONS = re.compile(
    r"\b(accept all|reject all|refuse all|i accept|agree and (?:continue|close)|manage "
    r"(?:preferences|settings|options|cookies)|we and our (?:\d+ )?partners|cookie settings|"
    r"privacy settings|withdraw your consent|store and/or access information|legitimate "
    r"interest|accept cookies|allow all)\b",
    re.IGNORECASE,
)
MIN_DISTINCT_ACTIONS = 3
_PAYWALL_PHRASES = re.compile(
    r"(?:subscribe (?:now )?to (?:continue|keep) reading|to continue reading,? (?:please )?"
    r"(?:subscribe|log ?in|sign ?in)|this (?:article|story|content) is (?:only )?(?:available )?"
    r"(?:for|to) (?:paying )?(?:subscribers|members)|(?:already|are you) a subscriber\??"
    r"[^.\n]{0,20}(?:log|sign) ?in|subscribers only|for subscribers only|become a subscriber to "
    r"(?:read|continue)|unlock (?:this|the full) (?:article|story)|start your (?:free )?trial to "
    r"(?:read|continue)|you have reached your (?:free )?article limit|read the full (?:article|"
    r"story) (?:with|by subscribing)|subscribe for full access|premium (?:article|content))",
    re.IGNORECASE,
)


def check_article(article: Article, page_text_hint: str | None = None) -> None:
    """Raise ``ConsentWall``, ``Paywall`` or ``EmptyPage`` when the article is not readable.

    ``page_text_hint`` is optional text from the whole page (e.g. what a fallback
    extractor saw); it only strengthens the consent/paywall diagnosis, never a pass.
    """
    text = article.text or ""
    count = word_count(text)
    hint = page_text_hint or ""
    if count <= WALL_MAX_WORDS and _is_consent_wall(text, count):
        raise ConsentWall()
    if count <= TEASER_MAX_WORDS and _PAYWALL_PHRASES.search(text):
        raise Paywall()
    if count < _minimum(article):
        # an empty extraction from a page that is all consent or paywall language
        if hint and _is_consent_wall(hint, len(hint.split())):
            raise ConsentWall()
        if hint and _PAYWALL_PHRASES.search(hint) and len(hint.split()) <= TEASER_MAX_WORDS * 2:
            raise Paywall()
        raise EmptyPage()


def _minimum(article: Article) -> int:
    if article.title.strip() and article.author.strip():
        return MIN_SHORT_POST_WORDS
    return MIN_WORDS


def _is_consent_wall(text: str, count: int) -> bool:
    """Mostly consent language: several of the wall's own buttons and phrases, and consent
    terms dense for the length. An article *about* cookie rules quotes one or two such
    phrases, not three distinct ones in a few hundred words."""
    if count == 0:
        return False
    actions = {match.lower() for match in _CONSENT_ACTIONS.findall(text)}
    if len(actions) < MIN_DISTINCT_ACTIONS:
        return False
    hits = len(_CONSENT_PHRASES.findall(text))
    # roughly one consent term per 25 words of text; at least four in all
    return hits >= 4 and hits * 25 >= count
