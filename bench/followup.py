"""What a follow-up question costs the bot, beside what a brief of the same link costs.

    .venv/bin/python bench/followup.py [--rounds 60] [--json out.json]

In one process, on the founding example served by the article server (127.0.0.2)
and a real SQLite file, alternating round by round:

* **brief (extractive, fresh)**: ``BriefService.brief_article`` on the extracted
  article: summarize + verify, the CPU a brief costs once the page is in;
* **offline answer, cold**: ``offline_answer`` alone on an article not seen before
  (split into sentences, speakers found, BM25 index built, ranked, verified);
* **offline answer**: the same for a later question on that article (the sentence
  index is kept per article text);
* **model answer check**: ``checked_answer`` alone on a two-sentence model answer
  (what verifying a model's answer adds);
* **question, offline, end to end**: ``FollowupService.ask_about`` with no model:
  rate-limit counters, the kept article read from SQLite (no fetch), thread turns,
  the answer, the turn and activity writes;
* **question, model, end to end**: the same with the scripted chat server at zero
  latency through the real openai SDK over loopback.

Reported: distributions per step (ms) and the ratio of the offline question to a brief.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import dist, machine, print_dists, write_json  # noqa: E402
from bot.app import build_app  # noqa: E402
from bot.followup.answer import forget_indexes, offline_answer  # noqa: E402
from bot.followup.model import ModelAnswer, checked_answer  # noqa: E402
from tests.app_support import local_settings  # noqa: E402
from tests.servers.article_server import ArticleServer  # noqa: E402
from tests.servers.chat_server import ChatServer, Reply, brief_from_article  # noqa: E402

QUESTIONS = [
    "What did Zelensky say about territory?",
    "What did Medinsky propose?",
    "What did Putin say about sanctions?",
]
ZELENSKY = "Ukrainian land is important, yes, but ultimately, it's just a territory"
ANSWER = {"found": True, "sentences": [
    {"text": "Zelensky called land ultimately just territory.", "quote": ZELENSKY,
     "speaker": "Zelensky", "source": "ISW [8]"},
    {"text": "Medinsky proposed to expedite a meeting.", "speaker": "Medinsky", "source": "ISW",
     "quote": "Medinsky stated on March 29 that Russia proposed to “expedite” plans"},
]}  # fmt: skip


async def run(rounds: int) -> dict:
    facts = machine()
    steps = ("brief", "offline_answer_cold", "offline_answer", "model_check",
             "question_offline", "question_model")  # fmt: skip
    timings: dict[str, list[float]] = {k: [] for k in steps}
    with tempfile.TemporaryDirectory() as tmp:
        async with ArticleServer(host="127.0.0.2") as pages, ChatServer() as chat:
            # Brief requests get a brief of their article; questions get ANSWER.
            chat.default = lambda body: (
                Reply(ANSWER) if "<<<QUESTION" in str(body) else brief_from_article(body)
            )
            url = pages.url("/pages/example_article.html")
            plain = await build_app(local_settings(Path(tmp) / "a", summarizer="extractive",
                                                   rate_limit_user_per_hour=0,
                                                   rate_limit_channel_per_hour=0))  # fmt: skip
            model = await build_app(
                local_settings(
                    Path(tmp) / "b",
                    summarizer="llm",
                    openai_base_url=chat.base_url,
                    llm_max_retries=0,
                    rate_limit_user_per_hour=0,
                    rate_limit_channel_per_hour=0,
                )
            )
            try:
                await plain.service.brief_url(url)
                await model.service.brief_url(url)
                await plain.followups.settle()
                await model.followups.settle()
                article = await plain.followups.article_for(url)
                drafted = ModelAnswer.model_validate(ANSWER)
                offline_answer(article, "warm up")  # numpy and rank_bm25 imported once
                ask = {"platform": "slack", "team_id": "T", "channel_id": "C", "user_id": "U"}
                for i in range(rounds):
                    q = QUESTIONS[i % len(QUESTIONS)]
                    t = time.perf_counter()
                    await plain.service.brief_article(article)
                    timings["brief"].append(time.perf_counter() - t)
                    forget_indexes()
                    t = time.perf_counter()
                    offline_answer(article, q)
                    timings["offline_answer_cold"].append(time.perf_counter() - t)
                    t = time.perf_counter()
                    offline_answer(article, q)
                    timings["offline_answer"].append(time.perf_counter() - t)
                    t = time.perf_counter()
                    checked_answer(article, q, drafted)
                    timings["model_check"].append(time.perf_counter() - t)
                    t = time.perf_counter()
                    await plain.followups.ask_about(url, q, thread_id=f"t{i}", **ask)
                    timings["question_offline"].append(time.perf_counter() - t)
                    t = time.perf_counter()
                    await model.followups.ask_about(url, q, thread_id=f"t{i}", **ask)
                    timings["question_model"].append(time.perf_counter() - t)
                fetches = (pages.hits["/pages/example_article.html"],
                           plain.followups.fetches + model.followups.fetches)  # fmt: skip
            finally:
                await plain.aclose()
                await model.aclose()
    rows = {k: dist(v) for k, v in timings.items()}
    brief_p50 = rows["brief"]["p50_ms"] or 0
    ratio = (rows["question_offline"]["p50_ms"] or 0) / brief_p50 if brief_p50 else None
    return {"machine": facts, "rounds": rounds, "steps": rows,
            "question_offline_over_brief_p50": round(ratio, 2) if ratio else None,
            "page_fetches_and_question_fetches": fetches}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = asyncio.run(run(args.rounds))
    print(result["machine"])
    print_dists(result["steps"], ("p50_ms", "p95_ms", "max_ms"))
    print("offline question ÷ brief (p50):", result["question_offline_over_brief_p50"])
    print(
        "page fetches (both apps), of them by questions:",
        result["page_fetches_and_question_fetches"],
    )
    write_json(args.json, result)


if __name__ == "__main__":
    main()
