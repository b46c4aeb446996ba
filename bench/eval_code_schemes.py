"""Measure the code normalisation schemes on the dev set by direct shingle containment.

No index is needed: every Python corpus doc is featurized, its k-shingle hashes
go into one sorted (shingle, doc) array, and for each Python query we compute
the fraction of its distinct k-shingles that occur in

* its target doc (positives), or
* the corpus doc sharing the most of its shingles (negatives: the best match a
  blocker could find).

Reported per configuration (engine, scheme), k and query kind: mean containment
and the fraction of queries with containment >= 0.5.  Also engine agreement
(lexer vs tree-sitter leaves on the corpus) and featurization throughput.

Usage::

    .venv/bin/python bench/eval_code_schemes.py [--data /work/shared/data/dev] [--doc docs/code-normalisation.md]

The tables replace the block between ``<!-- results:start -->`` and
``<!-- results:end -->`` in ``--doc`` (the rest of the document is prose
written from these numbers).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from dedupblock.featurize.code import SCHEMES, CodeFeaturizer
from dedupblock.sketch import shingles as _shingles


def shingle_hashes(token_hashes, k: int, seed: int):
    return _shingles(np.ascontiguousarray(token_hashes, dtype=np.uint64), k, np.uint64(seed))

KS = (3, 5, 8, 12, 16)
KINDS = (
    "verbatim", "whitespace_reformat", "renamed", "renamed_edit", "embedded", "light_edit",
    "short_verbatim", "negative_unrelated", "negative_boilerplate",
)
CONFIGS = [("lexer", s) for s in SCHEMES] + [("tree-sitter", "collapse")]
START, END = "<!-- results:start -->", "<!-- results:end -->"


def load(path: Path) -> list[dict]:
    with path.open() as f:
        return [json.loads(line) for line in f]


class ShingleIndex:
    """Sorted unique (shingle, doc) pairs: containment against one doc or the best doc."""

    def __init__(self, doc_shingles: list[np.ndarray]) -> None:
        self.doc_sets = [np.unique(s) for s in doc_shingles]
        keys = np.concatenate(self.doc_sets)
        docs = np.concatenate([np.full(len(s), i, np.int32) for i, s in enumerate(self.doc_sets)])
        order = np.argsort(keys, kind="stable")
        self.keys, self.docs = keys[order], docs[order]

    def containment(self, q: np.ndarray, doc: int) -> float:
        q = np.unique(q)
        return float(np.isin(q, self.doc_sets[doc]).mean()) if len(q) else 0.0

    def best(self, q: np.ndarray) -> float:
        q = np.unique(q)
        if not len(q):
            return 0.0
        lo = np.searchsorted(self.keys, q, "left")
        hi = np.searchsorted(self.keys, q, "right")
        hits = np.concatenate([self.docs[a:b] for a, b in zip(lo, hi) if b > a] or [np.zeros(0, np.int32)])
        return float(np.bincount(hits).max() / len(q)) if len(hits) else 0.0


def evaluate(corpus: list[dict], queries: list[dict]) -> tuple[dict, dict, dict]:
    """Containment per (engine, scheme, k) and kind; MB/s per (engine, scheme); engine agreement."""
    doc_index = {d["id"]: i for i, d in enumerate(corpus)}
    corpus_chars = sum(len(d["text"]) for d in corpus)
    results: dict = {}
    throughput: dict = {}
    tokens: dict = {}
    for engine, scheme in CONFIGS:
        fz = CodeFeaturizer(scheme=scheme, engine=engine)
        t0 = time.perf_counter()
        doc_tokens = [fz.featurize(d["text"], "python").hashes for d in corpus]
        throughput[(engine, scheme)] = corpus_chars / (time.perf_counter() - t0) / 1e6
        query_tokens = [fz.featurize(q["text"], "python").hashes for q in queries]
        tokens[(engine, scheme)] = doc_tokens
        for k in KS:
            index = ShingleIndex([shingle_hashes(t, k, 0) for t in doc_tokens])
            per_kind: dict[str, list[float]] = defaultdict(list)
            for q, qt in zip(queries, query_tokens):
                sh = shingle_hashes(qt, k, 0)
                if q["label"] == 1:
                    c = index.containment(sh, doc_index[q["target_id"]])
                else:
                    c = index.best(sh)
                per_kind[q["kind"]].append(c)
            results[(engine, scheme, k)] = {kind: np.array(v) for kind, v in per_kind.items()}
            print(engine, scheme, k, {kind: round(float(v.mean()), 3) for kind, v in results[(engine, scheme, k)].items()})
    agree = {
        "docs identical": float(np.mean([
            len(a) == len(b) and bool((a == b).all())
            for a, b in zip(tokens[("lexer", "collapse")], tokens[("tree-sitter", "collapse")])
        ])),
    }
    return results, throughput, agree


def render(results: dict, throughput: dict, agree: dict, n_per_kind: dict, corpus_mb: float) -> str:
    lines = [START, ""]
    short = {
        "verbatim": "verb", "whitespace_reformat": "ws", "renamed": "ren", "renamed_edit": "ren+ed",
        "embedded": "emb", "light_edit": "edit", "short_verbatim": "short", "negative_unrelated": "NEG-unrel",
        "negative_boilerplate": "NEG-boiler",
    }
    header = "| engine | scheme | k | " + " | ".join(f"{short[k]} (n={n_per_kind[k]})" for k in KINDS) + " |"
    for title, fn in (
        ("Mean containment", lambda v: f"{v.mean():.3f}"),
        ("Fraction of queries with containment >= 0.5", lambda v: f"{(v >= 0.5).mean():.3f}"),
    ):
        lines += [f"**{title}** (positives: vs target doc; negatives: vs best-matching corpus doc)", "",
                  header, "|" + "---|" * (3 + len(KINDS))]
        for (engine, scheme, k), per_kind in results.items():
            cells = " | ".join(fn(per_kind[kind]) for kind in KINDS)
            lines.append(f"| {engine} | {scheme} | {k} | {cells} |")
        lines.append("")
    lines += [f"**Featurization throughput** (Python corpus, {corpus_mb:.1f} M characters, one process)", "",
              "| engine | scheme | M chars/s |", "|---|---|---:|"]
    lines += [f"| {e} | {s} | {v:.2f} |" for (e, s), v in throughput.items()]
    lines += ["", f"Corpus docs whose lexer and tree-sitter token sequences (collapse) are identical: "
                  f"{agree['docs identical']:.3f}", "", END]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/dev"))
    ap.add_argument("--doc", type=Path, default=Path(__file__).resolve().parent.parent / "docs/code-normalisation.md")
    args = ap.parse_args()
    corpus = [d for d in load(args.data / "corpus.jsonl") if d["lang"] == "python"]
    queries = [q for q in load(args.data / "queries.jsonl") if q["lang"] == "python"]
    n_per_kind = {k: sum(q["kind"] == k for q in queries) for k in KINDS}
    results, throughput, agree = evaluate(corpus, queries)
    corpus_mb = sum(len(d["text"]) for d in corpus) / 1e6
    table = render(results, throughput, agree, n_per_kind, corpus_mb)
    doc = args.doc.read_text() if args.doc.exists() else f"# Code normalisation\n\n{START}\n{END}\n"
    head, _, rest = doc.partition(START)
    _, _, tail = rest.partition(END)
    args.doc.write_text(head + table + tail)
    print(table)


if __name__ == "__main__":
    main()
