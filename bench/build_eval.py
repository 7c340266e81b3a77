"""Rebuild the extraction development and held-out sets (bench/data/extraction-*) from a
checkout of j-szulc/html-cleaning-dataset-merged at the pinned commit.

The sets are committed; this script documents how they were made and rebuilds them.
Sources (see bench/data/README.md for licences): the CleanEval shared task (final test
set and development set, SIGWAC 2007) and CleanPortalEval (ppke-nlpg). The merged
repository also holds dragnet, L3S-GN1 (page-signal's Google News pages) and Mozilla
Readability's test pages: those are reserved for judging the project and never read.

Split, decided once by a hash of the page id (never by how an extractor scores):
- held-out: every CleanPortalEval page and CleanEval-final pages whose hash falls in
  the held-out share;
- development: every CleanEval development page and the other CleanEval-final pages
  up to ``DEV_FINAL_PAGES``.
CleanEval stored each page inside ``<text id="URL" title="TITLE" encoding="...">`` in
place of its ``<html><head>...<body>``; that wrapper is put back to an ordinary
``<html><head><title>TITLE</title></head><body>`` (the same for every extractor: some
find no body at all in the stored form). Pages whose gold text has fewer than
``MIN_GOLD_WORDS`` words are left out of both: with almost nothing to find, a 4-gram
score says nothing.

    python bench/build_eval.py /path/to/html-cleaning-dataset-merged
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import json
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "bench" / "data"
PINNED_COMMIT = "46e01a04b47051838a228bf23631430b2c9de375"
MIN_GOLD_WORDS = 60
HELD_OUT_FINAL_PAGES = 160
DEV_FINAL_PAGES = 60
_MARKERS = re.compile(r"<\s*/?\s*(?:p|h|l)\s*>", re.IGNORECASE)
_TEXT_ID = re.compile(rb'<text id="([^"]+)"')
_TEXT_WRAPPER = re.compile(rb'^\s*<text id="[^"]*"(?: title="([^"]*)")?[^>]*>', re.DOTALL)
_TEXT_END = re.compile(rb"</text>\s*$")


def restore_page(body: bytes) -> bytes:
    """CleanEval's ``<text ...>`` wrapper back to the page's html/head/title/body."""
    match = _TEXT_WRAPPER.match(body)
    if not match:
        return body
    head = b"<html><head><title>" + (match.group(1) or b"") + b"</title></head><body>"
    return head + _TEXT_END.sub(b"</body></html>", body[match.end() :])


def gold_text(raw: bytes) -> tuple[str, str]:
    """The gold file's URL line and its text without CleanEval's <p>/<h>/<l> markers."""
    text = raw.decode("utf-8", errors="replace")
    url = ""
    if text.startswith("URL:"):
        first, _, text = text.partition("\n")
        url = first[4:].strip()
    text = html.unescape(_MARKERS.sub("\n", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return url, "\n".join(line for line in lines if line)


def _rank(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()


def _pages(source: Path, folder: str) -> list[tuple[str, bytes, str, str]]:
    """(id, html, url, gold) for every page of one dataset with enough gold text."""
    found = []
    for gold_path in sorted((source / folder / "GoldStandard").glob("*.txt")):
        page = source / folder / "input" / (gold_path.stem + ".html")
        if not page.exists():
            continue
        raw = page.read_bytes()
        body = restore_page(raw)
        url, gold = gold_text(gold_path.read_bytes())
        match = _TEXT_ID.search(raw[:2000])
        if match:
            url = match.group(1).decode("utf-8", errors="replace")
        if len(gold.split()) < MIN_GOLD_WORDS:
            continue
        prefix = {
            "cleaneval-final": "ce",
            "cleaneval-dev": "cedev",
            "CleanPortalEval-master": "cpe",
        }
        found.append(
            (f"{prefix[folder]}-{gold_path.stem}", body, url or "http://example.invalid/", gold)
        )
    return found


def _write(name: str, pages: list[tuple[str, bytes, str, str]]) -> None:
    target = DATA / name
    (target / "html").mkdir(parents=True, exist_ok=True)
    truth = {}
    for page_id, body, url, gold in sorted(pages):
        (target / "html" / f"{page_id}.html.gz").write_bytes(gzip.compress(body, 9, mtime=0))
        truth[page_id] = {"url": url, "articleBody": gold}
    (target / "ground-truth.json").write_text(
        json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"{name}: {len(pages)} pages")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="checkout of html-cleaning-dataset-merged")
    args = parser.parse_args()
    head = subprocess.run(
        ["git", "-C", str(args.source), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    if head and head != PINNED_COMMIT:
        print(f"warning: source at {head}, sets were built from {PINNED_COMMIT}")
    final = sorted(_pages(args.source, "cleaneval-final"), key=lambda p: _rank(p[0]))
    held_out = _pages(args.source, "CleanPortalEval-master") + final[:HELD_OUT_FINAL_PAGES]
    dev = (
        _pages(args.source, "cleaneval-dev")
        + final[HELD_OUT_FINAL_PAGES : HELD_OUT_FINAL_PAGES + DEV_FINAL_PAGES]
    )
    _write("extraction-heldout", held_out)
    _write("extraction-dev", dev)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
