"""Attribution you can trust, end to end (issue 14).

A scripted model answer on a debate report credits Hillary Clinton's words to Donald
Trump and Trump's words ("…," he said) to "the author". Through the real service,
with the scripted chat server and the platform fakes, both are withheld, and the
reason is given in words: in ``summarize --json``, on the console, in Slack and in
Discord. The offline summarizer names both speakers itself.

Only public entry points are used (the CLI, the Slack and Discord stacks of the
test fakes), so these tests hold whatever shape the front ends take.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.article_server import ArticleServer
from tests.servers.chat_server import ChatServer, Reply

PAGE = "/pages/debate_quotes.html"
CLINTON_QUOTE = "This deal will cost American workers their jobs, and I will not sign it"
TRUMP_QUOTE = "She has been talking about trade for thirty years and she has done nothing about it"
ANSWER = {
    "title": "Candidates trade barbs over the trade deal",
    "summary": "The trade deal dominated the last debate.",
    "claims": [
        {
            "claim": "Clinton said she would not sign the trade deal.",
            "speaker": "Hillary Clinton",
            "source": "Desert Ledger",
            "quote": CLINTON_QUOTE,
            "kind": "claim",
        },
        {  # the same words, given to the other person named in the paragraph
            "claim": "Trump said the deal would cost jobs and he would not sign it.",
            "speaker": "Donald Trump",
            "source": "Desert Ledger",
            "quote": CLINTON_QUOTE,
            "kind": "claim",
        },
        {  # Trump's words ("…," he said) given to the writer
            "claim": "The writer says Clinton has done nothing on trade.",
            "speaker": "the author",
            "source": "Desert Ledger",
            "quote": TRUMP_QUOTE,
            "kind": "opinion",
        },
    ],
}
WRONG_PERSON = "said by Hillary Clinton, not Donald Trump"
NOT_THE_AUTHOR = "said by Trump, not the author"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[ArticleServer, ChatServer]]:
    articles = ArticleServer(host="127.0.0.2")
    chat = ChatServer(default=lambda body: Reply(ANSWER))
    articles.start_in_thread()
    chat.start_in_thread()
    try:
        yield articles, chat
    finally:
        chat.stop()
        articles.stop()


def _cli(args: list[str], tmp_path: Path, chat: ChatServer | None, stdin: str = ""):
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "OPENAI_"))
    }
    env |= {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "FETCH_ALLOWED_PRIVATE_HOSTS": "127.0.0.2",
        "FETCH_TIMEOUT_S": "10",
        "SUMMARIZER": "extractive",
    }
    if chat is not None:
        env |= {
            "SUMMARIZER": "llm",
            "OPENAI_BASE_URL": chat.base_url,
            "OPENAI_API_KEY": "sk-test-not-a-real-key-000",
            "LLM_MAX_RETRIES": "0",
        }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )


def test_summarize_json_withholds_with_the_reason_in_words(servers, tmp_path: Path) -> None:
    articles, chat = servers
    result = _cli(["summarize", articles.url(PAGE), "--json"], tmp_path, chat)
    assert result.returncode == 0, result.stderr
    brief = json.loads(result.stdout)
    assert brief["mode"] == "llm"
    got = [(c["speaker"], c["verified"], c["reason"]) for c in brief["claims"]]
    assert got == [
        ("Hillary Clinton", True, ""),
        ("Donald Trump", False, WRONG_PERSON),
        ("the author", False, NOT_THE_AUTHOR),
    ]


def test_the_console_shows_the_true_claim_and_why_the_others_were_withheld(
    servers, tmp_path: Path
) -> None:
    articles, chat = servers
    result = _cli(["run"], tmp_path, chat, stdin=f"see {articles.url(PAGE)}\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Hillary Clinton" in out and "I will not sign it" in out
    assert "2 claims could not be checked against the article" in out
    assert WRONG_PERSON in out and NOT_THE_AUTHOR in out
    assert "done nothing about it" not in out  # the withheld quote is not shown


def test_the_offline_summarizer_names_both_speakers(servers, tmp_path: Path) -> None:
    articles, _ = servers
    result = _cli(["summarize", articles.url(PAGE), "--json"], tmp_path, None)
    assert result.returncode == 0, result.stderr
    brief = json.loads(result.stdout)
    assert brief["mode"] == "extractive"
    by_quote = {c["claim"]: (c["speaker"], c["verified"]) for c in brief["claims"]}
    assert by_quote[CLINTON_QUOTE] == ("Hillary Clinton", True)
    assert by_quote[TRUMP_QUOTE] == ("Trump", True)  # "he said", after "Trump shot back"


async def test_slack_withholds_and_says_why(tmp_path: Path) -> None:
    from tests.slack_helpers import SlackStack, event_body, message_event

    async with SlackStack(tmp_path) as stack:
        stack.chat.script([Reply(ANSWER)])
        url = stack.article_url(PAGE)
        status, _ = await stack.post_event(event_body(message_event(f"look <{url}>")))
        assert status == 200
        await stack.api.wait_for(lambda: len(stack.api.calls_to("chat.update")) >= 1)
        await stack.drain()
        [update] = stack.api.calls_to("chat.update")
    shown = json.dumps(update.params, ensure_ascii=False)
    assert "I will not sign it" in shown
    assert WRONG_PERSON in shown and NOT_THE_AUTHOR in shown
    assert "done nothing about it" not in shown


async def test_discord_withholds_and_says_why(tmp_path: Path) -> None:
    from tests.discord_helpers import DiscordStack

    async with DiscordStack(tmp_path, llm=True) as stack:
        assert stack.chat is not None
        stack.chat.script([Reply(ANSWER)])
        await stack.start_bot()
        message = await stack.say(f"see {stack.article_url(PAGE.rsplit('/', 1)[-1])}")
        [edit] = await stack.edits_in(message["id"])
    shown = json.dumps(edit.json, ensure_ascii=False)
    assert "I will not sign it" in shown
    assert WRONG_PERSON in shown and NOT_THE_AUTHOR in shown
    assert "done nothing about it" not in shown
