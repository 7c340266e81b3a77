"""Quote verification against the founding example, normalisation, summary links."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.pipeline.models import Article, Draft, DraftClaim
from bot.pipeline.normalize import normalize_for_match, normalize_with_offsets
from bot.pipeline.verify import (
    REASON_EMPTY_QUOTE,
    REASON_NOT_FOUND,
    REASON_SPANS,
    REASON_SPEAKER,
    REASON_TOO_SHORT,
    clean_summary,
    verify_draft,
)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "example_article.txt"
URL = "https://example.blogspot.com/2022/03/is-russia-pulling-back-to-regroup.html"
PODOLYAK = (
    "Ukraine will sign an international agreement on security guarantees only after "
    "holding a national referendum on the issue"
)
NATO = "Kyiv will therefore likely refuse Russian demands to commit to not joining NATO"
BLOGGER = (
    "Right now their negotiating leverage is their occupation even if they are too weak to attack."
)


def example_text() -> str:
    """The fixture as the extractor hands it over: ISW's passage as ``> `` lines
    introduced by ``ISW:``, the blogger's paragraphs, nothing from "See, also" on."""
    raw = FIXTURE.read_text(encoding="utf-8")
    raw = raw[: raw.index("See, also:")]
    lines = [line.strip() for line in raw.splitlines()]
    first = lines.index("...")
    last = len(lines) - 1 - lines[::-1].index("...")
    quoted = ["> " + line if line else ">" for line in lines[first : last + 1]]
    title, intro = lines[0], lines[first - 2]
    assert intro == "ISW:"
    out = [f"# {title}", "", intro, "", *quoted, "", *lines[last + 1 :]]
    return "\n".join(out).strip() + "\n"


@pytest.fixture(scope="module")
def article() -> Article:
    return Article(
        url=URL,
        canonical_url=URL,
        text=example_text(),
        title="Is Russia pulling back to regroup?",
        site="Example Blog",
        links=["https://www.understandingwar.org/backgrounder/russian-offensive-campaign"],
    )


def claim(speaker: str, quote: str, text: str = "a claim") -> DraftClaim:
    return DraftClaim(claim=text, speaker=speaker, source="ISW", quote=quote)


# (speaker, quote, expected reason; "" = verified)
CASES: list[tuple[str, str, str]] = [
    # true claims, in the speakers' own forms
    (
        "Russian Deputy Defense Minister Alexander Fomin",
        "Russia will “drastically reduce military activity in the Kyiv and Chernihiv directions”",
        "",
    ),
    (
        "Vladimir Medinsky",
        "falsely framed this claimed withdrawal as a “huge step” toward peace that requires "
        "“counter-movement” from Ukraine",
        "",
    ),
    (
        "Russia's chief negotiator Vladimir Medinsky",
        "Russia proposed to “expedite” plans to schedule a meeting between Zelensky and Putin",
        "",
    ),
    ("Zelensky", "Ukrainian land is important, yes, but ultimately, it's just a territory", ""),
    ("Mykhailo Podolyak", PODOLYAK, ""),
    ("ISW", NATO, ""),  # named only by the block's introducer
    ("the Institute for the Study of War", NATO, ""),  # acronym of the introducer
    ("the author", "It does appear that Russia realizes how exposed its troops are near Kyiv.", ""),
    ("Example Blog", BLOGGER, ""),  # the site's own name stands for the author
    # straight quotes for curly ones, a hyphen for the en dash: still verified
    (
        "ISW",
        "The Kremlin's claimed withdrawal of forces around Kyiv, which it seeks to portray "
        'as a "huge step" towards peace',
        "",
    ),
    (
        "ISW",
        "Russian forces have been withdrawing into Belarus for rest and refit for several "
        "days - prior to the Russian announcement on March 29",
        "",
    ),
    # one word dropped ("military"): the fuzzy match verifies it
    (
        "Alexander Fomin",
        "Russia will drastically reduce activity in the Kyiv and Chernihiv directions",
        "",
    ),
    # an elided quote: both parts in the same paragraph, in order
    (
        "Zelensky",
        "Zelensky left open the possibility of conceding parts of eastern Ukraine ... "
        "without “iron-clad” security guarantees",
        "",
    ),
    ("Medinsky", "huge step", ""),  # short, but exact and Medinsky is named there
    # false claims
    ("ISW", "Russia has completely withdrawn all forces from the Kyiv region", REASON_NOT_FOUND),
    # Podolyak's words given to Medinsky: withheld, saying whose words they are
    ("Vladimir Medinsky", PODOLYAK, "said by Mykhailo Podolyak, not Vladimir Medinsky"),
    (
        "a commenter",
        "Medinsky is a liar and everyone knows the convoy was destroyed",
        REASON_NOT_FOUND,
    ),
    ("the author", NATO, REASON_SPEAKER),  # ISW's words are not the blogger's
    ("ISW", BLOGGER, REASON_SPEAKER),  # nor the blogger's ISW's
    ("Medinsky", "huge steps", REASON_TOO_SHORT),
    ("Medinsky", "  ", REASON_EMPTY_QUOTE),
    (
        "ISW",
        "treated as such by Ukraine and its partners. Kyiv remained firm that Ukraine must receive",
        REASON_SPANS,
    ),
    # close enough for a fuzzy score, but a negation added or a date changed
    (
        "Fomin",
        "Russia will not drastically reduce military activity in the Kyiv and Chernihiv directions",
        REASON_NOT_FOUND,
    ),
    ("Fomin", "Fomin claimed on March 28 that Russia will drastically reduce", REASON_NOT_FOUND),
]


def test_exactly_the_true_claims_verify_in_the_models_order(article: Article) -> None:
    draft = Draft(claims=[claim(s, q, text=f"claim {i}") for i, (s, q, _) in enumerate(CASES)])
    claims = verify_draft(article, draft)
    assert [c.claim for c in claims] == [f"claim {i}" for i in range(len(CASES))]
    got = [(c.speaker, c.reason) for c in claims]
    assert got == [(s, reason) for s, _, reason in CASES]
    assert all(c.verified == (c.reason == "") for c in claims)
    # the fields the model gave are kept as they were
    assert [c.quote for c in claims] == [q for _, q, _ in CASES]


def test_comments_and_related_posts_never_verify(article: Article) -> None:
    draft = Draft(
        claims=[
            claim("the author", "Popular posts from this blog"),
            claim("the author", "Should Republicans go ahead and add Supreme Court Justices"),
            claim("the author", "Russian Army Begins to Withdraw From Kiev to Russia"),
        ]
    )
    assert [c.verified for c in verify_draft(article, draft)] == [False, False, False]


def test_fuzzy_threshold_is_respected(article: Article) -> None:
    dropped = claim(
        "Fomin", "Russia will drastically reduce activity in the Kyiv and Chernihiv directions"
    )
    assert verify_draft(article, Draft(claims=[dropped]), fuzzy_threshold=99.5)[0].reason == (
        REASON_NOT_FOUND
    )


def test_footnote_markers_and_quote_marks_around_the_quote_are_ignored(article: Article) -> None:
    quote = (
        "\"provide details on Russia's claimed withdrawal later this week. Chief Russian "
        'negotiator Vladimir Medinsky falsely framed"'
    )
    [result] = verify_draft(article, Draft(claims=[claim("Medinsky", quote)]))
    assert result.verified, result.reason


def test_empty_claim_text_is_not_verified(article: Article) -> None:
    [result] = verify_draft(article, Draft(claims=[claim("Podolyak", PODOLYAK, text=" ")]))
    assert not result.verified


def test_a_quote_inside_a_quoted_block_needs_the_introducer_or_the_paragraph() -> None:
    text = (
        "Reuters:\n\n> The minister said the talks would resume on Monday.\n\nThe author adds more."
    )
    art = Article(url=URL, canonical_url=URL, text=text)
    quote = "the talks would resume on Monday"
    results = verify_draft(
        art, Draft(claims=[claim("Reuters", quote), claim("AP", quote), claim("the author", quote)])
    )
    # the minister speaks, as Reuters reports it: neither AP nor the blogger said it
    assert [r.reason for r in results] == [
        "",
        "said by The minister, not AP",
        "said by The minister, not the author",
    ]


# --- normalisation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("“huge step” – it’s", '"huge step" - it\'s'),
        ("«oui» — non", '"oui" - non'),
        ("wait…", "wait..."),
        ("wait . . . now", "wait... now"),
        ("zero\u200bwidth\u202e and\ufeff tags\U000e0041", "zerowidth and tags"),
        ("> quoted line\n> next", "quoted line next"),
        ("ＦＵＬＬ ｗｉｄｔｈ", "full width"),
        ("Straße", "strasse"),
        ("a\u00a0\t\n b", "a b"),
        ("Cafe\u0301", "café"),
    ],
)
def test_normalize_for_match_folds_equivalent_text(left: str, right: str) -> None:
    assert normalize_for_match(left) == normalize_for_match(right)


def test_normalize_with_offsets_maps_back_to_the_input() -> None:
    text = example_text()
    folded, offsets = normalize_with_offsets(text)
    assert folded == normalize_for_match(text)
    assert len(offsets) == len(folded)
    at = folded.index("drastically reduce")
    assert text[offsets[at] : offsets[at] + 18] == "drastically reduce"
    assert offsets == sorted(offsets)


# --- summary links --------------------------------------------------------------


def test_clean_summary_keeps_only_the_articles_links(article: Article) -> None:
    summary = (
        "ISW says the pullback is a regrouping ([ISW](https://www.understandingwar.org/backgrounder/"
        "russian-offensive-campaign)). See [this](https://evil.example/phish) and "
        "<https://evil.example/x|a spoof> or https://evil.example/raw. "
        "![tracker](https://evil.example/pixel.png) Source: " + URL + " .\n\n\n"
        "Second   paragraph <!channel> <@U123>."
    )
    cleaned = clean_summary(summary, article)
    assert "evil.example" not in cleaned
    assert "pixel" not in cleaned and "tracker" not in cleaned
    assert "See this and a spoof or ." in cleaned
    assert "understandingwar.org/backgrounder/russian-offensive-campaign" in cleaned
    assert URL in cleaned
    assert "<!channel>" not in cleaned and "<@U123>" not in cleaned
    assert "\n\n\n" not in cleaned and "Second paragraph" in cleaned


def test_clean_summary_keeps_urls_written_in_the_article_text() -> None:
    art = Article(url=URL, canonical_url=URL, text="Details at https://gov.example/report.pdf.")
    assert clean_summary("Read https://gov.example/report.pdf.", art) == (
        "Read https://gov.example/report.pdf."
    )
    assert clean_summary("Read https://gov.example/other.pdf.", art) == "Read ."


def test_normalisation_matches_the_table_definitions_on_random_text() -> None:
    """The fast paths (str.replace per character present) equal ``str.translate`` with the
    tables, on random mixes of invisible, folded, combining and ordinary characters."""
    import random
    import unicodedata

    from bot.pipeline import normalize as n

    def reference(text: str) -> str:
        text = n._QUOTE_PREFIX.sub("", text).translate(n._FOLD_TABLE)
        text = unicodedata.normalize("NFKC", text).casefold().translate(n._FOLD_TABLE)
        text = n._WHITESPACE.sub(" ", text).strip()
        return n._SPACED_ELLIPSIS.sub("... ", text).rstrip()

    rnd = random.Random(7)
    specials = [*n._STRIP_TABLE, *n._FOLD_TABLE, 0x1F600, 0xFB01, 0x212B, 0xFF02, 0x2033]
    pool = [chr(c) for c in [*specials, *range(0x300, 0x370)]] + list("ab Z.…\n\t>\"'-`")
    for _ in range(3000):
        text = "".join(rnd.choice(pool) for _ in range(rnd.randint(0, 50)))
        assert n.strip_invisible(text) == text.translate(n._STRIP_TABLE)
        assert n.normalize_for_match(text) == reference(text)
