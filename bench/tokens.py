"""Token benchmark: how many prompt tokens each extraction-benchmark page costs.

Extracts every page of shared/eval/extraction/ with ``extract_html``, briefs it
with ``LLMSummarizer`` against the scripted chat server on loopback (a fake
model that answers from the article and reports usage estimated from the
request), and prints article words vs prompt tokens sent (percentiles, max),
the fixed prompt overhead, and whether any request went over MAX_INPUT_TOKENS.

    .venv/bin/python bench/tokens.py [--max-input-tokens 12000] [--json out.json]

Targets: overhead under 800 tokens, no request over MAX_INPUT_TOKENS.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.llm.client import ChatClient  # noqa: E402
from bot.llm.prompts import load_prompts  # noqa: E402
from bot.llm.summarizer import LLMSummarizer  # noqa: E402
from bot.pipeline.extract import extract_html  # noqa: E402
from tests.servers.chat_server import ChatServer, brief_from_article  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "eval" / "extraction"
OVERHEAD_TARGET = 800


def percentile(values: list[int], pct: float) -> int:
    """Nearest-rank percentile (no interpolation: every figure is a real page)."""
    if not values:
        return 0
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def load_pages(data: Path) -> list[tuple[str, str, bytes]]:
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id, entry in sorted(truth.items()):
        path = data / "html" / f"{page_id}.html.gz"
        if path.exists():
            pages.append((page_id, entry.get("url", ""), gzip.decompress(path.read_bytes())))
    return pages


async def run(data: Path, max_input_tokens: int, max_output_tokens: int) -> dict[str, Any]:
    pages = load_pages(data)
    rows: list[dict[str, Any]] = []
    async with ChatServer(default=brief_from_article) as srv:
        client = ChatClient(model="bench", base_url=srv.base_url, timeout_s=30, max_retries=0)
        summarizer = LLMSummarizer(
            client,
            load_prompts(),
            max_input_tokens=max_input_tokens,
            max_output_tokens=max_output_tokens,
        )
        overhead = summarizer.fixed_overhead_tokens()
        for page_id, url, html in pages:
            article = extract_html(html, url)
            if not article.text.strip():
                rows.append({"id": page_id, "words": 0, "requests": [], "warnings": ["empty"]})
                continue
            first = len(srv.requests)
            draft = await summarizer.summarize(article)
            sent = [r.prompt_tokens for r in srv.requests[first:]]
            rows.append(
                {
                    "id": page_id,
                    "words": article.article_words,
                    "requests": sent,
                    "warnings": draft.warnings,
                }
            )
        await client.aclose()
    briefed = [r for r in rows if r["requests"]]
    words = [r["words"] for r in briefed]
    tokens = [t for r in briefed for t in r["requests"]]
    over = [r["id"] for r in briefed if max(r["requests"]) > max_input_tokens]
    return {
        "pages": len(rows),
        "briefed": len(briefed),
        "empty": len(rows) - len(briefed),
        "max_input_tokens": max_input_tokens,
        "fixed_overhead_tokens": overhead,
        "overhead_target": OVERHEAD_TARGET,
        "article_words": _spread(words),
        "prompt_tokens": _spread(tokens),
        "requests": len(tokens),
        "pages_cut": sum(1 for r in briefed if r["warnings"] and len(r["requests"]) == 1),
        "pages_in_parts": sum(1 for r in briefed if len(r["requests"]) > 1),
        "pages_over_budget": over,
        "ok": overhead < OVERHEAD_TARGET and not over,
        "rows": rows,
    }


def _spread(values: list[int]) -> dict[str, int]:
    return {
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values, default=0),
    }


def print_table(result: dict[str, Any]) -> None:
    words, tokens = result["article_words"], result["prompt_tokens"]
    print(f"pages {result['pages']} (briefed {result['briefed']}, empty {result['empty']})")
    print(f"{'':22}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}")
    for name, spread in (("article words", words), ("prompt tokens sent", tokens)):
        cells = "".join(f"{spread[k]:>8}" for k in ("p50", "p90", "p99", "max"))
        print(f"{name:22}{cells}")
    print(
        f"fixed prompt overhead: {result['fixed_overhead_tokens']} tokens "
        f"(target < {result['overhead_target']})"
    )
    print(
        f"MAX_INPUT_TOKENS {result['max_input_tokens']}: "
        f"{len(result['pages_over_budget'])} page(s) over, "
        f"{result['pages_cut']} cut, {result['pages_in_parts']} in parts"
    )
    print("OK" if result["ok"] else "TARGET MISSED")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--max-input-tokens", type=int, default=12000)
    parser.add_argument("--max-output-tokens", type=int, default=1200)
    parser.add_argument("--json", type=Path, help="write the table (and per-page rows) here")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.data, args.max_input_tokens, args.max_output_tokens))
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
