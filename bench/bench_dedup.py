"""Benchmark of ``build-index dedup``: local engine vs a straightforward datasketch pipeline,
corpus scaling, Ray overhead, and quality against the exact ground truth.

    python bench/make_dedup_corpus.py --out /tmp/dd/corpus.jsonl --truth /tmp/dd/truth.npz
    python bench/bench_dedup.py --corpus /tmp/dd/corpus.jsonl --truth /tmp/dd/truth.npz \
        --scales 1,2,4 --ray --out /tmp/dd/bench.json

Every configuration runs in its own subprocess (fresh work directory), so
peak RSS is that run's own (``getrusage`` in the child; the local engine's
sketch workers are reported separately, Ray's worker processes are not counted).  The datasketch pipeline is what one would write
first: regex word tokens of lower-cased text, 5-token shingles, one
``MinHash(num_perm=128).update_batch`` per document, ``MinHashLSH(threshold)``
insert + query, union-find in Python; no verification.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PY = sys.executable


def run_child(args: list[str]) -> tuple[dict, float, float, float]:
    """Run ``bench_dedup.py <args>`` in a subprocess: (its JSON, wall s, cpu s, peak RSS MB)."""
    t = time.perf_counter()
    p = subprocess.Popen([PY, __file__, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate()
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"child {args[0]} failed:\n{err.decode()[-3000:]}")
    res = json.loads(out.decode().strip().splitlines()[-1])
    return res, wall, res.pop("_cpu", 0.0), res.pop("_rss_mb", 0.0)


def _self_usage() -> dict:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"_cpu": r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime, "_rss_mb": r.ru_maxrss / 1024,
            "child_rss_mb": c.ru_maxrss / 1024}


# -- children -----------------------------------------------------------------------
def child_local(inp: str, out: str, workers: int, memory_mb: float, views: str) -> None:
    import shutil

    from build_index.dedup import DedupParams, dedup

    shutil.rmtree(out + ".work", ignore_errors=True)
    r = dedup(inp, out, DedupParams(max_copies=1, views=tuple(views.split(","))), workers=workers,
              memory_mb=memory_mb)
    np.save(out + ".labels.npy", r.label)
    print(json.dumps({**r.report, **_self_usage()}))


def child_ray(inp: str, out: str, cpus: int) -> None:
    import shutil

    from build_index.dedup import DedupParams
    from build_index.dedup_ray import dedup_ray

    shutil.rmtree(out + ".work", ignore_errors=True)
    r = dedup_ray(inp, out, DedupParams(max_copies=1), num_cpus=cpus)
    np.save(out + ".labels.npy", r.label)
    print(json.dumps({**r.report, **_self_usage()}))


WORD = re.compile(r"\w+|[^\w\s]")


def child_datasketch(inp: str, out: str, threshold: float) -> None:
    import orjson
    from datasketch import MinHash, MinHashLSH

    t0 = time.perf_counter()
    docs = [orjson.loads(line) for line in open(inp, "rb") if line.strip()]
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    sigs = []
    for d in docs:
        toks = WORD.findall(d["text"].lower())
        sh = {" ".join(toks[i:i + 5]).encode() for i in range(max(1, len(toks) - 4))}
        m = MinHash(num_perm=128, seed=1)
        m.update_batch(list(sh))
        sigs.append(m)
    t_sig = time.perf_counter() - t0
    t0 = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    for i, m in enumerate(sigs):
        lsh.insert(i, m)
    parent = list(range(len(docs)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    cand = 0
    for i, m in enumerate(sigs):
        for j in lsh.query(m):
            if j != i:
                cand += 1
                a, b = find(i), find(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    t_lsh = time.perf_counter() - t0
    t0 = time.perf_counter()
    labels = np.array([find(i) for i in range(len(docs))], dtype=np.int64)
    keep = np.zeros(len(docs), dtype=bool)
    keep[np.unique(labels, return_index=True)[1]] = True
    with open(out, "wb") as f:
        for d, k in zip(docs, keep):
            if k:
                f.write(orjson.dumps(d) + b"\n")
    t_write = time.perf_counter() - t0
    np.save(out + ".labels.npy", labels)
    print(json.dumps({"docs_in": len(docs), "docs_out": int(keep.sum()), "candidates_directed": cand,
                      "stage_seconds": {"read": t_read, "minhash": t_sig, "lsh+unionfind": t_lsh, "write": t_write},
                      **_self_usage()}))


# -- driver ---------------------------------------------------------------------------
def scaled(corpus: str, k: int, work: Path) -> str:
    """``k`` concatenated copies of the corpus (ids suffixed), as a bigger corpus with more duplication."""
    if k == 1:
        return corpus
    import orjson

    out = work / f"corpus_x{k}.jsonl"
    if not out.exists():
        lines = [orjson.loads(line) for line in open(corpus, "rb") if line.strip()]
        with open(out, "wb") as f:
            for c in range(k):
                for d in lines:
                    f.write(orjson.dumps({**d, "id": f"{d['id']}#{c}"}) + b"\n")
    return str(out)


def per_stage(rep: dict, mb: float) -> dict:
    docs = rep["docs_in"]
    return {s: {"seconds": round(v, 3), "docs_per_s": round(docs / v) if v > 0 else None,
                "mb_per_s": round(mb / v, 1) if v > 0 else None} for s, v in rep["stage_seconds"].items()}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        kind, *rest = sys.argv[1:]
        if kind == "_local":
            child_local(rest[0], rest[1], int(rest[2]), float(rest[3]), rest[4])
        elif kind == "_ray":
            child_ray(rest[0], rest[1], int(rest[2]))
        elif kind == "_datasketch":
            child_datasketch(rest[0], rest[1], float(rest[2]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--truth", default=None, help="ground truth .npz from make_dedup_corpus.py (quality)")
    ap.add_argument("--work", default="/tmp/dedup-bench")
    ap.add_argument("--scales", default="1,2,4")
    ap.add_argument("--no-datasketch", action="store_true")
    ap.add_argument("--ray", action="store_true", help="also run the Ray engine (local Ray on all cores)")
    ap.add_argument("--ray-corpus", default=None, help="corpus for the Ray comparison (default: --corpus)")
    ap.add_argument("--out", default=None, help="write all results as JSON here")
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    cores = os.cpu_count() or 1
    mb = Path(a.corpus).stat().st_size / 1e6
    res: dict = {"corpus": a.corpus, "corpus_mb": round(mb, 1), "cores": cores}
    from make_dedup_corpus import pairwise_scores

    truth = np.load(a.truth)["labels"] if a.truth else None

    def quality(out: str) -> dict | None:
        if truth is None:
            return None
        s = pairwise_scores(np.load(out + ".labels.npy"), truth)
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in s.items()}

    # local engine, 1 and all cores; text view only (the same work as datasketch) and text + code
    for views in ("text", "text,code"):
        for w in sorted({1, cores}):
            name = f"local_{views.replace(',', '+')}_w{w}"
            out = str(work / f"{name}.jsonl")
            rep, wall, cpu, rss = run_child(["_local", a.corpus, out, str(w), "1024", views])
            res[name] = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_mb": round(rss),
                                  "worker_rss_mb": rep.get("peak_child_rss_mb"), "stages": per_stage(rep, mb),
                                  "docs": rep["docs_in"], "docs_out": rep["docs_out"], "candidates": rep["candidates"],
                                  "verified": rep["verified"], "rejected": rep["rejected"],
                                  "engine_s": rep["total_seconds"], "quality": quality(out),
                                  "stage_peak_rss_mb": rep.get("stage_peak_rss_mb")}
            print(f"{name}: {rep['total_seconds']:.1f}s engine, {wall:.1f}s wall, {rss:.0f} MB", flush=True)
    text_runs = [k for k in res if k.startswith("local_text_w")]
    best = min((res[k] for k in text_runs), key=lambda r: r["engine_s"])
    # datasketch
    if not a.no_datasketch:
        out = str(work / "datasketch.jsonl")
        rep, wall, cpu, rss = run_child(["_datasketch", a.corpus, out, "0.8"])
        total = sum(rep["stage_seconds"].values())
        res["datasketch"] = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_mb": round(rss),
                             "stages": per_stage({**rep, "docs_in": rep["docs_in"]}, mb), "engine_s": round(total, 2),
                             "docs_out": rep["docs_out"], "quality": quality(out)}
        res["speedup_end_to_end"] = round(total / best["engine_s"], 1)
        res["speedup_wall"] = round(wall / min(res[k]["wall_s"] for k in text_runs), 1)
        print(f"datasketch: {total:.1f}s ({wall:.1f}s wall, {rss:.0f} MB); local is {res['speedup_end_to_end']}x",
              flush=True)
    # scaling
    res["scaling"] = []
    for k in [int(x) for x in a.scales.split(",") if x]:
        inp = scaled(a.corpus, k, work)
        out = str(work / f"scale_x{k}.jsonl")
        rep, wall, cpu, rss = run_child(["_local", inp, out, "1", "1024", "text,code"])
        res["scaling"].append({"x": k, "mb": round(Path(inp).stat().st_size / 1e6, 1), "docs": rep["docs_in"],
                               "engine_s": rep["total_seconds"], "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                               "peak_rss_mb": round(rss), "worker_rss_mb": rep.get("peak_child_rss_mb"),
                               "candidates": rep["candidates"], "stages": rep["stage_seconds"],
                               "stage_peak_rss_mb": rep.get("stage_peak_rss_mb")})
        print(f"scale x{k}: {rep['total_seconds']:.1f}s, {rss:.0f} MB", flush=True)
    # ray vs local
    if a.ray:
        inp = a.ray_corpus or a.corpus
        rmb = Path(inp).stat().st_size / 1e6
        out_l = str(work / "cmp_local.jsonl")
        rep_l, wall_l, _, rss_l = run_child(["_local", inp, out_l, "1", "1024", "text,code"])
        out_r = str(work / "cmp_ray.jsonl")
        rep_r, wall_r, cpu_r, rss_r = run_child(["_ray", inp, out_r, str(cores)])
        same = bool(np.array_equal(np.load(out_l + ".labels.npy"), np.load(out_r + ".labels.npy"))) and \
            Path(out_l).read_bytes() == Path(out_r).read_bytes()
        res["ray"] = {"corpus_mb": round(rmb, 1), "docs": rep_r["docs_in"], "local_engine_s": rep_l["total_seconds"],
                      "ray_engine_s": rep_r["total_seconds"], "local_wall_s": round(wall_l, 2),
                      "ray_wall_s": round(wall_r, 2), "overhead_x": round(wall_r / wall_l, 1),
                      "ray_stages": rep_r["stage_seconds"], "local_stages": rep_l["stage_seconds"],
                      "same_kept_set": same, "ray_driver_rss_mb": round(rss_r),
                      "candidates": [rep_l["candidates"], rep_r["candidates"]],
                      "verified": [rep_l["verified"], rep_r["verified"]]}
        print(f"ray: {wall_r:.1f}s wall vs local {wall_l:.1f}s; same kept set: {same}", flush=True)
    js = json.dumps(res, indent=2)
    if a.out:
        Path(a.out).write_text(js + "\n")
    print(js)


if __name__ == "__main__":
    main()
