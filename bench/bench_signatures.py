"""MinHash signature throughput: dedupblock vs datasketch vs rensa, one run, one table.

    .venv/bin/python bench/bench_signatures.py [--corpus FILE.jsonl] [--limit N] [--quick] [--json OUT]

Every contender starts from the raw ``str`` of each document and ends with a
128-entry signature per document, with tokenising and word 5-gram shingling
included in the timed region:

* dedupblock: ``TextFeaturizer.featurize`` (Unicode folding + numba tokenizer)
  -> ``sketch.shingles`` -> ``minhash.signature`` (whole document), or
  ``Sketcher.sketch`` (windowed signatures + LSH band keys, what the index
  stores), at 128 and at the index default of 64 permutations; single-threaded
  (``numba.set_num_threads(1)``) and on all cores (a thread pool for the
  featurizer, whose numba tokenizer releases the GIL, then the parallel batch
  kernels ``shingles_batch`` + ``signatures_batch`` / ``sketch_batch``);
* datasketch: ``re.findall(r"\\w+|[^\\w\\s]", text.lower())``, 5-grams joined
  by spaces and encoded to bytes, then ``MinHash.update_batch`` (default
  hashfunc sha1_hash32, default scheme affine32) or ``MinHash.bulk``;
* rensa: the same Python shingle strings given to ``RMinHash.update`` /
  ``CMinHash.update`` then ``digest()``.

Numba JIT compilation is excluded (each kernel is warmed up on a small
document first); the cold start of a fresh process (imports + first call,
with numba's on-disk cache) is measured separately in a subprocess.  Throughput
is MB/s of UTF-8 input text; each contender is the best of up to 3 runs (fewer
for slow ones, see ``common.best_of``).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

K = 5
SEED = 1

COLD_START_CHILD = r"""
import time, json, sys
t0 = time.perf_counter()
import numpy as np
from dedupblock.featurize.text import TextFeaturizer
from dedupblock.minhash import permutations, signature
from dedupblock.sketch import shingles
from dedupblock.params import IndexParams
from dedupblock.sketch import Sketcher
t1 = time.perf_counter()
text = sys.stdin.read()
f = TextFeaturizer(1)
a, b = permutations(128, 1)
t2 = time.perf_counter()
sig = signature(shingles(f.featurize(text).hashes, 5, np.uint64(1)), a, b)
t3 = time.perf_counter()
sig = signature(shingles(f.featurize(text).hashes, 5, np.uint64(1)), a, b)
t4 = time.perf_counter()
sk = Sketcher(IndexParams())
v = "text"
t5 = time.perf_counter()
sk.sketch(f.featurize(text).hashes, v)
t6 = time.perf_counter()
sk.sketch(f.featurize(text).hashes, v)
t7 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_signature_s": t3 - t2, "second_signature_s": t4 - t3,
                  "first_sketch_s": t6 - t5, "second_sketch_s": t7 - t6}))
"""


def cold_start(text: str) -> dict[str, float]:
    """Imports and first calls in a fresh interpreter (numba loads its cache)."""
    out = subprocess.run([sys.executable, "-c", COLD_START_CHILD], input=text, capture_output=True,
                         text=True, check=True, env={**os.environ, "NUMBA_NUM_THREADS": str(os.cpu_count())})
    import json
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- contenders ---------------------------------------------------------------
class Dedupblock:
    def __init__(self, num_perm: int) -> None:
        from dedupblock.featurize.text import TextFeaturizer
        from dedupblock.minhash import permutations
        from dedupblock.params import IndexParams
        from dedupblock.sketch import Sketcher

        self.feat = TextFeaturizer(SEED)
        self.a, self.b = permutations(num_perm, SEED)
        self.seed = np.uint64(SEED)
        self.sketcher = Sketcher(IndexParams(num_perm=num_perm, seed=SEED))
        self.view = "text"

    # single-threaded ---------------------------------------------------------
    def whole(self, docs: list[str]) -> list[np.ndarray]:
        from dedupblock.minhash import signature
        from dedupblock.sketch import shingles
        f, a, b, s = self.feat.featurize, self.a, self.b, self.seed
        return [signature(shingles(f(d).hashes, K, s), a, b) for d in docs]

    def fused(self, docs: list[str]) -> list[np.ndarray]:
        """``Sketcher.text_signature``: tokenise, shingle and MinHash in one numba pass."""
        ts = self.sketcher.text_signature
        return [ts(d) for d in docs]

    def fused_batch(self, docs: list[str]) -> np.ndarray:
        """``Sketcher.text_signatures``: fold serially, the fused kernel on all numba threads."""
        return self.sketcher.text_signatures(docs)

    def fused_oph(self, docs: list[str]) -> list[np.ndarray]:
        """``Sketcher.text_signature_oph``: the fused kernel with one-permutation hashing."""
        ts = self.sketcher.text_signature_oph
        return [ts(d) for d in docs]

    def fused_oph_batch(self, docs: list[str]) -> np.ndarray:
        return self.sketcher.text_signatures_oph(docs)

    def windowed(self, docs: list[str]) -> list[np.ndarray]:
        f, sk, v = self.feat.featurize, self.sketcher.sketch, self.view
        return [sk(f(d).hashes, v).keys for d in docs]

    # batch (parallel kernels; featurizer in a thread pool) ---------------------
    def _tokens(self, docs: list[str], pool: ThreadPoolExecutor | None) -> tuple[np.ndarray, np.ndarray]:
        f = self.feat.featurize
        toks = list(pool.map(f, docs, chunksize=16)) if pool else [f(d) for d in docs]
        offsets = np.zeros(len(toks) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in toks], out=offsets[1:])
        return np.concatenate([t.hashes for t in toks]), offsets

    def whole_batch(self, docs: list[str], pool: ThreadPoolExecutor | None = None) -> np.ndarray:
        from dedupblock.minhash import signatures_batch
        from dedupblock.sketch import shingles_batch
        th, off = self._tokens(docs, pool)
        sh_off, sh = shingles_batch(th, off, K, self.seed)
        return signatures_batch(sh, sh_off, self.a, self.b)

    def windowed_batch(self, docs: list[str], pool: ThreadPoolExecutor | None = None) -> np.ndarray:
        th, off = self._tokens(docs, pool)
        return self.sketcher.sketch_batch(th, off, self.view)[3]


def datasketch_update_batch(docs: list[str], num_perm: int = 128, hashfunc=None) -> list[np.ndarray]:
    from datasketch import MinHash
    out = []
    kw = {"hashfunc": hashfunc} if hashfunc else {}
    for d in docs:
        m = MinHash(num_perm=num_perm, seed=SEED, **kw)
        m.update_batch([s.encode() for s in common.py_shingles(d, K)])
        out.append(m.hashvalues)
    return out


def datasketch_bulk(docs: list[str], num_perm: int = 128) -> list[np.ndarray]:
    from datasketch import MinHash
    sets = [[s.encode() for s in common.py_shingles(d, K)] for d in docs]
    return [m.hashvalues for m in MinHash.bulk(sets, num_perm=num_perm, seed=SEED)]


def rensa_minhash(cls_name: str, docs: list[str], num_perm: int = 128) -> list[list[int]]:
    import rensa
    cls = getattr(rensa, cls_name)
    out = []
    for d in docs:
        m = cls(num_perm, SEED)
        m.update(common.py_shingles(d, K))
        out.append(m.digest())
    return out


def python_shingling_only(docs: list[str]) -> int:
    return sum(len(common.py_shingles(d, K)) for d in docs)


# -- Jaccard sanity check ---------------------------------------------------------
def jaccard_check(docs: list[str], n_pairs: int) -> list[list]:
    """Exact Jaccard of the word 5-gram sets vs the 128-perm estimates of each library."""
    import rensa
    from datasketch import MinHash

    from dedupblock.featurize.text import TextFeaturizer
    from dedupblock.minhash import jaccard_estimate, permutations, signature
    from dedupblock.oph import oph_signature
    from dedupblock.sketch import shingles

    rng = random.Random(3)
    vocab = common.vocabulary(docs[:200])
    feat = TextFeaturizer(SEED)
    a, b = permutations(128, SEED)
    s = np.uint64(SEED)
    cands = [d for d in docs if 3000 <= len(d) <= 30000 and d.isascii()]
    rows = []
    rates = [0.02, 0.05, 0.1, 0.2, 0.35, 0.5]
    for i in range(n_pairs):
        d = cands[(i * 7919) % len(cands)]
        e = common.perturb(d, rng, rates[i % len(rates)], vocab)
        sh1, sh2 = (shingles(feat.featurize(t).hashes, K, s) for t in (d, e))
        exact_db = len(np.intersect1d(sh1, sh2)) / len(np.union1d(sh1, sh2))
        p1, p2 = set(common.py_shingles(d, K)), set(common.py_shingles(e, K))
        exact_py = len(p1 & p2) / len(p1 | p2)
        est_db = jaccard_estimate(signature(sh1, a, b), signature(sh2, a, b))
        m1, m2 = MinHash(128, seed=SEED), MinHash(128, seed=SEED)
        m1.update_batch([x.encode() for x in p1])
        m2.update_batch([x.encode() for x in p2])
        r1, r2 = rensa.RMinHash(128, SEED), rensa.RMinHash(128, SEED)
        r1.update(list(p1))
        r2.update(list(p2))
        est_oph = jaccard_estimate(oph_signature(sh1, 128, s), oph_signature(sh2, 128, s))
        rows.append([f"pair {i} (edit rate {rates[i % len(rates)]})", exact_db, exact_py, est_db, est_oph,
                     m1.jaccard(m2), r1.jaccard(r2), abs(est_db - exact_db)])
    errs = np.array([[r[3] - r[1], r[4] - r[1], r[5] - r[2], r[6] - r[2]] for r in rows])
    sd = np.array([np.sqrt(max(r[1] * (1 - r[1]), 1e-9) / 128) for r in rows])
    nan = float("nan")
    rows.append(["mean abs error (dedupblock / OPH / datasketch / rensa)", nan, nan,
                 *[float(np.mean(np.abs(errs[:, c]))) for c in range(4)], nan])
    rows.append(["RMS z-score (err / sqrt(J(1-J)/128))", nan, nan,
                 *[float(np.sqrt(np.mean((errs[:, c] / sd) ** 2))) for c in range(4)], nan])
    return rows


def featurize_throughput(corpus: str, limit: int | None) -> list[list]:
    """MB/s of the text view and of the code view (lexer and tree-sitter engines) on the corpus's code files."""
    from dedupblock.featurize.code import CodeFeaturizer
    from dedupblock.featurize.text import TextFeaturizer

    recs = [r for r in common.load_jsonl(corpus)[:limit] if r.get("lang") not in (None, "text")]
    if not recs:
        return []
    texts = [r["text"] for r in recs]
    mb = common.utf8_bytes(texts) / 1e6
    rows = []
    text, lexer, ts = TextFeaturizer(SEED), CodeFeaturizer(SEED), CodeFeaturizer(SEED, engine="tree-sitter")
    for name, fn in [("text view (TextFeaturizer)", lambda: [text.featurize(t) for t in texts]),
                     ("code view, lexer (default)", lambda: [lexer.featurize(r["text"], r["lang"]) for r in recs]),
                     ("code view, tree-sitter", lambda: [ts.featurize(r["text"], r["lang"]) for r in recs])]:
        t, _ = common.best_of(fn, max_runs=2, budget_s=4.0, clock=time.thread_time)
        rows.append([name, len(texts), mb, mb / t])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=common.DEV_CORPUS)
    ap.add_argument("--limit", type=int, default=None, help="first N documents only")
    ap.add_argument("--quick", action="store_true", help="200 documents, fewer repeats (< 1 minute)")
    ap.add_argument("--pairs", type=int, default=12, help="pairs in the Jaccard sanity check")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    limit = args.limit if args.limit is not None else (200 if args.quick else None)
    docs = common.load_texts(args.corpus, limit)
    nbytes = common.utf8_bytes(docs)
    mb = nbytes / 1e6
    info = common.machine_info()
    common.print_machine(info)
    print(f"corpus: {args.corpus}: {len(docs)} docs, {mb:.2f} MB UTF-8, "
          f"{sum(not d.isascii() for d in docs)} docs with non-ASCII characters")

    cold = cold_start(docs[0][:20000])
    print("cold start (fresh process, numba cache): " + ", ".join(f"{k}={v * 1e3:.1f} ms" for k, v in cold.items()))

    import numba
    numba_threads_all = numba.config.NUMBA_NUM_THREADS
    db128, db64 = Dedupblock(128), Dedupblock(64)
    warm = docs[:4] + ["tiny"]
    numba.set_num_threads(numba_threads_all)
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
    for db in (db128, db64):  # JIT warm-up (excluded from timing)
        db.whole(warm), db.windowed(warm), db.whole_batch(warm), db.windowed_batch(warm, pool)
        db.fused(warm), db.fused_batch(warm), db.fused_oph(warm), db.fused_oph_batch(warm)

    budget = 2.0 if args.quick else 6.0
    results: list[tuple[str, float, str]] = []  # (name, seconds, group)

    def run(name: str, fn, threads: int = 1, max_runs: int = 3) -> None:
        # single-threaded contenders: CPU time of this thread (other processes on
        # the machine cannot inflate it); multi-threaded: wall time.
        numba.set_num_threads(threads)
        w0 = time.perf_counter()
        t, _ = common.best_of(fn, max_runs=max_runs, budget_s=budget,
                              clock=time.thread_time if threads == 1 else time.perf_counter)
        numba.set_num_threads(numba_threads_all)
        results.append((name, t, f"{threads} thread" + ("s" if threads > 1 else "")))
        print(f"  {name:<62} {t:8.3f} s  {mb / t:8.2f} MB/s  (wall incl. repeats {time.perf_counter() - w0:.2f} s, "
              f"load {common.load_average()})", flush=True)

    print("timing (best of up to 3 runs; 1 thread: CPU time, all threads: wall time):")
    run("dedupblock 128 perm, whole-doc, fused kernel, 1 thread", lambda: db128.fused(docs))
    run("dedupblock 128 bins, whole-doc, fused one-permutation (OPH), 1 thread", lambda: db128.fused_oph(docs))
    run("dedupblock 128 perm, whole-doc signature, 1 thread", lambda: db128.whole(docs))
    run("dedupblock 128 perm, windowed sketch (+band keys), 1 thread", lambda: db128.windowed(docs))
    run("dedupblock 64 perm, whole-doc signature, 1 thread", lambda: db64.whole(docs))
    run("dedupblock 64 perm, windowed sketch (+band keys), 1 thread", lambda: db64.windowed(docs))
    ncpu = numba_threads_all
    run(f"dedupblock 128 perm, whole-doc, fused kernel, batch, {ncpu} threads", lambda: db128.fused_batch(docs), ncpu)
    run(f"dedupblock 128 bins, whole-doc, fused OPH, batch, {ncpu} threads", lambda: db128.fused_oph_batch(docs), ncpu)
    run(f"dedupblock 128 perm, whole-doc, batch, {ncpu} threads", lambda: db128.whole_batch(docs, pool), ncpu)
    run(f"dedupblock 128 perm, windowed, batch, {ncpu} threads", lambda: db128.windowed_batch(docs, pool), ncpu)
    run(f"dedupblock 64 perm, whole-doc, batch, {ncpu} threads", lambda: db64.whole_batch(docs, pool), ncpu)
    run(f"dedupblock 64 perm, windowed, batch, {ncpu} threads", lambda: db64.windowed_batch(docs, pool), ncpu)
    slow_runs = 1 if not args.quick else 2
    run("datasketch 128 perm, MinHash.update_batch (sha1_hash32)", lambda: datasketch_update_batch(docs), 1, slow_runs)
    run("datasketch 128 perm, MinHash.bulk (sha1_hash32)", lambda: datasketch_bulk(docs), 1, slow_runs)
    run("rensa 128 perm, RMinHash.update", lambda: rensa_minhash("RMinHash", docs), 1, slow_runs)
    run("rensa 128 perm, CMinHash.update", lambda: rensa_minhash("CMinHash", docs), 1, slow_runs)
    run("(reference) Python regex tokenise + 5-gram join only", lambda: python_shingling_only(docs), 1, slow_runs)
    pool.shutdown()

    t_ds = next(t for n, t, _ in results if "update_batch" in n)
    t_rm = next(t for n, t, _ in results if "RMinHash" in n)
    rows = [[n, g, mb / t, len(docs) / t, t_ds / t, t_rm / t] for n, t, g in results]
    headers = ["contender", "threads", "MB/s", "docs/s", "x datasketch update_batch", "x rensa RMinHash"]
    print()
    print(f"Signature throughput, {len(docs)} docs / {mb:.2f} MB, tokenising + 5-gram shingling included:")
    print(common.table(headers, rows))

    print()
    print("Jaccard sanity check (128 perm; exact = Jaccard of the 5-gram sets; std. error of an estimate "
          "at J is sqrt(J(1-J)/128) <= 0.044):")
    jrows = jaccard_check(docs, args.pairs if not args.quick else 6)
    print(common.table(["pair", "exact (dedupblock shingles)", "exact (regex shingles)", "dedupblock est.",
                        "dedupblock OPH est.", "datasketch est.", "rensa est.", "abs err dedupblock"], jrows))
    frows = featurize_throughput(args.corpus, limit)
    print()
    print("Featurization alone (1 thread, CPU time; the code view is what an index build adds for code files):")
    print(common.table(["featurizer", "docs", "MB", "MB/s"], frows))
    common.write_json(args.json, {"machine": info, "docs": len(docs), "mb": mb, "cold_start": cold,
                                  "results": [dict(zip(headers, r)) for r in rows], "jaccard": jrows,
                                  "featurize": frows})


if __name__ == "__main__":
    main()
