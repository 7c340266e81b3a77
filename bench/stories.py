"""Story merging benchmark: the digest's grouping against hand-labelled stories.

Data: ``bench/data/stories/{dev,heldout}.jsonl`` (see README.md there): real
headlines of 10 March 2014 from many outlets, each labelled with the event it
reports. Tune on ``dev`` only; ``heldout`` is for reporting.

Each split is grouped as one digest batch (``bot.digest.builder.cluster_stories``,
the function digests use) and scored against the labels:

* pairwise precision / recall: over all pairs of items, is "same group" right;
* B-cubed precision / recall / F1 (Bagga & Baldwin 1998): per item, the share of
  its predicted group that is its story, and of its story that is in its group.

    .venv/bin/python bench/stories.py [--split heldout] [--errors] [--json out.json]
    .venv/bin/python bench/stories.py --split dev --sweep   # tuning on dev only
    .venv/bin/python bench/stories.py --split heldout --digest 15 [--language de]
        # the split as one digest (Markdown), with the disagreements found in the items
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import datetime
from itertools import combinations
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.digest import stories as story_mod  # noqa: E402
from bot.digest.builder import Candidate, cluster_stories, rank_stories  # noqa: E402
from bot.digest.disagree import OutletText, disagreements  # noqa: E402
from bot.digest.models import Digest  # noqa: E402
from bot.digest.render import render_markdown  # noqa: E402

DATA = REPO / "bench" / "data" / "stories"


def load(split: str) -> list[dict]:
    with (DATA / f"{split}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def candidates(items: list[dict]) -> list[Candidate]:
    return [
        Candidate(
            url=it["url"],
            canonical_url=it["url"],
            title=it["title"],
            summary=it.get("summary", ""),
            source=it["outlet"],
            published=datetime.fromisoformat(it["published"]),
            seen_at=datetime.fromisoformat(it["published"]),
        )
        for it in items
    ]


def predict(items: list[dict]) -> list[int]:
    """Group id per item, as the digest groups them."""
    cands = candidates(items)
    position = {id(c): i for i, c in enumerate(cands)}
    labels = [0] * len(items)
    for g, group in enumerate(cluster_stories(cands)):
        for cand in group:
            labels[position[id(cand)]] = g
    return labels


def scores(gold: list[str], pred: list[int]) -> dict[str, float]:
    tp = fp = fn = 0
    for a, b in combinations(range(len(gold)), 2):
        same_gold, same_pred = gold[a] == gold[b], pred[a] == pred[b]
        tp += same_gold and same_pred
        fp += same_pred and not same_gold
        fn += same_gold and not same_pred
    joint = Counter(zip(gold, pred, strict=True))
    gold_n, pred_n = Counter(gold), Counter(pred)
    b_p = sum(joint[(g, p)] / pred_n[p] for g, p in zip(gold, pred, strict=True)) / len(gold)
    b_r = sum(joint[(g, p)] / gold_n[g] for g, p in zip(gold, pred, strict=True)) / len(gold)
    return {
        "pairwise_precision": tp / (tp + fp) if tp + fp else 1.0,
        "pairwise_recall": tp / (tp + fn) if tp + fn else 1.0,
        "bcubed_precision": b_p,
        "bcubed_recall": b_r,
        "bcubed_f1": 2 * b_p * b_r / (b_p + b_r),
        "gold_pairs": tp + fn,
        "predicted_pairs": tp + fp,
    }


def describe(items: list[dict]) -> dict[str, int]:
    stories = Counter(it["story"] for it in items)
    multi = [
        s for s, n in stories.items() if len({i["outlet"] for i in items if i["story"] == s}) > 1
    ]
    return {
        "items": len(items),
        "outlets": len({it["outlet"] for it in items}),
        "stories": len(stories),
        "stories_with_2plus_outlets": len(multi),
    }


def errors(items: list[dict], pred: list[int]) -> None:
    groups: dict[int, list[dict]] = {}
    for it, g in zip(items, pred, strict=True):
        groups.setdefault(g, []).append(it)
    for members in groups.values():
        if len({m["story"] for m in members}) > 1:
            print("FALSE MERGE:")
            for m in members:
                print(f"   [{m['story']}] {m['title']}")
    by_story: dict[str, set[int]] = {}
    for it, g in zip(items, pred, strict=True):
        by_story.setdefault(it["story"], set()).add(g)
    for story, gs in by_story.items():
        if len(gs) > 1:
            print(f"SPLIT {story}:")
            for g in sorted(gs):
                print("   " + " | ".join(m["title"][:60] for m in groups[g] if m["story"] == story))


def digest_markdown(items: list[dict], entries: int, language: str) -> str:
    """The split rendered as the digest a channel following all its outlets would get."""
    cands = candidates(items)
    until = max(c.when for c in cands)
    ranked = rank_stories(cluster_stories(cands), until, entries)
    for entry, group in ranked:
        entry.disagreements = disagreements(OutletText(c.source, c.title) for c in group)
    digest = Digest(
        platform="bench",
        channel_id="stories",
        day=until.date().isoformat(),
        title=f"Labelled feeds, {until.date().isoformat()}",
        since=min(c.when for c in cands),
        until=until,
        entries=[entry for entry, _ in ranked],
        candidates=len(cands),
        language=language,
    )
    return render_markdown(digest)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--split", default="heldout", choices=["dev", "heldout"])
    parser.add_argument("--threshold", type=float, default=None, help="centroid threshold")
    parser.add_argument("--sweep", action="store_true", help="try thresholds (dev only)")
    parser.add_argument("--errors", action="store_true")
    parser.add_argument("--digest", type=int, metavar="N", help="print the top N as a digest")
    parser.add_argument("--language", default="en")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    items = load(args.split)
    if args.digest:
        print(digest_markdown(items, args.digest, args.language), end="")
        return
    gold = [it["story"] for it in items]
    if args.sweep:
        if args.split != "dev":
            sys.exit("tune on dev only")
        for t in [x / 100 for x in range(20, 71, 4)]:
            story_mod.CENTROID_THRESHOLD = t
            s = scores(gold, predict(items))
            print(
                f"{t:.2f} P={s['pairwise_precision']:.3f} R={s['pairwise_recall']:.3f} B3 "
                f"P={s['bcubed_precision']:.3f} R={s['bcubed_recall']:.3f} F1={s['bcubed_f1']:.3f}"
            )
        return
    if args.threshold is not None:
        story_mod.CENTROID_THRESHOLD = args.threshold
    pred = predict(items)
    report = {
        "split": args.split,
        "threshold": story_mod.CENTROID_THRESHOLD,
        **describe(items),
        **scores(gold, pred),
    }
    for key, value in report.items():
        print(f"{key:>28}: {value:.3f}" if isinstance(value, float) else f"{key:>28}: {value}")
    if args.errors:
        errors(items, pred)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
