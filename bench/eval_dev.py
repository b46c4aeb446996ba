"""Recall per kind and false-positive rate on a labelled set (../shared/data/dev format).

    python bench/eval_dev.py --index IDX --queries ../shared/data/dev/queries.jsonl \
        [--verdicts verdicts.jsonl] [--markdown docs/figures.md]

Reads verdicts produced by ``dedupblock check`` (``--verdicts``) or, without
it, runs the checks in-process.  Prints recall per positive kind x language,
false-positive rate per negative kind x language, precision/recall/F1 on the
core subset, and attribution accuracy.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

POSITIVE_CORE = {"verbatim", "light_edit", "whitespace_reformat", "renamed", "renamed_edit", "embedded"}


def load_jsonl(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def score(queries: list[dict], verdicts: dict[str, dict]) -> dict:
    cells: dict[tuple[str, str], list[int]] = collections.defaultdict(lambda: [0, 0])
    attr_ok = attr_lenient = attr_n = 0
    core = collections.Counter()
    for q in queries:
        v = verdicts.get(q["qid"], {})
        blocked = bool(v.get("blocked", False))
        cell = cells[(q["kind"], q["lang"])]
        cell[0] += blocked
        cell[1] += 1
        if q["label"] == 1 and blocked:
            attr_n += 1
            mid = v.get("match_id")
            attr_ok += mid == q["target_id"]
            attr_lenient += mid == q["target_id"] or mid in q.get("meta", {}).get("alt_target_ids", [])
        if q["kind"] in POSITIVE_CORE or q["kind"] == "negative_unrelated":
            key = ("tp" if blocked else "fn") if q["label"] else ("fp" if blocked else "tn")
            core[key] += 1
    p = core["tp"] / max(1, core["tp"] + core["fp"])
    r = core["tp"] / max(1, core["tp"] + core["fn"])
    return {
        "cells": {f"{k}/{lang}": {"rate": c[0] / c[1], "blocked": c[0], "n": c[1]}
                  for (k, lang), c in sorted(cells.items())},
        "core": {"precision": p, "recall": r, "f1": 2 * p * r / max(1e-9, p + r)},
        "attribution": {"exact": attr_ok / max(1, attr_n), "lenient": attr_lenient / max(1, attr_n)},
    }


def markdown(result: dict) -> str:
    lines = ["| kind | lang | label | blocked / n | rate |", "|---|---|---:|---:|---:|"]
    for key, c in result["cells"].items():
        kind, lang = key.split("/")
        label = 0 if kind.startswith("negative") else 1
        what = "FP rate" if label == 0 else "recall"
        lines.append(f"| {kind} | {lang} | {label} | {c['blocked']} / {c['n']} | {what} {c['rate']:.4f} |")
    core = result["core"]
    lines.append("")
    lines.append(f"Core subset: precision {core['precision']:.4f}, recall {core['recall']:.4f}, F1 {core['f1']:.4f}. "
                 f"Attribution among blocked positives: exact {result['attribution']['exact']:.4f}, "
                 f"lenient {result['attribution']['lenient']:.4f}.")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--verdicts")
    ap.add_argument("--index")
    ap.add_argument("--markdown")
    ap.add_argument("--json")
    args = ap.parse_args()
    queries = load_jsonl(args.queries)
    if args.verdicts:
        verdicts = {v["qid"]: v for v in load_jsonl(args.verdicts)}
    else:
        from dedupblock import Blocker
        blocker = Blocker(args.index)
        t0 = time.perf_counter()
        verdicts = {}
        for q in queries:
            verdicts[q["qid"]] = blocker.check(q["text"], q.get("lang")).to_dict()
        print(f"{len(queries)} checks in {time.perf_counter() - t0:.2f}s", file=sys.stderr)
    result = score(queries, verdicts)
    md = markdown(result)
    print(md)
    if args.markdown:
        Path(args.markdown).write_text(md + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
