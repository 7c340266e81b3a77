"""The offline extractive summarizer and the attribution helpers it shares with the verifier."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.pipeline.attribution import (
    AUTHOR,
    block_at,
    introducer_name,
    is_named_in,
    is_person,
    name_variants,
    speaker_key,
    split_blocks,
)
from bot.pipeline.extract import extract_article
from bot.pipeline.extractive import ExtractiveSummarizer
from bot.pipeline.models import Article, Draft, FetchedPage
from bot.pipeline.sentences import split_sentences, strip_footnotes, textrank, tfidf_vectors
from bot.pipeline.speech import find_reported_speech
from bot.pipeline.verify import verify_draft

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "example_article.txt"
PAGES = Path(__file__).parent / "fixtures" / "pages"
FOOTNOTE = re.compile(r"\[\d+\]")


def example_article() -> Article:
    """The founding example as the extractor leaves it: ISW's passage as ``> `` lines
    under its ``ISW:`` line, the blogger's paragraphs, and nothing from "See, also" on."""
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    title, body = lines[0].strip(), lines[1:]
    body = body[: next(i for i, line in enumerate(body) if line.strip().startswith("See, also"))]
    first, last = [i for i, line in enumerate(body) if line.strip() == "..."][:2]
    out = []
    for i, line in enumerate(body):
        if first <= i <= last and line.strip():
            out.append("> " + line.strip())
        else:
            out.append(line.strip())
    text = "\n".join(out).strip() + "\n"
    assert text.startswith("ISW:\n\n> ...\n> The Kremlin")
    return Article(
        url="https://blog.example/2022/03/regroup.html",
        canonical_url="https://blog.example/2022/03/regroup.html",
        text=text,
        title=title,
        site="Example Blog",
    )


@pytest.fixture(scope="module")
def article() -> Article:
    return example_article()


@pytest.fixture(scope="module")
def draft(article: Article) -> Draft:
    return ExtractiveSummarizer().summarize_sync(article)


def claim_by(draft: Draft, surname: str):
    return next(c for c in draft.claims if surname in c.speaker)


# -- the founding example --------------------------------------------------------------


async def test_mode_and_draft(article: Article) -> None:
    summarizer = ExtractiveSummarizer()
    assert summarizer.mode == "extractive"
    draft = await summarizer.summarize(article)
    assert isinstance(draft, Draft)
    assert draft.title == article.title
    assert draft.prompt_tokens == draft.completion_tokens == 0
    assert draft == summarizer.summarize_sync(article)  # deterministic


def test_claims_name_the_officials(draft: Draft) -> None:
    speakers = " | ".join(c.speaker for c in draft.claims)
    for surname in ("Fomin", "Medinsky", "Zelensky", "Podolyak"):
        assert surname in speakers
    assert claim_by(draft, "Fomin").speaker == (
        "Russian Deputy Defense Minister Colonel-General Alexander Fomin"
    )
    assert claim_by(draft, "Podolyak").speaker == "Ukrainian Presidential Advisor Mykhailo Podolyak"
    assert len(draft.claims) <= 6


def test_every_quote_stands_verbatim_in_the_article(article: Article, draft: Draft) -> None:
    assert draft.claims
    for claim in draft.claims:
        assert claim.quote in article.text
        assert not claim.quote.startswith(">")
        assert "\n" not in claim.quote


def test_claims_inside_the_isw_block_are_sourced_to_isw(article: Article, draft: Draft) -> None:
    fomin = claim_by(draft, "Fomin")
    assert fomin.source == "ISW [1]"
    assert fomin.kind == "claim"
    assert "claimed on March 29" in fomin.quote
    assert fomin.claim.startswith("Russia will “drastically reduce military activity")
    assert not FOOTNOTE.search(fomin.claim)
    podolyak = claim_by(draft, "Podolyak")
    assert podolyak.source == "ISW"  # that sentence carries no footnote marker
    for claim in draft.claims:
        if claim.speaker == AUTHOR:
            continue
        assert claim.source.split(" [")[0] == "ISW"
        # the source carries exactly the marker that follows the quoted sentence
        after = article.text[article.text.index(claim.quote) + len(claim.quote) :]
        marker = FOOTNOTE.match(after)
        assert claim.source == ("ISW " + marker.group(0) if marker else "ISW")


def test_layers_are_kept_apart(draft: Draft) -> None:
    kinds = {c.kind for c in draft.claims}
    assert {"claim", "assessment", "opinion"} <= kinds
    isw = next(c for c in draft.claims if c.kind == "assessment")
    assert isw.speaker == "ISW"
    opinion = next(c for c in draft.claims if c.kind == "opinion")
    assert opinion.speaker == AUTHOR
    assert opinion.source == "Example Blog"
    assert "It does appear" in opinion.quote


def test_distinct_speakers_first(draft: Draft) -> None:
    keys = [speaker_key(c.speaker) for c in draft.claims]
    assert len(keys) == len(set(keys))


def test_claims_pass_the_verifier(article: Article, draft: Draft) -> None:
    checked = verify_draft(article, draft)
    assert [c.reason for c in checked if not c.verified] == []


def test_summary_is_short_clean_prose(article: Article, draft: Draft) -> None:
    assert draft.summary
    assert not FOOTNOTE.search(draft.summary)
    assert 2 <= len(split_sentences(draft.summary)) <= 4
    # the main point of the ISW passage, and the blogger's own view, labelled as such
    assert "is a cover for an ongoing redeployment" in draft.summary
    assert "According to ISW, the Kremlin" in draft.summary
    assert "In the author's view, it does appear" in draft.summary
    # quotations inside summary sentences stay verbatim
    assert "“huge step”" in draft.summary


def test_summary_sentences_come_from_the_article(article: Article, draft: Draft) -> None:
    flat = strip_footnotes(article.text.replace("\n> ", " "))
    for sentence in split_sentences(draft.summary):
        text = re.sub(r"^(According to ISW, |In the author's view, )", "", sentence.text)
        assert text[1:] in flat


def test_summary_length_follows_the_setting(article: Article) -> None:
    two = ExtractiveSummarizer(summary_sentences=2).summarize_sync(article)
    assert len(split_sentences(two.summary)) == 2
    four = ExtractiveSummarizer(summary_sentences=4).summarize_sync(article)
    assert len(split_sentences(four.summary)) == 4


def test_max_claims_is_a_cap(article: Article) -> None:
    assert len(ExtractiveSummarizer(max_claims=2).summarize_sync(article).claims) == 2
    assert ExtractiveSummarizer(max_claims=0).summarize_sync(article).claims == []
    many = ExtractiveSummarizer(max_claims=20).summarize_sync(article).claims
    assert 6 < len(many) <= 20
    assert len({c.quote for c in many}) == len(many)


def test_the_real_extractor_output_gives_verified_claims() -> None:
    body = (PAGES / "example_article.html").read_bytes()
    url = "https://sunbeltdispatch.blogspot.com/2022/03/is-russia-pulling-back-to-regroup.html"
    page = FetchedPage(url, url, 200, "text/html", "utf-8", body)
    extracted = extract_article(page)
    draft = ExtractiveSummarizer().summarize_sync(extracted)
    checked = verify_draft(extracted, draft)
    assert {"Fomin", "Medinsky", "Zelensky", "Podolyak"} <= {
        c.speaker.split()[-1] for c in checked if c.verified
    }
    assert "Popular posts" not in draft.summary and "Comments" not in draft.summary


# -- other articles ----------------------------------------------------------------------


def plain(text: str, **kwargs: str) -> Article:
    return Article(
        url="https://n.example/a", canonical_url="https://n.example/a", text=text, **kwargs
    )


def test_very_short_article() -> None:
    draft = ExtractiveSummarizer().summarize_sync(plain("Short note."))
    assert draft.summary == "Short note."
    assert draft.claims == []


def test_empty_article() -> None:
    draft = ExtractiveSummarizer().summarize_sync(plain(""))
    assert draft.summary == ""
    assert draft.claims == []


def test_article_without_reporting_verbs() -> None:
    text = (
        "# Harbor wall\n\n"
        "The harbor wall was finished in May after three years of work on the east side. "
        "Boats now moor behind the wall during winter storms and the fish market opens early.\n\n"
        "The wall is four meters high and runs along the whole harbor front. "
        "Repairs to the old pier will follow next spring, when the water is calm."
    )
    article = plain(text, site="Harbor News")
    draft = ExtractiveSummarizer(summary_sentences=2).summarize_sync(article)
    sentences = split_sentences(draft.summary)
    assert len(sentences) == 2
    assert "#" not in draft.summary and not draft.summary.startswith("Harbor wall")
    # no one is quoted, so the key facts are the writer's, and not the summary again
    assert 1 <= len(draft.claims) <= 3
    for claim in draft.claims:
        assert (claim.kind, claim.speaker, claim.source) == ("fact", AUTHOR, "Harbor News")
        assert claim.quote in text
        assert claim.quote not in draft.summary
    assert all(c.verified for c in verify_draft(article, draft))


def test_news_article_claims_are_sourced_to_the_site() -> None:
    text = (
        "The city council approved the new budget on Tuesday after a long debate.\n\n"
        "Mayor Jane Okafor said the budget protects libraries and parks. "
        "She added that taxes will not rise next year.\n\n"
        "Opposition councillors warned that the plan relies on optimistic revenue forecasts."
    )
    draft = ExtractiveSummarizer().summarize_sync(plain(text, site="Tidewater Ledger"))
    assert draft.summary
    okafor = [c for c in draft.claims if "Okafor" in c.speaker]
    assert okafor and all(c.source == "Tidewater Ledger" for c in okafor)
    assert {c.speaker for c in okafor} == {"Mayor Jane Okafor"}  # "She" resolved in-paragraph
    assert any(c.speaker == "Opposition councillors" for c in draft.claims)
    assert all(c.quote in text for c in draft.claims)
    assert all(c.kind == "claim" for c in draft.claims)


# -- attribution helpers -------------------------------------------------------------------


QUOTED = (
    "Title line\n\n"
    "According to the ISW:\n"
    "> ...\n"
    "> The Kremlin said peace is near.[1] Fomin claimed a pullback.\n"
    ">\n"
    "> Kyiv remained firm.\n\n"
    "> Still quoted after a blank line.\n\n"
    "The author's own view.\n"
    "# A heading\n"
    "> An orphan quote.\n"
)


def test_split_blocks_marks_quotes_and_introducers() -> None:
    blocks = split_blocks(QUOTED)
    assert [b.quoted for b in blocks] == [False, False, True, True, True, False, False, True]
    assert [b.introducer for b in blocks] == [
        None,
        None,
        "the ISW",
        "the ISW",
        "the ISW",
        None,
        None,
        None,
    ]
    assert blocks[1].introduces and blocks[1].text == "According to the ISW:"
    assert blocks[2].text == "...\nThe Kremlin said peace is near.[1] Fomin claimed a pullback."
    assert blocks[6].heading and blocks[6].text == "# A heading"
    for block in blocks:
        for line in block.lines:
            assert QUOTED[line.start : line.start + len(line.text)] == line.text
        assert QUOTED[block.start : block.end].endswith(block.lines[-1].text)
    offset = QUOTED.index("Kyiv remained")
    assert block_at(blocks, offset) is blocks[3]
    assert block_at(blocks, QUOTED.index("\n\nThe author")) is None


def test_split_blocks_of_plain_and_empty_text() -> None:
    assert split_blocks("") == []
    assert split_blocks("\n\n  \n") == []
    blocks = split_blocks("one\ntwo\n\nthree")
    assert [b.text for b in blocks] == ["one\ntwo", "three"]
    assert not any(b.quoted or b.introducer for b in blocks)
    # a colon line followed by prose introduces nothing
    assert split_blocks("ISW:\nplain text")[0].introduces is False


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("ISW:", "ISW"),
        (" ISW:", "ISW"),
        ("According to the ISW:", "the ISW"),
        ("ISW wrote on March 29:", "ISW"),
        ("As Reuters reported:", "Reuters"),
        ("Here is the passage from the latest update by the Institute for the Study of War:",
         "Institute for the Study of War"),
        ("No colon here", None),
        (":", None),
    ],
)  # fmt: skip
def test_introducer_name(line: str, name: str | None) -> None:
    assert introducer_name(line) == name


@pytest.mark.parametrize(
    ("speaker", "expected", "absent"),
    [
        (
            "Russia's chief negotiator Vladimir Medinsky",
            {"vladimir medinsky", "medinsky", "russia's chief negotiator vladimir medinsky"},
            {"chief", "russia", "negotiator"},
        ),
        (
            "Russian Deputy Defense Minister Colonel-General Alexander Fomin",
            {"alexander fomin", "fomin"},
            {"russian", "minister", "colonel-general"},
        ),
        (
            "Ukrainian Presidential Advisor Mykhailo Podolyak",
            {"mykhailo podolyak", "podolyak"},
            {"ukrainian", "advisor"},
        ),
        ("Zelensky", {"zelensky"}, set()),
        ("The Kremlin", {"the kremlin", "kremlin"}, set()),
        ("Institute for the Study of War", {"institute for the study of war", "isw"}, {"war"}),
        ("Ukrainian officials", {"ukrainian officials"}, {"officials", "ukrainian"}),
    ],
)
def test_name_variants(speaker: str, expected: set[str], absent: set[str]) -> None:
    variants = name_variants(speaker)
    assert expected <= variants
    assert not (absent & variants)


@pytest.mark.parametrize(
    ("speaker", "text", "named"),
    [
        ("Chief Russian negotiator Vladimir Medinsky", "Medinsky stated on March 29 that", True),
        ("Medinsky", "Chief Russian negotiator Vladimir Medinsky falsely framed", True),
        ("Russia’s chief negotiator Vladimir Medinsky", "Medinsky’s team said", True),
        ("Ukrainian Presidential Advisor Mykhailo Podolyak", "PODOLYAK said", True),
        ("Ukrainian Presidential Advisor Mykhailo Podolyak", "Podolyakov said", False),
        (
            "Ukrainian Presidential Advisor Mykhailo Podolyak",
            "a Ukrainian presidential advisor",
            False,
        ),
        ("The Kremlin", "the Kremlin said", True),
        ("ISW", "which ISW assessed had failed", True),
        ("Institute for the Study of War", "ISW assessed", True),
        ("Zelensky", "Putin said", False),
        (
            "Russian Deputy Defense Minister Colonel-General Alexander Fomin",
            "Russian forces",
            False,
        ),
        ("the author", "the author thinks", False),
        ("", "anything", False),
    ],
)
def test_is_named_in(speaker: str, text: str, named: bool) -> None:
    assert is_named_in(speaker, text) is named


@pytest.mark.parametrize(
    ("speaker", "key", "person"),
    [
        ("Chief Russian negotiator Vladimir Medinsky", "medinsky", True),
        ("Medinsky", "medinsky", True),
        ("President Putin", "putin", True),
        ("The Kremlin", "kremlin", False),
        ("ISW", "isw", False),
        ("Institute for the Study of War", "isw", False),
        ("Ukrainian officials", "ukrainian officials", False),
    ],
)
def test_speaker_key_and_person(speaker: str, key: str, person: bool) -> None:
    assert speaker_key(speaker) == key
    assert is_person(speaker) is person


@pytest.mark.parametrize(
    ("sentence", "speaker", "content_start", "kind"),
    [
        ("Zelensky emphasized in a March 27 interview that Russia should return its forces.",
         "Zelensky", "Russia should return", "claim"),
        ("Podolyak, an adviser to Zelensky, said the talks went well.",
         "Podolyak", "The talks went well", "claim"),
        ("Russia and Ukraine said the talks went well on many points.",
         "Russia and Ukraine", "The talks went well", "claim"),
        ("Ukraine's delegation offered concessions but stated all Russian forces must withdraw.",
         "Ukraine's delegation", "All Russian forces", "claim"),
        ("The Kremlin is portraying failure, which ISW assessed had failed as of March 19.",
         "ISW", "The Kremlin is portraying", "assessment"),
        ("The Kremlin's claimed withdrawal is a cover.", None, None, None),
        ("Its claims were false and the plan was claimed by nobody.", None, None, None),
        ("This claimed withdrawal by Russia is a cover.", None, None, None),
        ("Medinsky's team was told to wait for instructions.", None, None, None),
        ("News reports say the deal is off for now.", "News reports", "News reports say", "claim"),
        ("Troops are moving north, according to the Pentagon.", "the Pentagon", "Troops", "claim"),
        ("We argued that the deal would fail within weeks.", AUTHOR, "The deal would fail", "opinion"),  # noqa: E501
        ("He said the talks went well today.", None, None, None),  # no one to resolve "He" to
    ],
)  # fmt: skip
def test_find_reported_speech(
    sentence: str, speaker: str | None, content_start: str | None, kind: str | None
) -> None:
    speech = find_reported_speech(sentence)
    if speaker is None:
        assert speech is None
        return
    assert speech is not None
    assert (speech.speaker, speech.kind) == (speaker, kind)
    assert speech.content.startswith(content_start)


def test_pronoun_resolves_to_previous_speaker() -> None:
    speech = find_reported_speech("She added that taxes will not rise.", "Mayor Jane Okafor")
    assert speech is not None and speech.speaker == "Mayor Jane Okafor"


# -- sentence helpers -------------------------------------------------------------------


def test_split_sentences_keeps_offsets_and_footnotes() -> None:
    text = "Gen. J. Smith met Mr. Jones in the U.S. Army base. He left.[1] “Quoted.” Then e.g. more"
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "Gen. J. Smith met Mr. Jones in the U.S. Army base.",
        "He left.[1]",
        "“Quoted.”",
        "Then e.g. more",
    ]
    assert all(text[s.start : s.end] == s.text for s in sentences)
    assert strip_footnotes("He left.[1] Then [22] more") == "He left. Then more"


def test_textrank_prefers_the_central_sentence() -> None:
    vectors = tfidf_vectors(
        [["russia", "force", "kyiv"], ["russia", "force"], ["force", "kyiv"], ["weather", "rain"]]
    )
    scores = textrank(vectors)
    assert scores.index(max(scores)) == 0
    assert scores[3] < scores[1]
    assert textrank([]) == []
