"""An entry's "where from" wording in every combination of feed items and channel shares.

Each row builds one story from N feed items (from distinct outlets, or the same
outlet twice) and S shares of links in the channel, runs it through the
builder's ranking and the three renderers, and checks the exact wording. The
bug this pins: a share was listed as an outlet ("also covered by shared in
this channel").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.digest.builder import SHARED_SOURCE, Candidate, rank_stories
from bot.digest.models import Digest, DigestEntry, Disagreement, DisagreementValue, SourceRef
from bot.digest.render import render_digest

NOW = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
OUTLETS = ["Harbour Herald", "Atom Times", "JSON Daily", "Bay Courier", "Quay Post", "Tide Wire"]


def _group(outlets: list[str], shares: int, *, share_of_item: bool = False) -> list[Candidate]:
    group = []
    for n, outlet in enumerate(outlets):
        url = f"https://{outlet.split()[0].lower()}.example/story-{n}"
        when = NOW - timedelta(hours=10 - n)  # listed outlets in order of publication
        group.append(
            Candidate(url, url, "Sea wall approved", "The council voted.", outlet, when, when)
        )
    if shares:
        url = group[0].url if share_of_item else "https://blog.example/sea-wall"
        group.append(Candidate(url, url, "", "", SHARED_SOURCE, None, NOW, shares=shares))
    return group


def _digest(entry: DigestEntry, language: str = "en") -> Digest:
    return Digest(
        platform="slack",
        channel_id="C1",
        day="2026-11-25",
        title="Daily digest",
        since=NOW - timedelta(days=1),
        until=NOW,
        entries=[entry],
        language=language,
    )


ROWS = [
    # outlets of the feed items, shares, markdown "where from" line
    (OUTLETS[:1], 0, "Harbour Herald"),
    (OUTLETS[:1], 1, "Harbour Herald; shared once here"),
    (OUTLETS[:1], 3, "Harbour Herald; shared 3× here"),
    (OUTLETS[:2], 0, "Harbour Herald; also covered by Atom Times"),
    (OUTLETS[:2], 1, "Harbour Herald; also covered by Atom Times; shared once here"),
    (OUTLETS[:3], 2, "Harbour Herald; also covered by Atom Times, JSON Daily; shared 2× here"),
    (
        OUTLETS[:6],
        0,
        "Harbour Herald; also covered by Atom Times, JSON Daily, Bay Courier, Quay Post, "
        "and 1 more",
    ),
    (["Harbour Herald", "Harbour Herald"], 0, "Harbour Herald"),  # one outlet, two items
    (
        ["Harbour Herald", "Harbour Herald", "Atom Times"],
        1,
        "Harbour Herald; also covered by Atom Times; shared once here",
    ),  # one outlet twice, another once, and a share
    ([], 1, "shared once here"),
    ([], 4, "shared 4× here"),
]


@pytest.mark.parametrize(("outlets", "shares", "expected"), ROWS)
def test_where_from_wording(outlets: list[str], shares: int, expected: str) -> None:
    ((entry, _),) = rank_stories([_group(outlets, shares)], NOW, 10)
    rendered = render_digest(_digest(entry))
    meta = [line.strip() for line in rendered.markdown.splitlines() if line.startswith("   _")]
    assert meta == [f"_{expected}_"]
    slack_context = rendered.slack["blocks"][-1]["elements"][0]["text"]
    assert slack_context == expected.replace("; ", " · ")
    assert f"*{expected.replace('; ', ' · ')}*" in rendered.discord["embeds"][0]["description"]
    for text in (rendered.markdown, slack_context, rendered.discord["embeds"][0]["description"]):
        assert "shared in this channel" not in text
        assert "covered by shared" not in text
    # Outlets are the entry's sources; a share never is.
    assert [s.name for s in entry.sources] == list(dict.fromkeys(outlets))
    assert entry.shares == shares


def test_a_share_of_an_item_the_feeds_also_have_is_counted_not_listed() -> None:
    ((entry, _),) = rank_stories([_group(OUTLETS[:2], 2, share_of_item=True)], NOW, 10)
    assert [s.name for s in entry.sources] == OUTLETS[:2]
    assert entry.url == "https://harbour.example/story-0"
    md = render_digest(_digest(entry)).markdown
    assert "_Harbour Herald; also covered by Atom Times; shared 2× here_" in md


def test_a_story_only_the_channel_shared_links_to_the_shared_url() -> None:
    ((entry, _),) = rank_stories([_group([], 2)], NOW, 10)
    assert entry.url == "https://blog.example/sea-wall"
    assert entry.sources == []


def test_an_old_stored_digest_listing_a_share_as_a_source_still_reads_right() -> None:
    entry = DigestEntry(
        title="Sea wall approved",
        url="https://harbour.example/1",
        line="",
        sources=[
            SourceRef(name="Harbour Herald", url="https://harbour.example/1"),
            SourceRef(name="shared in this channel", url="https://blog.example/x"),
        ],
        shares=1,
    )
    md = render_digest(_digest(entry)).markdown
    assert "_Harbour Herald; shared once here_" in md


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("de", "Harbour Herald; auch berichtet von Atom Times; hier 3× geteilt"),
        ("fr", "Harbour Herald; également traité par Atom Times; partagé 3× ici"),
        ("es", "Harbour Herald; también publicado por Atom Times; compartido 3× aquí"),
        ("ru", "Harbour Herald; также пишут Atom Times; здесь поделились 3 раза"),
    ],
)
def test_the_wording_follows_the_channel_language(language: str, expected: str) -> None:
    ((entry, _),) = rank_stories([_group(OUTLETS[:2], 3)], NOW, 10)
    md = render_digest(_digest(entry, language)).markdown
    assert f"_{expected}_" in md


def test_disagreements_are_shown_under_the_entry_on_every_platform() -> None:
    entry = DigestEntry(
        title="Council approves Front Street sea wall",
        url="https://ledger.example/1",
        line="",
        sources=[
            SourceRef(name="Tidewater Ledger", url="https://ledger.example/1"),
            SourceRef(name="Harbor <!channel> Herald", url="https://herald.example/2"),
        ],
        disagreements=[
            Disagreement(
                kind="vote",
                values=[
                    DisagreementValue(value="5–2", sources=["Tidewater Ledger"]),
                    DisagreementValue(value="6–1", sources=["Harbor <!channel> Herald"]),
                ],
            ),
            Disagreement(
                kind="count",
                subject="flights",
                values=[
                    DisagreementValue(value="14,000 flights", sources=["A"]),
                    DisagreementValue(value="14,500 flights", sources=["B"]),
                ],
            ),
        ],
    )
    rendered = render_digest(_digest(entry))
    assert "⚖ Vote: 5–2 (Tidewater Ledger) · 6–1 (Harbor" in rendered.markdown
    assert "⚖ Flights: 14,000 flights (A) · 14,500 flights (B)" in rendered.markdown
    slack = rendered.slack["blocks"][-1]["elements"][0]["text"]
    assert "⚖ Vote: 5–2 (Tidewater Ledger) · 6–1 (Harbor" in slack
    assert "<!channel>" not in slack  # outlet names are defanged like every feed text
    assert "⚖ Vote" in rendered.discord["embeds"][0]["description"]
    german = render_digest(_digest(entry, "de")).markdown
    assert "⚖ Abstimmung: 5–2 (Tidewater Ledger)" in german


def test_no_disagreement_line_when_the_outlets_agree() -> None:
    ((entry, _),) = rank_stories([_group(OUTLETS[:3], 0)], NOW, 10)
    assert entry.disagreements == []
    assert "⚖" not in render_digest(_digest(entry)).markdown
