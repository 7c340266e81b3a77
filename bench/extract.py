"""Extraction benchmark: linkbrief's extractor against plain trafilatura on shared pages.

Runs every extractor over the same pages in one process, single-threaded, and prints
precision, recall, F1 (word 4-gram shingles, see bench/scoring.py), pages with F1 > 0.9
and the median milliseconds per page (first page run once beforehand as a warm-up).

    .venv/bin/python bench/extract.py [--json out.json] [--eval-dir DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import trafilatura  # noqa: E402

from bench.scoring import PageScore, score_page, score_set  # noqa: E402
from bot.pipeline.extract import extract_html  # noqa: E402
from bot.pipeline.textformat import strip_markup  # noqa: E402

Extractor = Callable[[bytes, str], str]
DEFAULT_EVAL_DIR = REPO.parent / "shared" / "eval" / "extraction"


def linkbrief(html: bytes, url: str) -> str:
    # the markup linkbrief adds ("> ", "# ") is not page text; footnote markers are
    return strip_markup(extract_html(html, url).text)


def trafilatura_defaults(html: bytes, url: str) -> str:
    return trafilatura.extract(html, url=url) or ""


def trafilatura_precision(html: bytes, url: str) -> str:
    return trafilatura.extract(html, url=url, favor_precision=True, include_comments=False) or ""


EXTRACTORS: dict[str, Extractor] = {
    "linkbrief": linkbrief,
    "trafilatura defaults": trafilatura_defaults,
}
VARIANTS: dict[str, Extractor] = {
    "trafilatura favor_precision, no comments": trafilatura_precision,
}


def load_pages(eval_dir: Path) -> list[tuple[str, str, bytes, str]]:
    truth = json.loads((eval_dir / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in sorted(truth):
        html = gzip.decompress((eval_dir / "html" / f"{page_id}.html.gz").read_bytes())
        pages.append((page_id, truth[page_id]["url"], html, truth[page_id]["articleBody"]))
    return pages


def run(name: str, extractor: Extractor, pages: list[tuple[str, str, bytes, str]]) -> dict:
    extractor(pages[0][2], pages[0][1])  # warm-up: imports, compiled XPaths, caches
    scores: list[PageScore] = []
    times: list[float] = []
    per_page = {}
    for page_id, url, html, truth in pages:
        start = time.perf_counter()
        predicted = extractor(html, url)
        times.append(time.perf_counter() - start)
        score = score_page(predicted, truth)
        scores.append(score)
        per_page[page_id] = round(score.f1, 4)
    total = score_set(scores)
    return {
        "extractor": name,
        "precision": round(total.precision, 4),
        "recall": round(total.recall, 4),
        "f1": round(total.f1, 4),
        "pages_f1_above_0_9": total.pages_f1_above_09,
        "pages": total.pages,
        "ms_per_page_median": round(statistics.median(times) * 1000, 2),
        "per_page_f1": per_page,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--variants", action="store_true", help="also run trafilatura variants")
    args = parser.parse_args(argv)
    pages = load_pages(args.eval_dir)
    extractors = dict(EXTRACTORS, **(VARIANTS if args.variants else {}))
    results = [run(name, fn, pages) for name, fn in extractors.items()]
    width = max(len(name) for name in extractors)
    print(f"{'extractor':<{width}}  {'P':>6} {'R':>6} {'F1':>6}  F1>0.9  ms/page")
    for r in results:
        print(
            f"{r['extractor']:<{width}}  {r['precision']:6.3f} {r['recall']:6.3f} {r['f1']:6.3f}"
            f"  {r['pages_f1_above_0_9']:3d}/{r['pages']:<3d} {r['ms_per_page_median']:7.1f}"
        )
    if args.json:
        payload = {"pages": len(pages), "results": results}
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
