"""Extraction benchmark: linkbrief's extractor against trafilatura and readability-lxml.

Every extractor runs over the same pages in one process, single-threaded. Scores are
precision, recall, F1 (word 4-gram shingles, see bench/scoring.py) and pages with
F1 > 0.9. Timing is interleaved: each repetition visits every page once and runs all
extractors on it back to back, in an order that rotates from page to page, so a noisy
shared machine slows them all alike. A page's time is its median over the repetitions;
the table shows the median over pages, and the time ratio of each extractor to
trafilatura's defaults is the median of the per-page ratios.

    .venv/bin/python bench/extract.py [--repeat 5] [--json out.json] [--eval-dir DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import lxml.html  # noqa: E402
import trafilatura  # noqa: E402
from readability import Document  # noqa: E402
from readability.readability import Unparseable  # noqa: E402

from bench.scoring import PageScore, score_page, score_set  # noqa: E402
from bot.pipeline.extract import extract_html  # noqa: E402
from bot.pipeline.textformat import strip_markup  # noqa: E402

Extractor = Callable[[bytes, str], str]
Page = tuple[str, str, bytes, str]  # id, url, html, true article text
DEFAULT_EVAL_DIR = REPO.parent / "shared" / "eval" / "extraction"
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
BASELINE = "trafilatura defaults"
# block elements of readability's HTML output: their text is kept apart from the next
_READABILITY_BLOCKS = frozenset(
    {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "td", "th", "blockquote"}
)


def linkbrief(html: bytes, url: str) -> str:
    # the markup linkbrief adds ("> ", "# ") is not page text; footnote markers are
    return strip_markup(extract_html(html, url).text)


def trafilatura_defaults(html: bytes, url: str) -> str:
    return trafilatura.extract(html, url=url) or ""


def trafilatura_precision(html: bytes, url: str) -> str:
    return trafilatura.extract(html, url=url, favor_precision=True, include_comments=False) or ""


def trafilatura_fast(html: bytes, url: str) -> str:
    return trafilatura.extract(html, url=url, fast=True) or ""


def readability_lxml(html: bytes, url: str) -> str:
    try:
        summary = Document(html, url=url).summary(html_partial=True)
    except Unparseable:  # a page it cannot read counts as an empty extraction
        return ""
    if not summary.strip():
        return ""
    # a control character in the page would stop lxml from setting the tails below
    summary = _CONTROL_CHARS.sub("", summary)
    root = lxml.html.fragment_fromstring(summary, create_parent="div")
    for element in root.iter():
        if element.tag in _READABILITY_BLOCKS:
            element.tail = "\n" + (element.tail or "")
    return root.text_content().strip()


EXTRACTORS: dict[str, Extractor] = {
    "linkbrief": linkbrief,
    BASELINE: trafilatura_defaults,
    "trafilatura favor_precision, no comments": trafilatura_precision,
    "readability-lxml": readability_lxml,
}
VARIANTS: dict[str, Extractor] = {
    "trafilatura fast": trafilatura_fast,
}


def load_pages(eval_dir: Path) -> list[Page]:
    truth = json.loads((eval_dir / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in sorted(truth):
        html = gzip.decompress((eval_dir / "html" / f"{page_id}.html.gz").read_bytes())
        pages.append((page_id, truth[page_id]["url"], html, truth[page_id]["articleBody"]))
    return pages


def measure(
    extractors: dict[str, Extractor], pages: list[Page], repeat: int
) -> tuple[dict[str, list[str]], dict[str, list[float]]]:
    """Outputs of the first repetition and each page's median seconds, per extractor."""
    names = list(extractors)
    for fn in extractors.values():
        fn(pages[0][2], pages[0][1])  # warm-up: imports, compiled XPaths, caches
    outputs: dict[str, list[str]] = {name: [] for name in names}
    samples: dict[str, list[list[float]]] = {name: [[] for _ in pages] for name in names}
    for rep in range(repeat):
        for index, (_, url, html, _) in enumerate(pages):
            shift = (index + rep) % len(names)
            for name in names[shift:] + names[:shift]:
                start = time.perf_counter()
                text = extractors[name](html, url)
                samples[name][index].append(time.perf_counter() - start)
                if rep == 0:
                    outputs[name].append(text)
    times = {name: [statistics.median(s) for s in samples[name]] for name in names}
    return outputs, times


def summarise(
    name: str, outputs: list[str], times: list[float], base: list[float] | None, pages: list[Page]
) -> dict:
    scores: list[PageScore] = [
        score_page(text, truth) for text, (_, _, _, truth) in zip(outputs, pages, strict=True)
    ]
    total = score_set(scores)
    ratio = (
        statistics.median(t / b for t, b in zip(times, base, strict=True) if b > 0)
        if base
        else None
    )
    return {
        "extractor": name,
        "precision": round(total.precision, 4),
        "recall": round(total.recall, 4),
        "f1": round(total.f1, 4),
        "pages_f1_above_0_9": total.pages_f1_above_09,
        "pages": total.pages,
        "ms_per_page_median": round(statistics.median(times) * 1000, 2),
        "ms_total": round(sum(times) * 1000, 1),
        "time_ratio_vs_trafilatura_defaults": round(ratio, 3) if ratio is not None else None,
        "per_page": {
            page_id: {
                "precision": round(score.precision, 4),
                "recall": round(score.recall, 4),
                "f1": round(score.f1, 4),
                "ms": round(seconds * 1000, 2),
            }
            for (page_id, _, _, _), score, seconds in zip(pages, scores, times, strict=True)
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--json", type=Path, help="write every row, page by page, here")
    parser.add_argument("--repeat", type=int, default=3, help="timing repetitions per page")
    parser.add_argument("--variants", action="store_true", help="also run trafilatura fast")
    args = parser.parse_args(argv)
    pages = load_pages(args.eval_dir)
    extractors = dict(EXTRACTORS, **(VARIANTS if args.variants else {}))
    outputs, times = measure(extractors, pages, max(1, args.repeat))
    results = [
        summarise(name, outputs[name], times[name], times[BASELINE], pages) for name in extractors
    ]
    width = max(len(name) for name in extractors)
    print(f"{len(pages)} pages, {args.repeat} timing repetitions, interleaved")
    print(f"{'extractor':<{width}}  {'P':>6} {'R':>6} {'F1':>6}  F1>0.9  ms/page  time ratio")
    for r in results:
        print(
            f"{r['extractor']:<{width}}  {r['precision']:6.3f} {r['recall']:6.3f} {r['f1']:6.3f}"
            f"  {r['pages_f1_above_0_9']:3d}/{r['pages']:<3d} {r['ms_per_page_median']:7.1f}"
            f"  {r['time_ratio_vs_trafilatura_defaults']:9.2f}x"
        )
    if args.json:
        payload = {"pages": len(pages), "repeat": args.repeat, "results": results}
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
