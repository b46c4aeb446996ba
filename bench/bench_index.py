"""Index build rate, index size, and check latency on a >= 1M-window index.

    .venv/bin/python bench/bench_index.py [--corpus FILE.jsonl] [--windows N] [--queries N]
                                          [--workdir DIR] [--quick] [--json OUT]

Steps (all in one run):

a. build an index of ``--corpus`` (the dev corpus) with ``build_index.build.build``
   in a subprocess: docs/s, MB/s, peak RSS (``VmHWM``), bytes per token;
b. synthesise a protected corpus of at least ``--windows`` windows (1M by
   default: ~8M tokens at stride 8) and build it the same way.  Round 0 is the
   corpus itself; every further round rewrites each document with a seeded
   word substitution (each alphabetic word is replaced by a word of the
   corpus vocabulary chosen by a per-round hash of the word: the text keeps
   its shape, punctuation and code structure, but its 5-gram windows are
   new) and shuffles its paragraphs;
c. ``Blocker.check`` latency for ~2 KB outputs against that index, one core
   (``numba.set_num_threads(1)``), after a warm-up: half are passages copied
   from protected documents with light word edits, half are unrelated text
   (the dev queries' ``negative_unrelated`` outputs, which come from held-out
   sources), with a per-stage breakdown (featurize, sketch, LSH lookup,
   verification);
d. the same lookups with datasketch ``MinHashLSH`` and rensa ``RMinHashLSH``,
   each in its own subprocess (so its RSS increase is its own), over the same
   index windows and the same query windows (query stride = the Blocker's),
   with the same bands x rows where the library allows it.

``--quick`` runs a small version (< 1 minute) for a smoke test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


def _time_lsh_queries(lsh, qmh: list, qoff) -> tuple[list[float], list[int]]:
    """CPU time and distinct candidates per output: every query window of it, union of the results.

    Two passes; the first warms up and is discarded.
    """
    for _rep in range(2):
        times, cands = [], []
        for d in range(qoff.shape[0] - 1):
            t = time.thread_time()
            found = set()
            for w in range(qoff[d], qoff[d + 1]):
                found.update(lsh.query(qmh[w]))
            times.append(time.thread_time() - t)
            cands.append(len(found))
    return times, cands


def _child(args: list[str]) -> dict:
    """Run this script as ``--child ...`` and return the JSON it prints last."""
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                         env={**os.environ, "NUMBA_NUM_THREADS": str(os.cpu_count())})
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"child {args[0]} failed with exit code {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- children -------------------------------------------------------------------
def child_build(corpus: str, out: str) -> dict:
    from build_index.build import build
    from dedupblock.params import IndexParams
    from dedupblock.store import IndexReader

    rss0 = common.rss_mb()
    records = common.load_jsonl(corpus)
    nbytes = common.utf8_bytes(r["text"] for r in records)
    rss_loaded = common.rss_mb()
    t0 = time.perf_counter()
    summary = build(records, out, IndexParams(), overwrite=True)
    seconds = time.perf_counter() - t0
    with IndexReader(out) as r:
        sizes = r.sizes()
    return {"docs": summary.docs, "chars": summary.chars, "mb": nbytes / 1e6, "tokens": summary.tokens,
            "windows": summary.windows, "seconds": seconds, "peak_rss_mb": common.peak_rss_mb(),
            "rss_start_mb": rss0, "rss_after_load_mb": rss_loaded, **sizes}


def child_datasketch(work: str, bands: int, rows: int) -> dict:
    from datasketch import LeanMinHash, MinHashLSH

    sigs = np.load(f"{work}/index_sigs.npy", mmap_mode="r")
    q = np.load(f"{work}/query_windows.npz")
    qsigs, qoff = q["sigs"], q["win_off"]
    num_perm = sigs.shape[1]
    rss0 = common.rss_mb()
    t0 = time.perf_counter()
    lsh = MinHashLSH(num_perm=num_perm, params=(bands, rows))
    with lsh.insertion_session(buffer_size=100000) as sess:
        for i in range(sigs.shape[0]):
            sess.insert(i, LeanMinHash(seed=1, hashvalues=np.asarray(sigs[i]), scheme="affine32"), check_duplication=False)
    build_s = time.perf_counter() - t0
    rss1 = common.rss_mb()
    qmh = [LeanMinHash(seed=1, hashvalues=qsigs[i], scheme="affine32") for i in range(qsigs.shape[0])]
    times, cands = _time_lsh_queries(lsh, qmh, qoff)
    return {"build_s": build_s, "windows": int(sigs.shape[0]), "rss_increase_mb": rss1 - rss0,
            "peak_rss_mb": common.peak_rss_mb(), "lat": common.percentiles_ms(times),
            "mean_candidate_windows": float(np.mean(cands))}


def child_rensa(work: str, bands: int, rows: int) -> dict:
    import rensa

    z = np.load(f"{work}/index_windows.npz")
    flat, off = z["shingles"], z["win_off"]
    q = np.load(f"{work}/query_windows.npz")
    qsh, qsh_off, qoff = q["shingles"], q["sh_off"], q["win_off"]
    # rensa hashes byte tokens itself; map our 64-bit shingle hashes to the
    # u64 rensa derives from their 8 bytes, so the index and the queries (which
    # go through RMinHash.update(bytes)) agree.  Not timed.
    t0 = time.perf_counter()
    uniq, inv = np.unique(flat, return_inverse=True)
    rh = np.array(rensa.RMinHash.hash_token_sets([[x.tobytes() for x in uniq]])[0], dtype=np.uint64)
    rflat = np.ascontiguousarray(rh[inv.ravel()])
    del uniq, inv, rh, flat
    prep_s = time.perf_counter() - t0
    num_perm = bands * rows
    rss0 = common.rss_mb()
    t0 = time.perf_counter()
    mat = rensa.RMinHash.digest_matrix_from_flat_token_hashes(rflat, off.astype(np.uint64), num_perm, 1)
    sig_s = time.perf_counter() - t0
    lsh = rensa.RMinHashLSH(0.3, num_perm, bands)
    t1 = time.perf_counter()
    lsh.insert_matrix(mat, 0)
    insert_s = time.perf_counter() - t1
    rss1 = common.rss_mb()
    del mat
    rss2 = common.rss_mb()
    # query minhashes built outside the timed loop (their sketching is not LSH cost)
    qmh = []
    for w in range(qsh_off.shape[0] - 1):
        m = rensa.RMinHash(num_perm, 1)
        m.update([x.tobytes() for x in qsh[qsh_off[w]:qsh_off[w + 1]]])
        qmh.append(m)
    times, cands = _time_lsh_queries(lsh, qmh, qoff)
    return {"prep_s": prep_s, "signatures_s": sig_s, "insert_s": insert_s, "windows": int(off.shape[0] - 1),
            "num_perm": num_perm, "rss_increase_mb": rss1 - rss0, "rss_increase_after_del_matrix_mb": rss2 - rss0,
            "peak_rss_mb": common.peak_rss_mb(), "lat": common.percentiles_ms(times),
            "mean_candidate_windows": float(np.mean(cands))}


# -- corpus synthesis ---------------------------------------------------------------
def _remap_words(text: str, vocab: list[str], salt: int) -> str:
    import re
    import zlib

    n = len(vocab)

    def sub(m):
        w = m.group(0)
        v = vocab[zlib.crc32(w.lower().encode(), salt) % n]
        return v.capitalize() if w[:1].isupper() else v
    return re.sub(r"[A-Za-z]{2,}", sub, text)


def synthesise(records: list[dict], target_windows: int, out: str, seed: int = 11) -> dict:
    """Write a corpus of >= ``target_windows`` windows (default params) to ``out``."""
    from dedupblock.featurize.text import TextFeaturizer
    from dedupblock.minhash import window_count
    from dedupblock.params import IndexParams
    from dedupblock.sketch import shingle_count

    p = IndexParams()
    feat = TextFeaturizer(p.seed)
    rng = random.Random(seed)
    vocab = common.vocabulary((r["text"] for r in records), 40000)
    n_windows = n_docs = n_bytes = 0
    rnd = 0
    with open(out, "w", encoding="utf-8") as f:
        while n_windows < target_windows:
            for r in records:
                text = r["text"] if rnd == 0 else _remap_words(common.shuffle_paragraphs(r["text"], rng), vocab, rnd)
                nt = len(feat.featurize(text))
                nw = window_count(shingle_count(nt, p.shingle), p.window, p.stride)
                if nw == 0:
                    continue
                f.write(json.dumps({"id": f"{r['id']}/r{rnd}", "text": text, "lang": r.get("lang"),
                                    "source": r.get("source"), "license": r.get("license")}) + "\n")
                n_windows += nw
                n_docs += 1
                n_bytes += len(text.encode("utf-8", "surrogatepass"))
                if n_windows >= target_windows:
                    break
            rnd += 1
    return {"docs": n_docs, "windows": n_windows, "mb": n_bytes / 1e6, "rounds": rnd}


def make_queries(protected: list[str], negatives: list[str], n: int, seed: int = 5, size: int = 2000
                 ) -> list[tuple[str, int]]:
    """``n`` outputs of ~``size`` chars: half copied+edited passages (label 1), half unrelated (0)."""
    rng = random.Random(seed)
    vocab = common.vocabulary(protected[:300])
    long_docs = [t for t in protected if len(t) >= size + 200]
    out = []
    for i in range(n):
        if i % 2 == 0:
            t = rng.choice(long_docs)
            s = rng.randrange(0, len(t) - size)
            s = t.find(" ", s) + 1 or s
            passage = t[s:s + size]
            out.append((common.perturb(passage, rng, 0.05, vocab), 1))
        else:
            t = rng.choice(negatives)
            while len(t) < size:
                t = t + "\n\n" + rng.choice(negatives)
            s = rng.randrange(0, len(t) - size + 1)
            out.append((t[s:s + size], 0))
    return out


# -- main -------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=common.DEV_CORPUS)
    ap.add_argument("--negatives", default=common.DEV_QUERIES,
                    help="JSONL whose negative_unrelated records give the unrelated outputs")
    ap.add_argument("--windows", type=int, default=None, help="windows in the large index (default 1,000,000)")
    ap.add_argument("--queries", type=int, default=None, help="outputs to check (default 4000)")
    ap.add_argument("--workdir", default="/tmp/dedupblock-bench")
    ap.add_argument("--quick", action="store_true", help="small sizes, < 1 minute")
    ap.add_argument("--skip-baselines", action="store_true", help="no datasketch / rensa comparison")
    ap.add_argument("--json")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        kind, *rest = args.child
        fn = {"build": child_build, "datasketch": child_datasketch, "rensa": child_rensa}[kind]
        res = fn(*[int(x) if x.isdigit() else x for x in rest])
        print(json.dumps(res))
        return

    target = args.windows or (60_000 if args.quick else 1_000_000)
    n_queries = args.queries or (300 if args.quick else 4000)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    info = common.machine_info()
    common.print_machine(info)
    report: dict = {"machine": info}

    # (a) dev corpus build --------------------------------------------------------
    records = common.load_jsonl(args.corpus)
    dev_path = args.corpus
    if args.quick:
        dev_path = str(work / "dev_small.jsonl")
        with open(dev_path, "w", encoding="utf-8") as f:
            for r in records[:300]:
                f.write(json.dumps(r) + "\n")
    print(f"(a) building {dev_path} ...", flush=True)
    a = _child(["build", dev_path, str(work / "dev.idx")])
    report["dev_build"] = a

    # (b) synthetic >= target-window corpus -------------------------------------------
    syn_path = str(work / "synthetic.jsonl")
    t0 = time.perf_counter()
    syn = synthesise(records, target, syn_path)
    print(f"(b) synthesised {syn['docs']} docs, {syn['windows']:,} windows, {syn['mb']:.1f} MB "
          f"({syn['rounds']} rounds) in {time.perf_counter() - t0:.1f} s; building ...", flush=True)
    big_idx = str(work / "big.idx")
    b = _child(["build", syn_path, big_idx])
    report["synthetic"] = syn
    report["big_build"] = b

    builds = [("dev corpus", a), (f"synthetic ({b['windows']:,} windows)", b)]
    print()
    print("Index build (build_index.build.build, all cores, in a subprocess):")
    print(common.table(
        ["corpus", "docs", "MB", "tokens", "windows", "build s", "docs/s", "MB/s", "peak RSS MB",
         "index MB", "bytes/token", "postings bytes/token"],
        [[n, r["docs"], r["mb"], r["tokens"], r["windows"], r["seconds"], r["docs"] / r["seconds"],
          r["mb"] / r["seconds"], r["peak_rss_mb"], r["file_bytes"] / 1e6, r["file_bytes"] / r["tokens"],
          r["postings_bytes"] / r["tokens"]] for n, r in builds]))

    # (c) check latency ------------------------------------------------------------
    import numba

    from dedupblock import Blocker
    from dedupblock.minhash import window_signatures
    from dedupblock.sketch import VIEW_SEED_STRIDE  # noqa: F401  (views: text = 0)

    numba.set_num_threads(1)
    protected = [r["text"] for r in common.load_jsonl(syn_path)]
    negs = [r["text"] for r in common.load_jsonl(args.negatives) if r.get("kind") == "negative_unrelated"]
    if not negs:  # any other JSONL: unrelated = a random word salad
        rng = random.Random(1)
        vocab = common.vocabulary(protected[:200])
        negs = [" ".join(rng.choice(vocab) for _ in range(400)) for _ in range(200)]
    queries = make_queries(protected, negs, n_queries)
    rss_before_open = common.rss_mb()
    blocker = Blocker(big_idx)
    rss_open = common.rss_mb()
    for text, _ in queries[:100]:  # warm-up: JIT and page cache
        blocker.check(text)
    lat, lat_pos, lat_neg, cpu, cpu_pos, cpu_neg, blocked = [], [], [], [], [], [], [0, 0]
    load_start = common.load_average()
    for text, label in queries:
        c = time.thread_time()
        t = time.perf_counter()
        v = blocker.check(text)
        dt = time.perf_counter() - t
        dc = time.thread_time() - c
        lat.append(dt)
        cpu.append(dc)
        (lat_pos if label else lat_neg).append(dt)
        (cpu_pos if label else cpu_neg).append(dc)
        blocked[label] += v.blocked
    rss_after = common.rss_mb()
    # intrinsic latency: per output, the fastest of 3 more runs (filters out
    # scheduling delays caused by other processes on the machine)
    best = []
    for text, _ in queries:
        ts = []
        for _r in range(3):
            t = time.perf_counter()
            blocker.check(text)
            ts.append(time.perf_counter() - t)
        best.append(min(ts))
    load_end = common.load_average()

    # per-stage breakdown, second pass
    p = blocker.params
    qs = blocker.params.stride  # queries use the index stride
    st = {"featurize": [], "sketch": [], "lookup": [], "n_cand": [], "q_windows": []}
    q_sh, q_sh_off, q_sigs, q_win_off = [], [0], [], [0]
    clk = time.thread_time  # CPU time: stages are far below the scheduler's time slice
    text_view = "text"
    st["lookup_text"] = []
    for text, _ in queries:
        t = clk()
        views = blocker.router.query_views(text)
        t1 = clk()
        t_sk = t_lk = 0.0
        n_c = 0
        for view, vt in views.items():
            if not len(vt):
                continue
            c0 = clk()
            skv = blocker.sketcher.sketch(vt.hashes, view, stride=qs)
            c1 = clk()
            n_c += len(blocker._candidates_from_keys(skv.keys.ravel()))
            c2 = clk()
            t_sk += c1 - c0
            t_lk += c2 - c1
            if view == "text":
                st["lookup_text"].append(c2 - c1)
        st["featurize"].append(t1 - t)
        st["sketch"].append(t_sk)
        st["lookup"].append(t_lk)
        st["n_cand"].append(n_c)
        sk = blocker.sketcher.sketch(views["text"].hashes, text_view, stride=qs)
        st["q_windows"].append(sk.keys.shape[0])
        starts, sigs = window_signatures(sk.shingles, p.window, qs, blocker.sketcher.a, blocker.sketcher.b)
        for s0 in starts.tolist():
            w = sk.shingles[s0:s0 + p.window]
            q_sh.append(w)
            q_sh_off.append(q_sh_off[-1] + len(w))
        q_sigs.append(sigs)
        q_win_off.append(q_win_off[-1] + sigs.shape[0])
    stage_total = [sum(x) for x in zip(st["featurize"], st["sketch"], st["lookup"])]
    verify = [max(0.0, c - s) for c, s in zip(cpu, stage_total)]
    P = common.percentiles_ms
    lat_rows = [
        ["Blocker.check wall, all outputs", *P(lat).values()],
        ["Blocker.check wall, copied+edited (label 1)", *P(lat_pos).values()],
        ["Blocker.check wall, unrelated (label 0)", *P(lat_neg).values()],
        ["Blocker.check wall, best of 3 per output", *P(best).values()],
        ["Blocker.check CPU time, all outputs", *P(cpu).values()],
        ["Blocker.check CPU time, copied+edited", *P(cpu_pos).values()],
        ["Blocker.check CPU time, unrelated", *P(cpu_neg).values()],
        ["  stage: featurize (Router.query_views: all views)", *common.percentiles_ms(st["featurize"]).values()],
        ["  stage: sketch (shingles, windows, band keys; all views)", *common.percentiles_ms(st["sketch"]).values()],
        ["  stage: LSH lookup (postings + unique; all views)", *common.percentiles_ms(st["lookup"]).values()],
        ["  stage: verification + verdict (check CPU - stages)", *common.percentiles_ms(verify).values()],
    ]
    n_pos = sum(lbl for _, lbl in queries)
    print()
    print(f"(c) check latency, {len(queries)} outputs of ~2,000 chars against {b['windows']:,} windows, "
          f"1 numba thread, in-process (ms):")
    print(common.table(["what", "p50", "p99", "p99.9", "mean"], lat_rows))
    print(f"blocked: {blocked[1]}/{n_pos} copied, {blocked[0]}/{len(queries) - n_pos} unrelated; "
          f"query windows/output mean {np.mean(st['q_windows']):.1f}; candidate docs/output mean "
          f"{np.mean(st['n_cand']):.2f}, max {max(st['n_cand'])}; RSS {rss_before_open:.0f} MB before open, "
          f"{rss_open:.0f} MB after open, {rss_after:.0f} MB after checks; load average {load_start} "
          f"(start) / {load_end} (end); stage rows are CPU time")
    report["check"] = {"latency": lat_rows, "blocked_pos": blocked[1], "blocked_neg": blocked[0],
                       "n": len(queries), "rss_open_mb": rss_open - rss_before_open,
                       "rss_after_mb": rss_after - rss_before_open,
                       "mean_query_windows": float(np.mean(st["q_windows"])),
                       "mean_candidates": float(np.mean(st["n_cand"]))}

    if args.skip_baselines:
        common.write_json(args.json, report)
        return

    # (d) datasketch / rensa over the same windows -------------------------------------
    print("(d) preparing index/query windows for datasketch and rensa ...", flush=True)
    sk = blocker.sketcher
    feat = blocker.router.text
    win_sh, win_off, all_sigs = [], [0], []
    for text in protected:
        sh = sk.shingles(feat.featurize(text).hashes)  # text view
        starts, sigs = window_signatures(sh, p.window, p.stride, sk.a, sk.b)
        all_sigs.append(sigs)
        for s0 in starts.tolist():
            w = sh[s0:s0 + p.window]
            win_sh.append(w)
            win_off.append(win_off[-1] + len(w))
    np.save(work / "index_sigs.npy", np.concatenate(all_sigs))
    np.savez(work / "index_windows.npz", shingles=np.concatenate(win_sh), win_off=np.array(win_off, np.int64))
    np.savez(work / "query_windows.npz", sigs=np.concatenate(q_sigs), win_off=np.array(q_win_off, np.int64),
             shingles=np.concatenate(q_sh), sh_off=np.array(q_sh_off, np.int64))
    del win_sh, all_sigs
    blocker.index.close()
    print("    datasketch MinHashLSH ...", flush=True)
    ds = _child(["datasketch", str(work), str(p.bands), str(p.rows)])
    print("    rensa RMinHashLSH ...", flush=True)
    rs = _child(["rensa", str(work), str(p.bands), str(p.rows)])
    report["datasketch"], report["rensa"] = ds, rs
    lk = common.percentiles_ms(st["lookup_text"])
    ck = common.percentiles_ms(cpu)
    rows = [
        ["dedupblock (LMDB, mmap) text-view LSH lookup only (CPU)", p.num_perm, f"{p.bands}x{p.rows}", lk["p50"], lk["p99"],
         b["seconds"], rss_after - rss_before_open, b["postings_bytes"] / 1e6],
        ["dedupblock full Blocker.check (CPU time)", p.num_perm, f"{p.bands}x{p.rows}", ck["p50"], ck["p99"],
         b["seconds"], rss_after - rss_before_open, b["file_bytes"] / 1e6],
        ["datasketch MinHashLSH (dict), query only (CPU)", p.num_perm, f"{p.bands}x{p.rows}", ds["lat"]["p50"],
         ds["lat"]["p99"], ds["build_s"], ds["rss_increase_mb"], float("nan")],
        ["rensa RMinHashLSH, query only (CPU)", rs["num_perm"], f"{p.bands}x{p.rows}", rs["lat"]["p50"], rs["lat"]["p99"],
         rs["signatures_s"] + rs["insert_s"], rs["rss_increase_after_del_matrix_mb"], float("nan")],
    ]
    print()
    print(f"(d) text-view LSH lookups per output (all {np.mean(st['q_windows']):.0f} text query windows of an "
          f"output; datasketch/rensa hold the {ds['windows']:,} text-view windows, dedupblock's postings all "
          f"{b['windows']:,} windows of both views; 1 thread):")
    print(common.table(["engine", "perm", "bands x rows", "p50 ms", "p99 ms", "build s", "RSS increase MB",
                        "on-disk MB"], rows))
    print(f"build s: dedupblock = whole index build incl. featurizing; datasketch = inserting LeanMinHash of "
          f"precomputed signatures; rensa = digest matrix from (pre-hashed) shingles + insert_matrix "
          f"({rs['signatures_s']:.1f} + {rs['insert_s']:.1f} s). dedupblock RSS = open + checks (mmap pages "
          f"touched). Mean candidate windows/output: datasketch {ds['mean_candidate_windows']:.1f}, rensa "
          f"{rs['mean_candidate_windows']:.1f}.")
    report["lsh_rows"] = rows
    common.write_json(args.json, report)


if __name__ == "__main__":
    main()
