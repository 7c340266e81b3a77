"""Story merging by content, and where the outlets of a merged story disagree."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.digest.builder import Candidate, cluster_stories
from bot.digest.disagree import OutletText, disagreements
from bot.digest.stories import StoryText, group_stories, terms

WED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def cand(outlet: str, title: str, summary: str = "", url: str = "") -> Candidate:
    url = url or f"https://{outlet.lower().replace(' ', '')}.example/{abs(hash(title)) % 10**6}"
    return Candidate(url, url, title, summary, outlet, WED, WED)


SEA_WALL = [
    cand(
        "Tidewater Ledger",
        "City council approves Front Street sea wall",
        "The council voted 5–2 on Tuesday night to build the $48m sea wall along Front Street, "
        "after Mayor Dana Whitcombe said the harbour could not wait another storm season.",
    ),
    cand(
        "Harbor Herald",
        "Council OKs $52m harbour defence after late-night vote",
        "Councillors backed the Front Street sea wall 6–1 after midnight; Mayor Dana Whitcombe "
        "called the harbour defence overdue.",
    ),
    cand(
        "Bay Courier",
        "Front Street sea wall gets green light",
        "Mayor Dana Whitcombe welcomed the council's vote on the sea wall for Front Street.",
    ),
]
OTHERS = [
    cand(
        "Tidewater Ledger",
        "Front Street parade route changes for the winter festival",
        "Organisers moved the parade away from Front Street shops to the old quay.",
    ),
    cand(
        "Kyiv Post Wire",
        "Overnight shelling damages power station in Kyiv",
        "Officials in Kyiv said drones and missiles hit a power station, cutting heating.",
    ),
    cand(
        "Euro Desk",
        "Peace talks on Ukraine resume in Geneva, Kyiv delegation says",
        "Negotiators from Kyiv arrived in Geneva for a new round of talks on a ceasefire.",
    ),
    cand(
        "Harbor Herald",
        "Harbour ferry timetable for the holidays",
        "Extra sailings on weekends through January.",
    ),
]


def _titles(groups: list[list[Candidate]]) -> list[set[str]]:
    return [{c.title for c in g} for g in groups]


def test_one_event_under_different_headlines_is_one_story() -> None:
    groups = cluster_stories([*SEA_WALL, *OTHERS])
    merged = [g for g in groups if len(g) > 1]
    assert _titles(merged) == [{c.title for c in SEA_WALL}]
    # Sharing a place ("Front Street", "Kyiv") does not make two events one story.
    assert len(groups) == 1 + len(OTHERS)


def test_same_url_or_same_quotation_merge_whatever_the_wording() -> None:
    quote = "we will not let the harbour flood again this winter"
    a = cand("One", "Mayor speaks", f"“{quote}”, the mayor said.")
    b = cand("Two", "Wall vote", f"She told reporters “{quote}”.")
    c = cand("Three", "Unrelated", "", url=a.url)
    a.quotes = {quote}
    b.quotes = {quote}
    c.canonical_url = a.canonical_url
    groups = cluster_stories([a, b, c, cand("Four", "Weather for the weekend")])
    assert sorted(len(g) for g in groups) == [1, 3]


def test_series_instalments_differing_only_in_the_day_stay_apart() -> None:
    stories = [
        StoryText("Harbour tide tables for Tuesday", "High water at the harbour mouth"),
        StoryText("Harbour tide tables for Wednesday", "High water at the harbour mouth"),
    ]
    assert group_stories(stories) == [[0], [1]]


def test_one_shared_word_is_a_subject_not_a_story() -> None:
    stories = [
        StoryText("Eurozone banks' sovereign exposure hits new high"),
        StoryText("Poking the eurozone bear"),
        StoryText("Tram line opens"),
    ]
    assert group_stories(stories) == [[0], [1], [2]]


def test_names_learned_from_sentence_case_weigh_in_headline_case() -> None:
    # "Plosser" is capitalised mid-sentence in one title: a name, also in the Headline Case ones.
    stories = [
        StoryText("Fed's Plosser: Nasty Weather Has Curbed Job Growth"),
        StoryText("Fed's Plosser expects unemployment to fall by the end of the year"),
        StoryText("Plosser: Fed May Have to Accelerate Tapering Pace"),
        StoryText("Fed's Plosser: taper pace may be too slow"),
        StoryText("Tram line opens in the north of the city"),
    ]
    groups = group_stories(stories)
    assert [0, 1, 2, 3] in groups or [2, 3] in groups  # the Plosser remarks group together
    assert [4] in groups


def test_terms_fold_accents_and_skip_stopwords_in_every_language() -> None:
    got = [t for t, _ in terms("Le conseil municipal approuve la digue à Zürich")]
    assert "le" not in got and "la" not in got
    assert "zurich" in got
    assert [t for t, _ in terms("Совет одобрил дамбу в Киеве")][:1] == ["совет"]


def test_grouping_is_deterministic_and_keeps_input_order() -> None:
    batch = [*SEA_WALL, *OTHERS]
    first = [[c.title for c in g] for g in cluster_stories(batch)]
    again = [[c.title for c in g] for g in cluster_stories(list(batch))]
    assert first == again
    assert first[0] == [c.title for c in SEA_WALL]


# --- where the outlets disagree --------------------------------------------------------


def _texts() -> list[OutletText]:
    return [OutletText(c.source, f"{c.title}\n{c.summary}") for c in SEA_WALL]


def test_differing_vote_and_amount_are_shown_side_by_side() -> None:
    found = {d.kind: d for d in disagreements(_texts())}
    assert set(found) == {"vote", "amount"}
    vote = [(v.value, v.sources) for v in found["vote"].values]
    assert sorted(vote) == [("5–2", ["Tidewater Ledger"]), ("6–1", ["Harbor Herald"])]
    amounts = sorted((v.value, v.sources) for v in found["amount"].values)
    assert amounts == [("$48m", ["Tidewater Ledger"]), ("$52m", ["Harbor Herald"])]


def test_nothing_is_shown_when_outlets_agree_in_different_notation() -> None:
    texts = [
        OutletText("A", "Council approves $48m sea wall in a 5-2 vote"),
        OutletText("B", "The $48 million wall passed 5–2, the council voted"),
        OutletText("C", "Sea wall worth 48 million dollars approved"),
    ]
    assert disagreements(texts) == []


def test_an_outlet_with_two_figures_of_a_kind_contradicts_no_one() -> None:
    texts = [
        OutletText("A", "McDonald's global sales fall 0.3%; US sales down 1.4%"),
        OutletText("B", "McDonald's US sales fall 1.4 per cent in February"),
    ]
    assert disagreements(texts) == []


def test_counts_are_compared_per_thing_counted_and_years_are_not_counts() -> None:
    texts = [
        OutletText("Wire", "American cancelled 14,000 flights in February 2014"),
        OutletText("Local", "American dropped 14500 flights due to storms in 2014"),
        OutletText("Third", "Storms grounded flights; 3,000 passengers stranded"),
    ]
    (found,) = disagreements(texts)
    assert found.kind == "count" and found.subject == "flights"
    assert sorted(v.value for v in found.values) == ["14,000 flights", "14500 flights"]


def test_dates_that_differ_are_a_disagreement() -> None:
    texts = [
        OutletText("A", "The vote is set for March 10"),
        OutletText("B", "Councillors will vote on 12 March"),
    ]
    (found,) = disagreements(texts)
    assert found.kind == "date"


def test_a_shared_quotation_with_different_speakers_is_shown() -> None:
    quote = "the harbour cannot wait another storm season"
    texts = [
        OutletText("Ledger", "", quotes=[(quote, "Mayor Dana Whitcombe")]),
        OutletText("Herald", "", quotes=[(f"“{quote}.”", "Councillor Ray Ortiz")]),
        OutletText("Courier", "", quotes=[(quote, "mayor dana whitcombe")]),
    ]
    (found,) = disagreements(texts)
    assert found.kind == "speaker"
    assert {v.value: v.sources for v in found.values} == {
        "Mayor Dana Whitcombe": ["Ledger", "Courier"],
        "Councillor Ray Ortiz": ["Herald"],
    }


def test_figures_far_apart_are_different_figures_not_a_disagreement() -> None:
    texts = [
        OutletText("A", "Icahn says eBay holders lost $4 billion"),
        OutletText("B", "eBay CEO sees a $100 share price, someday"),
    ]
    assert disagreements(texts) == []
