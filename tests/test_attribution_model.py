"""The attribution model (issue 14): who the text says said each quote, in ten languages,
and how the verifier and the offline summarizer use it."""

from __future__ import annotations

import pytest

from bot.pipeline.claim_filters import looks_like_prose, valid_speaker
from bot.pipeline.extractive import ExtractiveSummarizer
from bot.pipeline.models import Article, Draft, DraftClaim
from bot.pipeline.names import same_speaker
from bot.pipeline.quotes import find_quotes
from bot.pipeline.sentences import split_sentences
from bot.pipeline.speakers import attribute_paragraphs, display_name
from bot.pipeline.verify import verify_draft

URL = "https://news.example/a"


def speakers(*paragraphs: str) -> list[str]:
    """The display name of every quote's speaker, in order ("" for none)."""
    return [
        display_name(q.speaker) if q.speaker else ""
        for quotes in attribute_paragraphs(list(paragraphs))
        for q in quotes
    ]


# --- sentences ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text", "count"),
    [
        ("en", "Gen. Smith arrived. “It works,” he said. U.S. officials agreed.", 3),
        ("ru", "Первое предложение. Второе — объясняет Писеев. Третье.", 3),
        ("uk", "Це перше речення. Друге речення тут. Третє.", 3),
        ("cs", "Je to tak. Česko je země. Řekl to Šulgin.", 3),
        ("el", "Γεια σου. Τι κάνεις; Καλά.", 3),
        ("zh", "你好。我很好！谢谢。", 3),
        ("ar", "مرحبا. كيف حالك؟ أنا بخير.", 3),
    ],
)
def test_sentences_split_in_every_script(language: str, text: str, count: int) -> None:
    sentences = split_sentences(text, language)
    assert len(sentences) == count
    for s in sentences:
        assert text[s.start : s.end] == s.text and s.text == s.text.strip()


def test_a_footnote_marker_stays_with_its_sentence() -> None:
    text = "It was a “huge step.”[1] Then Gen. Smith left."
    assert [s.text for s in split_sentences(text)] == [
        "It was a “huge step.”[1]",
        "Then Gen. Smith left.",
    ]


# --- quotation marks ------------------------------------------------------------------


def test_quotation_marks_of_every_language_pair_up() -> None:
    text = '“One two” and „drei vier“ and « cinq six » and "seven eight" and «один „два“».'
    inner = [(text[s:e], nested) for s, e, nested in find_quotes(text)]
    assert ("One two", False) in inner
    assert ("drei vier", False) in inner
    assert (" cinq six ", False) in inner
    assert ("seven eight", False) in inner
    assert ("два", True) in inner  # a quote inside a quote


# --- who said it ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paragraphs", "expected"),
    [
        (["“CNN has done an awful job this election,” Barkley said."], ["Barkley"]),
        (["“It is what it is,” said Jason Miller, a Trump adviser."], ["Jason Miller"]),
        (["“We will win,” Figueroa told USA Today."], ["Figueroa"]),
        (["“Nothing yet,” Reid said on Friday, as Harry Truman looked on."], ["Reid"]),
        (["Lt Garcia said: “They told their son to go.”"], ["Lt Garcia"]),
        (["Pearl: “Did you hang out in the bar last night?”"], ["Pearl"]),
        (["According to Fitch, “the outlook is negative for now.”"], ["Fitch"]),
        (
            ["„Wir schaffen das schon“, sagte Bürgermeisterin Petra Hansen."],
            ["Bürgermeisterin Petra Hansen"],
        ),
        (["«Это очень важно для нас», - объясняет Писеев."], ["Писеев"]),
        (["«Ми переживаємо кризу вже сім років», - сказав експерт Ендрю Вайс."], ["Ендрю Вайс"]),
        (["„Nenecháme se dojmout touto hrou,“ řekl Barnier novinářům."], ["Barnier"]),
        (["« Je suis honoré de ce soutien » a déclaré Barack Obama."], ["Barack Obama"]),
        (
            ["«El monopolio ya está consolidado», afirmó la presidenta Cristina Kirchner."],
            ["Cristina Kirchner"],
        ),
        (["«Da almeno dieci anni», ha detto D'Alema ieri sera."], ["D'Alema"]),
        (
            ["«O diálogo é a única via», afirmou quarta-feira Teodor Malescanu."],
            ["Teodor Malescanu"],
        ),
        # subject-less Slavic cue: the person named before it
        (
            ["Czaputowicz podkreślił, że to spór. „Widzimy teraz ten spór” - zaznaczył."],
            ["Czaputowicz"],
        ),
        # pronoun → the last named person; definite role → the last named person
        (
            ["Senator Harry Reid spoke on Friday.", "“This is wrong,” he said."],
            ["Harry Reid"],
        ),
        (
            [
                "“That was just desire to win,” said Jimmy Rollins.",
                "“No one wanted the last out,” the shortstop said.",
            ],
            ["Jimmy Rollins", "Jimmy Rollins"],
        ),
        # a sentence's subject is the referent of the "he" that follows
        (
            [
                "“I will not sign it,” Hillary Clinton said, facing Donald Trump.",
                "Trump shot back. “She did nothing about it,” he said.",
            ],
            ["Hillary Clinton", "Trump"],
        ),
        # a colon line introduces the quote paragraph after it (continuation)
        (
            [
                "Jespersen was a proponent of phonosemanticism and wrote:",
                "“Is there really much more logic in it?”",
            ],
            ["Jespersen"],
        ),
        # a quote paragraph with no cue continues the speaker of the one before
        (
            [
                "“We played like champions,” United manager Alex Ferguson said.",
                "“It was a real championship performance.”",
            ],
            ["Alex Ferguson", "Alex Ferguson"],
        ),
        # the second part of a split quote
        (
            ["“The isotopes confirm it,” said Polsky, “but these traces are not dangerous.”"],
            ["Polsky", "Polsky"],
        ),
        # according to, inflected: "Podle Porošenka", "По словам Клинтон"
        (["Podle Porošenka je to „přímá hrozba pro celou Evropu a Ukrajinu“."], ["Porošenka"]),
        (["По словам Клинтон, Москва якобы «вновь пытается поддержать Трампа»."], ["Клинтон"]),
        # a scare quote is no one's statement
        (["The Kremlin called it a “huge step” toward peace talks."], [""]),
    ],
)
def test_the_reporting_structure_names_the_speaker(
    paragraphs: list[str], expected: list[str]
) -> None:
    got = speakers(*paragraphs)
    assert [g for g in got] == expected


def test_a_quote_inside_a_quote_belongs_to_who_quotes_it() -> None:
    [quotes] = attribute_paragraphs(
        ["“My father always said ‘never give up on a deal’,” Jones said."]
    )
    inner = next(q for q in quotes if q.nested)
    assert inner.text == "never give up on a deal"
    assert display_name(inner.speaker) == "Jones"


# --- names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claimed", "attributed", "same"),
    [
        ("Donald Trump", "Trump", True),
        ("Trump", "Donald Trump", True),
        ("Hillary Clinton", "Bill Clinton", False),
        ("Trump", "Pence", False),
        ("Kurz", "akademika Kurze", True),
        ("Fernando Gandra", "Fernanda Gandry", True),
        ("Liz Truss", "Liz Trussová", True),
        ("Theresa May", "Mayová", True),
        ("Putin", "Vladimírem Putinem", True),
        ("Mr. Tedeschi", "Tedeschi", True),
        ("President Biden", "Biden", True),
        ("Lee", "Leeds", False),
        ("a spokesperson", "a spokesperson with the company", True),
    ],
)
def test_a_speaker_matches_in_any_written_form(claimed: str, attributed: str, same: bool) -> None:
    assert same_speaker(claimed, attributed) is same


# --- the verifier ---------------------------------------------------------------------

DEBATE = (
    "The two candidates met on stage for the last time.\n\n"
    "“This deal will cost American workers their jobs, and I will not sign it,” "
    "Hillary Clinton said, turning to face Donald Trump.\n\n"
    "Trump shot back within seconds. “She has been talking about trade for thirty years "
    "and she has done nothing,” he said."
)
CLINTON = "This deal will cost American workers their jobs, and I will not sign it"
TRUMP = "She has been talking about trade for thirty years and she has done nothing"


def check(text: str, *claims: tuple[str, str]) -> list[str]:
    article = Article(url=URL, canonical_url=URL, text=text, site="Ledger")
    draft = Draft(claims=[DraftClaim(claim=q, speaker=s, quote=q) for s, q in claims])
    return [c.reason for c in verify_draft(article, draft)]


def test_only_the_attributed_speaker_verifies_and_the_reason_says_who() -> None:
    assert check(
        DEBATE,
        ("Hillary Clinton", CLINTON),
        ("Clinton", CLINTON),
        ("Donald Trump", CLINTON),
        ("the author", CLINTON),
        ("Trump", TRUMP),
        ("Hillary Clinton", TRUMP),
        ("the author", TRUMP),
    ) == [
        "",
        "",
        "said by Hillary Clinton, not Donald Trump",
        "said by Hillary Clinton, not the author",
        "",
        "said by Trump, not Hillary Clinton",
        "said by Trump, not the author",
    ]


def test_the_author_keeps_words_no_one_else_is_given() -> None:
    assert check(DEBATE, ("the author", "The two candidates met on stage for the last time")) == [
        ""
    ]


def test_an_inflected_name_matches_its_dictionary_form() -> None:
    text = "„Je to velký krok vpřed pro celou Evropu,“ řekl podle agentury akademik Kurz."
    text += "\n\nPodle akademika Kurze je to „velmi dobrá zpráva pro všechny země“."
    assert check(
        text,
        ("Kurz", "Je to velký krok vpřed pro celou Evropu"),
        ("Kurz", "velmi dobrá zpráva pro všechny země"),
    ) == ["", ""]


# --- the offline summarizer -----------------------------------------------------------


def claims_of(text: str, language: str = "") -> dict[str, str]:
    article = Article(url=URL, canonical_url=URL, text=text, site="Ledger", language=language)
    draft = ExtractiveSummarizer(max_claims=20).summarize_sync(article)
    verified = {c.claim for c in verify_draft(article, draft) if c.verified}
    return {c.claim: c.speaker for c in draft.claims if c.claim in verified}


def test_the_issue_examples_get_their_speakers() -> None:
    text = "\n\n".join(
        [
            "“CNN has done an awful job this election,” Barkley said.",
            "“We are proud of the campaign we ran this year,” said Jason Miller.",
            "“We have been very clear about the timeline,” Figueroa told USA Today.",
            "Senator Harry Reid spoke to reporters. “We will not back down on this,” he said.",
        ]
    )
    got = claims_of(text)
    assert got["CNN has done an awful job this election"] == "Barkley"
    assert got["We are proud of the campaign we ran this year"] == "Jason Miller"
    assert got["We have been very clear about the timeline"] == "Figueroa"
    assert got["We will not back down on this"] == "Harry Reid"


@pytest.mark.parametrize(
    ("language", "text", "speaker"),
    [
        (
            "de",
            "„Wir brauchen die Brücke noch in diesem Jahr“, sagte Bürgermeisterin Petra Hansen.",
            "Bürgermeisterin Petra Hansen",
        ),
        ("ru", "«Мы закончим работы на мосту к осени этого года», - объясняет Писеев.", "Писеев"),
        ("cs", "„Tohle je pro nás velmi důležitá zpráva,“ řekl ministr Jan Novák.", "Jan Novák"),
        (
            "pl",
            "„To jest bardzo ważna decyzja dla całego regionu” - powiedział Jan Kowalski.",
            "Jan Kowalski",
        ),
        (
            "fr",
            "« Nous allons reconstruire le pont avant l'hiver », a déclaré Marie Dupont.",
            "Marie Dupont",
        ),
    ],
)
def test_articles_in_other_languages_get_attributed_claims(
    language: str, text: str, speaker: str
) -> None:
    got = claims_of(text, language)
    assert speaker in got.values()
    assert "the author" not in got.values()


@pytest.mark.parametrize(
    "fragment",
    [
        "As",
        "But she",
        "During the",
        "We've",
        "You can",
        "and I",
        "The Wikileaks founder always",
        "BERLIN -- The European Space Agency",
        "While White House press secretary Stephanie Grisham",
    ],
)
def test_a_fragment_is_never_a_speaker(fragment: str) -> None:
    assert not valid_speaker(fragment)


@pytest.mark.parametrize(
    "speaker", ["Jimmy Rollins", "a State Department spokesperson", "Moody's", "the shortstop"]
)
def test_names_and_roles_are_speakers(speaker: str) -> None:
    assert valid_speaker(speaker)


@pytest.mark.parametrize(
    "sentence",
    [
        "Preheat the oven to 200 degrees and grease the tin.",
        "1. Stir the flour into the butter until smooth.",
        "- Add two cups of water and bring to the boil.",
        "0=__NOMAGIC__ 1=__TRAILER__ 2=obj 3=endobj 4=stream",
        "for (int i = 0; i < n; i++) { total += values[i]; }",
    ],
)
def test_steps_lists_code_and_debris_are_not_claims(sentence: str) -> None:
    assert not looks_like_prose(sentence)


def test_a_recipe_gives_no_key_claims() -> None:
    text = "\n\n".join(
        [
            "Preheat the oven to 200 degrees and grease a large baking tin.",
            "Stir the flour into the melted butter until the mixture is smooth.",
            "0=__NOMAGIC__ 1=__TRAILER__ 2=obj 3=endobj 4=stream 5=xref",
        ]
    )
    assert claims_of(text) == {}
