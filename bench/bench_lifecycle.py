"""Lookup speed of an index before and after compaction, and the cost of add / remove / compact.

    python bench/bench_lifecycle.py [--corpus ../shared/data/dev/corpus.jsonl] [--adds 20] [--queries 400]

The corpus is indexed as a base build of half the documents plus ``--adds``
additions (one postings segment each) and one removal; checks of copied
passages are timed (CPU time of this thread, one numba thread) with all those
segments, then again after ``build-index compact`` merged them.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import numba
import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(Path(__file__).resolve().parents[2] / "shared/data/dev/corpus.jsonl"))
    ap.add_argument("--adds", type=int, default=20)
    ap.add_argument("--queries", type=int, default=400)
    args = ap.parse_args()
    numba.set_num_threads(1)

    from build_index.build import build
    from build_index.update import add_documents
    from dedupblock import Blocker
    from dedupblock.params import IndexParams
    from dedupblock.store import IndexUpdater

    docs = [json.loads(line) for line in open(args.corpus, encoding="utf-8")]
    rng = random.Random(3)
    half = len(docs) // 2
    rest = docs[half:]
    chunk = max(1, len(rest) // args.adds)
    queries = []
    for d in rng.sample(docs, min(args.queries, len(docs))):
        t = d["text"]
        s = rng.randrange(0, max(1, len(t) - 1500))
        queries.append((t[s:s + 1500], d.get("lang")))
    with tempfile.TemporaryDirectory() as tmp:
        idx = str(Path(tmp) / "idx")
        t0 = time.perf_counter()
        build(docs[:half], idx, IndexParams())
        t_build = time.perf_counter() - t0
        t_adds = []
        for i in range(0, len(rest), chunk):
            t0 = time.perf_counter()
            add_documents(rest[i:i + chunk], idx)
            t_adds.append(time.perf_counter() - t0)
        with IndexUpdater(idx) as upd:
            t0 = time.perf_counter()
            upd.remove(ids=[docs[0]["id"]])
            t_remove = time.perf_counter() - t0

        def timed() -> tuple[float, float, float, int]:
            b = Blocker(idx, refresh_interval=None)
            for q, lang in queries[:20]:
                b.check(q, lang)
            ts, blocked = [], 0
            for q, lang in queries:
                t = time.thread_time()
                blocked += b.check(q, lang).blocked
                ts.append(time.thread_time() - t)
            segs = len(b.index.segments)
            b.index.close()
            ms = np.array(ts) * 1e3
            return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), segs, blocked

        before = timed()
        with IndexUpdater(idx) as upd:
            t0 = time.perf_counter()
            upd.compact()
            t_compact = time.perf_counter() - t0
        after = timed()
    print(f"base build of {half} docs: {t_build:.1f} s; {len(t_adds)} adds of ~{chunk} docs: "
          f"median {np.median(t_adds):.2f} s; remove 1 doc: {t_remove * 1e3:.1f} ms; compact: {t_compact:.2f} s")
    print("| index | segments | check p50 ms | check p99 ms | blocked |")
    print("|---|--:|--:|--:|--:|")
    for name, (p50, p99, segs, blocked) in (("before compact", before), ("after compact", after)):
        print(f"| {name} | {segs} | {p50:.3f} | {p99:.3f} | {blocked} / {len(queries)} |")


if __name__ == "__main__":
    main()
