"""Article extraction and the quality gate, on the fixture pages in tests/fixtures/pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.errors import ConsentWall, EmptyPage, Paywall, UnsupportedFile
from bot.pipeline.extract import article_to_markdown, extract_article, extract_file, extract_html
from bot.pipeline.models import Article, FetchedPage
from bot.pipeline.quality import check_article

PAGES = Path(__file__).parent / "fixtures" / "pages"
BLOG_URL = "https://sunbeltdispatch.blogspot.com/2022/03/is-russia-pulling-back-to-regroup.html"
NEWS_URL = "https://www.tidewaterledger.example/news/2024/05/harbor-flood-wall"


def page(name: str, url: str, content_type: str, charset: str | None = "utf-8") -> FetchedPage:
    return FetchedPage(
        url=url,
        final_url=url,
        status=200,
        content_type=content_type,
        charset=charset,
        body=(PAGES / name).read_bytes(),
    )


@pytest.fixture(scope="module")
def blog() -> Article:
    # the page was reached through the mobile URL; the canonical link names the real one
    return extract_article(page("example_article.html", BLOG_URL + "?m=1", "text/html"))


def test_blog_metadata(blog: Article) -> None:
    assert blog.title == "Is Russia pulling back to regroup?"
    assert blog.author == "Merrill Hatcher"
    assert blog.published == "2022-03-30"
    assert blog.language == "en"
    assert blog.site == "Sun Belt Dispatch"
    assert blog.canonical_url == BLOG_URL
    assert blog.url == BLOG_URL + "?m=1"
    assert blog.source_format == "html"


def test_isw_passage_is_quoted_under_its_introduction(blog: Article) -> None:
    lines = blog.text.split("\n")
    intro = lines.index("ISW:")
    quoted = lines[intro + 1 :]
    assert quoted[0].startswith(">"), "the quote must sit right under its introducing line"
    block = []
    for line in quoted:
        if not line.startswith(">"):
            break
        block.append(line)
    passage = "\n".join(block)
    for phrase in (
        "Alexander Fomin claimed on March 29",
        "Vladimir Medinsky falsely framed",
        "Zelensky emphasized in a March 27 interview",
        "Mykhailo Podolyak said on March 29",
        "did not specify a timeline for further meetings.",
    ):
        assert phrase in passage
    assert "> ..." in block
    # every line of the quoted passage is marked, paragraphs joined by a bare ">"
    assert all(line == ">" or line.startswith("> ") for line in block)


def test_footnote_markers_survive(blog: Article) -> None:
    markers = re.findall(r"\[(\d)\]", blog.text)
    assert markers == [str(n) for n in range(1, 10)]
    assert "later this week.[1] Chief Russian negotiator" in blog.text


def test_bloggers_own_words_are_present_and_not_quoted(blog: Article) -> None:
    paragraphs = blog.text.split("\n\n")
    own = [p for p in paragraphs if p.startswith("It does appear that Russia realizes")]
    assert len(own) == 1
    assert "too weak to attack." in own[0]
    assert "Russia is also having to deal with internal opposition" in paragraphs[-1]
    assert not paragraphs[-1].startswith(">")


def test_boilerplate_never_reaches_the_text(blog: Article) -> None:
    text = blog.text
    for unwanted in (
        "Medinsky is a liar",
        "everyone knows the convoy was destroyed",
        "sirens have not stopped",
        "mud season",
        "Popular posts from this blog",
        "Should Republicans go ahead",
        "unlikely to keep insurance after Obamacare",
        "pack the Court",
        "Retired trial lawyer",
        "Blog Archive",
        "uses cookies from Google",
        "Share to Facebook",
        "Email This",
        "Next Blog",
        "Post a Comment",
        "3 comments",
        "Wednesday, March 30, 2022",
    ):
        assert unwanted not in text, unwanted


def test_links_are_the_article_body_links(blog: Article) -> None:
    isw = "https://www.understandingwar.org/backgrounder/russian-offensive-campaign-assessment-march-29"
    assert isw in blog.links
    assert not any("blogger.com/profile" in link or "showComment" in link for link in blog.links)


def test_page_words_count_the_whole_page(blog: Article) -> None:
    assert blog.page_words > blog.article_words > 500
    assert 0 < blog.reduced_by_pct < 100


def test_markdown_has_title_metadata_line_and_text(blog: Article) -> None:
    markdown = article_to_markdown(blog)
    first, _, rest = markdown.partition("\n\n")
    assert first == "# Is Russia pulling back to regroup?"
    meta_line = rest.split("\n", 1)[0]
    assert "Merrill Hatcher" in meta_line and "2022-03-30" in meta_line
    assert blog.text in markdown


def test_cookie_banner_is_dropped_and_article_kept() -> None:
    article = extract_article(page("cookie_news.html", NEWS_URL + "?utm_source=x", "text/html"))
    assert article.title == "Harbor council approves flood wall after two-year fight"
    assert article.author == "Priya Raman"
    assert article.published == "2024-05-14"
    assert article.canonical_url == NEWS_URL
    assert "voted 5-2 on Monday night" in article.text
    assert "“We are buying a wall we will be repairing for the next fifty years,” he said." in (
        article.text
    )
    for unwanted in (
        "We and our partners",
        "Accept All Cookies",
        "Manage Preferences",
        "We value your privacy",
        "Ferry adds evening runs",
        "Share on Facebook",
    ):
        assert unwanted not in article.text


def test_canonical_on_another_site_is_ignored() -> None:
    url = "https://mirror.example.net/copied/flood-wall"
    article = extract_html((PAGES / "cookie_news.html").read_bytes(), url)
    assert article.canonical_url == url


@pytest.mark.parametrize(
    ("name", "error"),
    [("consent_wall.html", ConsentWall), ("paywall.html", Paywall), ("empty.html", EmptyPage)],
)
def test_unreadable_pages_are_refused(name: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        extract_article(page(name, f"https://news.example.com/{name}", "text/html", None))


def test_pdf_is_extracted() -> None:
    article = extract_article(
        page("sample.pdf", "https://water.example.org/report.pdf", "application/pdf", None)
    )
    assert article.source_format == "pdf"
    assert article.title == "Water Board Annual Report Summary"
    assert article.author == "Eastvale Water Board"
    assert "replaced 14 miles of lead service lines in 2023" in " ".join(article.text.split())
    assert "Chair Ellen Morales said" in article.text


def test_plain_text_is_extracted() -> None:
    article = extract_article(page("plain.txt", "https://county.example.gov/heat", "text/plain"))
    assert article.source_format == "text"
    assert article.title == "County opens three new cooling centers as heat wave continues"
    assert "said the county's emergency manager, Lorraine Okafor." in article.text
    assert article.text.count("\n\n") == 4


@pytest.mark.parametrize(
    ("name", "kind", "phrase"),
    [
        ("example_article.html", "html", "Ukraine's delegation offered"),
        ("sample.pdf", "pdf", "Average household bills rose 6 percent"),
        ("plain.txt", "text", "Pets on a leash are welcome."),
    ],
)
def test_extract_file_reads_local_files(name: str, kind: str, phrase: str) -> None:
    article = extract_file(PAGES / name)
    assert article.source_format == kind
    assert phrase in " ".join(article.text.split())
    assert article.url.startswith("file://")


def test_extract_file_refuses_other_kinds(tmp_path: Path) -> None:
    document = tmp_path / "report.docx"
    document.write_bytes(b"PK\x03\x04 not really a document")
    with pytest.raises(UnsupportedFile):
        extract_file(document)


def test_real_article_about_cookies_passes_the_gate() -> None:
    text = (
        "Regulators in Brussels said on Tuesday that websites must make rejecting cookies as "
        "easy as accepting them, after a two-year review found that most consent banners "
        "steer visitors toward the accept button.\n\n"
        "The review examined 1,200 sites and found that only one in five offered a reject "
        "option on the first screen. Many hid it behind a 'manage preferences' link, the "
        "report said, and some kept tracking visitors after they withdrew consent.\n\n"
        "“Consent that is extracted by design is not consent,” said Ines Valcourt, who led "
        "the review. Advertising groups said the rules would cut revenue for small "
        "publishers, who rely on personalised ads more than large platforms do.\n\n"
        "The guidance takes effect in March. Sites that ignore it face fines of up to four "
        "percent of annual turnover, though regulators said they would first send warnings."
    )
    article = Article(url="https://news.example.eu/cookies", canonical_url="", text=text)
    check_article(article)  # must not raise


def test_gate_refuses_short_and_teaser_texts() -> None:
    with pytest.raises(EmptyPage):
        check_article(Article(url="u", canonical_url="u", text="Loading… please wait."))
    teaser = Article(
        url="u",
        canonical_url="u",
        text="The mayor resigned on Friday. Aides said the decision came suddenly.\n\n"
        "Subscribe to continue reading. Already a subscriber? Log in.",
    )
    with pytest.raises(Paywall):
        check_article(teaser)


# --- general boilerplate signals (bot.pipeline.cleanup), on pages built here ---------------

STORY = [
    "The city council voted on Monday to rebuild the old harbour bridge, ending a dispute "
    "that has split the waterfront neighbourhoods for most of the past decade.",
    "Engineers told the council that the bridge's steel deck had corroded faster than "
    "expected and that heavy lorries would have to be kept off it by next spring.",
    "Residents on the east bank, who cross the bridge to reach the only hospital in the "
    "district, packed the public gallery and applauded when the vote was announced.",
    "The work is expected to take three years and will be paid for by a regional grant, "
    "the council's finance officer said, with the city covering any overrun in costs.",
    "Opponents had argued for a tunnel instead, saying it would last longer, but the "
    "council's own study put the cost of a tunnel at nearly four times that of a bridge.",
    "Construction crews will begin clearing the approach roads in June, and a temporary "
    "ferry will carry foot passengers while the central span is being replaced.",
]


def _html(body: str) -> str:
    return (
        "<html lang='en'><head><title>Council votes to rebuild harbour bridge</title></head>"
        f"<body><header><nav><a href='/'>Home</a> <a href='/news'>News</a></nav></header>"
        f"{body}<footer><p>© 2024 The Harbour Gazette</p></footer></body></html>"
    )


def _paragraphs(texts: list[str]) -> str:
    return "".join(f"<p>{text}</p>" for text in texts)


def test_body_split_around_an_ad_is_read_whole() -> None:
    # two containers of the same class, each in its own layout box, an ad between them
    body = (
        "<main><article><h1>Council votes to rebuild harbour bridge</h1>"
        f"<div class='grid'><div class='article__body'>{_paragraphs(STORY[:3])}</div></div>"
        "<div class='ad-slot'><span>Advertisement</span></div>"
        f"<div class='grid'><div class='article__body'>{_paragraphs(STORY[3:])}</div></div>"
        "</article></main>"
    )
    text = extract_html(_html(body), "https://gazette.example/bridge").text
    positions = [text.find(paragraph) for paragraph in STORY]
    assert -1 not in positions, text
    assert positions == sorted(positions)
    assert "Advertisement" not in text


def test_list_of_other_posts_is_dropped() -> None:
    teasers = "".join(
        f"<article class='post teaser'><a href='/p/{n}'><img src='/i/{n}.jpg'></a>"
        f"<p>{subject} is the subject of another post on this site, shown here as a teaser "
        "with its first lines and a link to read the rest of it somewhere else, and it goes "
        "on for a while so that it looks like the start of a real story about the town …</p>"
        "</article>"
        for n, subject in enumerate(("The ferry timetable", "A library", "Parking", "School"))
    )
    body = (
        "<div id='primary'><article class='post full'>"
        f"<h1>Council votes to rebuild harbour bridge</h1>{_paragraphs(STORY[:3])}</article>"
        f"<article class='post more'><h3>You may like</h3>{teasers}</article></div>"
    )
    text = extract_html(_html(body), "https://gazette.example/bridge").text
    assert all(paragraph in text for paragraph in STORY[:3])
    assert "another post on this site" not in text
    assert "You may like" not in text


def test_sibling_articles_without_a_longer_one_are_kept() -> None:
    # a page that is itself a run of posts: nothing longer to prefer, so nothing is dropped
    posts = "".join(f"<article><p>{paragraph}</p></article>" for paragraph in STORY)
    text = extract_html(_html(f"<main>{posts}</main>"), "https://gazette.example/live").text
    assert sum(paragraph in text for paragraph in STORY) >= 5


def test_cross_links_prompts_and_credits_are_dropped() -> None:
    body = (
        "<article><h1>Council votes to rebuild harbour bridge</h1>"
        f"<p>{STORY[0]}</p>"
        "<p>Related: <a href='/tunnel'>Why the harbour tunnel plan was dropped</a></p>"
        f"{_paragraphs(STORY[1:3])}"
        "<p>Get the day's top stories right in your inbox. Sign up for our free newsletter.</p>"
        f"{_paragraphs(STORY[3:])}"
        "<h3>DON'T MISS</h3>"
        "<p><a href='/a'>Ferry fares to rise in the new year</a></p>"
        "<p><a href='/b'>Hospital opens a new children's ward</a></p>"
        "<p>Reporting by Jane Doe; editing by John Roe</p>"
        "<p>Email Jane Doe at jdoe@gazette.example or follow her on Twitter @janedoe.</p>"
        "</article>"
    )
    text = extract_html(_html(body), "https://gazette.example/bridge").text
    assert all(paragraph in text for paragraph in STORY), text
    for unwanted in (
        "Why the harbour tunnel plan was dropped",
        "Sign up for our free newsletter",
        "DON'T MISS",
        "Ferry fares to rise",
        "Reporting by Jane Doe",
        "jdoe@gazette.example",
    ):
        assert unwanted not in text, unwanted
    assert text.endswith(STORY[-1])


def test_reporting_about_newsletters_and_emails_is_kept() -> None:
    # the same words inside the story, or quoted, are not boilerplate
    reporting = [
        "The council said residents who sign up for its newsletter will get weekly updates "
        "on the closures, and that about 4,000 people have done so since March, according "
        "to figures released on Monday by the city's communications office, which also "
        "runs the ferry information line and the roadworks map that residents rely on.",
        "Campaigners wrote to the mayor at mayor@city.example asking for a public inquiry.",
    ]
    body = (
        f"<article><h1>Council votes to rebuild harbour bridge</h1>{_paragraphs(STORY[:3])}"
        f"<p>{reporting[0]}</p>"
        "<p>The campaign group wrote:</p>"
        "<blockquote><p>Related: the tunnel study, which the council never published.</p>"
        "</blockquote>"
        f"{_paragraphs(STORY[3:])}<p>{reporting[1]}</p><p>{STORY[0]}</p></article>"
    )
    text = extract_html(_html(body), "https://gazette.example/bridge").text
    assert reporting[0] in text
    assert reporting[1] in text  # a mid-story email, not a trailing contact line
    assert "The campaign group wrote:\n> Related: the tunnel study" in text
