"""How many feed documents of the sample each parser accepts (information, not a target).

    python bench/feed_sample.py                  # this checkout
    python bench/feed_sample.py --baseline DIR   # and, first, the parser of another checkout

"Accepted" means ``parse_feed`` returned a feed instead of raising (a crash counts
as refused); the items column counts entries with a readable link, the ones a
digest can use. The sample is ``tests/fixtures/feeds`` (see its README).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "fixtures" / "feeds"


def measure(root: Path) -> dict[str, object]:
    """Run in a fresh interpreter so ``bot`` is imported from ``root``."""
    code = f"""
import json, sys
from pathlib import Path
sys.path.insert(0, {str(root)!r})
from bot.digest.feeds import parse_feed
totals = {{}}
refused = []
for path in sorted(Path({str(SAMPLE)!r}).rglob("*")):
    if path.suffix not in (".xml", ".json"):
        continue
    group = path.relative_to({str(SAMPLE)!r}).parts[0]
    if group == "feedparser":
        group = "/".join(path.relative_to({str(SAMPLE)!r}).parts[:2])
    t = totals.setdefault(group, [0, 0, 0])
    t[0] += 1
    kind = "application/json" if path.suffix == ".json" else "application/xml"
    try:
        feed = parse_feed(path.read_bytes(), kind, "https://feeds.example/")
    except Exception as exc:
        refused.append((str(path.relative_to({str(SAMPLE)!r})), type(exc).__name__))
        continue
    t[1] += 1
    t[2] += len(feed.items)
print(json.dumps({{"totals": totals, "refused": refused}}))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="a checkout whose parser is measured first")
    parser.add_argument("--show-refused", action="store_true")
    args = parser.parse_args()
    runs = {}
    if args.baseline:
        runs["before"] = measure(Path(args.baseline).resolve())
    runs["after"] = measure(ROOT)
    groups = sorted(runs["after"]["totals"])  # type: ignore[arg-type]
    header = "| group | documents | " + " | ".join(f"{n} accepted | {n} items" for n in runs)
    print(header)
    print("|" + " --- |" * (2 + 2 * len(runs)))
    sums: Counter[str] = Counter()
    for group in groups:
        cells = []
        total = 0
        for name, run in runs.items():
            docs, accepted, items = run["totals"][group]  # type: ignore[index]
            total = docs
            sums[f"{name}-a"] += accepted
            sums[f"{name}-i"] += items
            cells += [str(accepted), str(items)]
        sums["docs"] += total
        print(f"| {group} | {total} | " + " | ".join(cells) + " |")
    last = [f"**{sums[f'{n}-a']}** | {sums[f'{n}-i']}" for n in runs]
    print(f"| all | {sums['docs']} | " + " | ".join(last) + " |")
    if args.show_refused:
        for name, run in runs.items():
            kinds = Counter(kind for _, kind in run["refused"])  # type: ignore[union-attr]
            print(f"{name}: refused {dict(kinds)}")
            for path, kind in run["refused"]:  # type: ignore[union-attr]
                if "recorded" in path:
                    print(f"  {path}: {kind}")


if __name__ == "__main__":
    main()
