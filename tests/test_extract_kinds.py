"""Extraction and the quality gate on pages nobody tuned for: unspaced scripts, short
posts, local file sizes, data-rendered pages, thread and video markup, the image."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import EmptyPage, TooLarge
from bot.pipeline.discussion import verify_point
from bot.pipeline.extract import extract_file, extract_html
from bot.pipeline.models import Article, Comment, ThreadPoint
from bot.pipeline.quality import MIN_WORDS, check_article
from bot.pipeline.video import captions_text
from bot.pipeline.wordcount import word_count
from tests.servers.article_server import PAGES_DIR as PAGES


def test_chinese_and_thai_are_counted_by_characters() -> None:
    article = extract_file(PAGES / "chinese_article.html")  # passes the gate
    assert article.text.startswith("市图书馆周二宣布")
    assert len(article.text.split()) < 10 <= MIN_WORDS < word_count(article.text)
    thai = "กรุงเทพมหานครประกาศขยายเวลาเปิดห้องสมุดประชาชนทุกแห่งจนถึงสี่ทุ่มตั้งแต่เดือนหน้า"
    assert word_count(thai) == len(thai) // 2
    assert word_count("Hello 世界 and more") == 4  # two spaced words, 世界 is one word


def test_a_few_unspaced_characters_are_still_almost_no_text() -> None:
    article = Article(
        url="https://example.cn/a", canonical_url="https://example.cn/a", text="图书馆延长开放时间"
    )
    with pytest.raises(EmptyPage):
        check_article(article)


def test_a_short_post_with_title_and_byline_is_not_refused_but_one_without_is() -> None:
    article = extract_file(PAGES / "short_post.html")
    assert article.title == "Shipping notes: 2.4 is out" and article.author == "Mira Okafor"
    assert len(article.text.split()) < MIN_WORDS
    anonymous = Article(url=article.url, canonical_url=article.url, text=article.text, title="")
    with pytest.raises(EmptyPage):
        check_article(anonymous)


def test_local_files_get_the_size_cap_urls_get(tmp_path: Path) -> None:
    page = tmp_path / "big.html"
    page.write_bytes(b"<html><body><p>" + b"word " * 5_000 + b"</p></body></html>")
    with pytest.raises(TooLarge):
        extract_file(page, max_bytes=20_000)
    assert extract_file(page, max_bytes=30_000).article_words == 5_000


def test_the_image_is_https_absolute_or_nothing() -> None:
    def image(content: str) -> str:
        html = (
            f'<html><head><meta property="og:image" content="{content}"></head><body></body></html>'
        )
        return extract_html(html, "https://news.example/story/1").image

    assert image("/img/a.jpg") == "https://news.example/img/a.jpg"
    assert image("https://cdn.example/a.jpg") == "https://cdn.example/a.jpg"
    assert image("http://cdn.example/a.jpg") == ""
    assert image("javascript:alert(1)") == ""


def test_a_body_with_text_is_not_replaced_by_its_data() -> None:
    body = " ".join(["The council met on Tuesday and talked about the budget."] * 8)
    html = (
        '<html><head><meta property="og:description" content="A teaser."></head>'
        f"<body><article><p>{body}</p></article></body></html>"
    )
    article = extract_html(html, "https://news.example/a")
    assert article.notes == [] and "council met" in article.text


def test_a_thread_point_is_verified_against_the_named_commenter_only() -> None:
    comments = [
        Comment(author="alice", text="The fix landed in 2.4 and it works for me."),
        Comment(author="bob", text="I still see the crash on ARM."),
    ]
    good = verify_point(ThreadPoint(commenter="alice", quote="The fix landed in 2.4"), comments)
    assert good.verified
    wrong = verify_point(ThreadPoint(commenter="bob", quote="The fix landed in 2.4"), comments)
    assert not wrong.verified and wrong.reason == "said by alice, not bob"
    invented = verify_point(ThreadPoint(commenter="bob", quote="It never crashed"), comments)
    assert not invented.verified and invented.reason == "quote not in the thread"


def test_caption_xml_is_read_without_entities_or_network() -> None:
    track = (
        b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<transcript><text start="0">it&amp;#39;s &x;here</text>'
        b'<text start="1">next</text></transcript>'
    )
    text = captions_text(track)
    assert "it's" in text and "root:" not in text
    assert captions_text(b"not xml") == ""


def test_an_old_reddit_thread_is_read_with_top_level_comments_apart_from_replies() -> None:
    def thing(author: str, text: str, replies: str = "") -> str:
        return (
            f'<div class="thing id-t1_{author} comment" data-author="{author}">'
            f'<div class="entry unvoted"><form class="usertext"><div class="usertext-body">'
            f'<div class="md"><p>{text}</p></div></div></form></div>'
            f'<div class="child"><div class="sitetable listing">{replies}</div></div></div>'
        )

    reply = thing("carol", "I disagree with that completely, the numbers say otherwise.")
    html = (
        '<html><body><div id="siteTable" class="sitetable linklisting">'
        '<div class="thing id-t3_x link" data-author="op" data-url="https://news.example/story">'
        '<div class="entry"><p class="title"><a class="title" href="https://news.example/story">'
        "Water board replaces lead lines</a></p></div></div></div>"
        '<div class="commentarea"><div class="sitetable nestedlisting">'
        + thing("alice", "This is the first real progress on lead pipes in a decade here.", reply)
        + thing("bob", "The bill increase will hurt people on fixed incomes the most.")
        + "</div></div></body></html>"
    )
    article = extract_html(html, "https://old.reddit.com/r/x/comments/abc/water/")
    assert article.kind == "discussion"
    assert article.linked_url == "https://news.example/story"
    assert article.title == "Water board replaces lead lines"
    assert [(c.author, c.depth) for c in article.comments] == [
        ("alice", 0),
        ("carol", 1),
        ("bob", 0),
    ]


def test_a_chinese_page_reports_its_size_in_the_same_units() -> None:
    article = extract_file(PAGES / "chinese_article.html")
    # counted by characters on both sides: the page and the article kept from it
    assert article.article_words == word_count(article.text) > 50
    assert 0 <= article.reduced_by_pct < 50


def test_a_table_row_of_links_is_navigation_and_its_links_are_not_the_articles() -> None:
    from lxml import etree

    from bot.pipeline.textformat import body_to_text

    body = etree.fromstring(
        "<body><table>"
        '<row><cell><ref target="https://site.example/">Home</ref></cell>'
        '<cell><ref target="https://site.example/news">News</ref></cell></row>'
        "<row><cell>The water board met on Tuesday.</cell>"
        '<cell>It voted 5 to 2, <ref target="https://site.example/minutes">minutes</ref>.</cell>'
        "</row></table></body>"
    )
    rendered = body_to_text(body, "https://site.example/story")
    assert "Home" not in rendered.text and "The water board met" in rendered.text
    assert rendered.links == ["https://site.example/minutes"]
