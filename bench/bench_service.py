"""Benchmarks of the inline filter (docs/inline-filter.md).

    python bench/bench_service.py stream  --index IDX [--queries Q] [--limit N]
    python bench/bench_service.py inproc  --index IDX [--queries Q] [--repeat 3]
    python bench/bench_service.py startup --index IDX [--runs 5]
    python bench/bench_service.py http    --index IDX [--workers 2] [--duration 60] [--concurrency 8]

``stream``: every query fed to a StreamGuard in random chunks (1-24 chars):
block decision vs the non-streaming check, characters of the copy released
before the block, detection delay, cost per chunk.  ``inproc``: Blocker.check
latency percentiles.  ``startup``: a fresh process opening the index and
answering its first check (numba cache warm).  ``http``: ``dedupblock serve``
on 127.0.0.1 under a closed-loop load of /v1/check requests (httpx async),
bounded by ``--duration`` and ``--max-requests``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

DEV = Path("/work/shared/data/dev/queries.jsonl")
ROOT = Path(__file__).resolve().parent.parent


def load(path: Path, limit: int | None = None) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        qs = [json.loads(line) for line in f if line.strip()]
    return qs[:limit] if limit else qs


def pct(xs: list[float], ps: tuple[float, ...] = (50, 99, 99.9)) -> dict[str, float]:
    a = np.asarray(xs, dtype=float)
    return {f"p{p:g}": float(np.percentile(a, p)) for p in ps} | {"max": float(a.max()), "mean": float(a.mean())}


# -- stream -----------------------------------------------------------------
def bench_stream(args: argparse.Namespace) -> dict:
    from dedupblock import Blocker
    from dedupblock.stream import StreamGuard

    b = Blocker(args.index)
    qs = load(args.queries, args.limit)
    rng = random.Random(args.seed)
    res: dict = {"queries": len(qs), "mismatch": [], "by_kind": {}}
    kinds: dict[str, dict] = defaultdict(lambda: defaultdict(list))
    feed_s: list[float] = []
    check_s: list[float] = []
    region_leak: list[int] = []
    passage_leak_vb: list[int] = []
    delay: list[int] = []
    t0 = time.perf_counter()
    for q in qs:
        text, lang = q["text"], q["lang"]
        full = b.check(text, lang)
        g = StreamGuard(b, lang=lang, check_every=args.check_every)
        released, i, fired_at = 0, 0, None
        while i < len(text):
            k = rng.randint(1, 24)
            t = time.perf_counter()
            released += len(g.feed(text[i:i + k]))
            feed_s.append(time.perf_counter() - t)
            i += k
            if g.fired:
                fired_at = i
                break
        released += len(g.finish())
        if g.fired and fired_at is None:
            fired_at = len(text)
        if g.checks:
            check_s.append(g.check_seconds / g.checks)
        if g.fired != full.blocked:
            prefix_blocks = bool(fired_at) and b.check(text[:fired_at], lang).blocked
            res["mismatch"].append({"qid": q["qid"], "kind": q["kind"], "stream": g.fired, "full": full.blocked,
                                    "prefix_check_blocks": prefix_blocks})
        kd = kinds[q["kind"]]
        kd["n"].append(1)
        kd["stream_blocked"].append(int(g.fired))
        kd["full_blocked"].append(int(full.blocked))
        if full.blocked and g.fired:
            spans = [sp.output for m in full.matches if m.rule for sp in m.spans]
            rl = max([max(0, min(released, e) - s) for s, e in spans] or [0])
            region_leak.append(rl)
            kd["region_leak"].append(rl)
            m = q.get("meta") or {}
            ps, pl = (m.get("passage_offset", 0), m.get("passage_len", len(text))) if q["kind"] == "embedded" \
                else (0, len(text))
            pleak = max(0, min(released, ps + pl) - ps)
            kd["passage_leak"].append(pleak)
            if q["kind"] in ("verbatim", "embedded", "short_verbatim"):
                passage_leak_vb.append(pleak)
            first = min(s for s, _ in spans) if spans else ps
            delay.append(max(0, (fired_at or len(text)) - first))  # copy chars buffered before the block
    res["seconds"] = round(time.perf_counter() - t0, 1)
    for kind, kd in sorted(kinds.items()):
        res["by_kind"][kind] = {
            "n": len(kd["n"]), "stream_blocked": sum(kd["stream_blocked"]), "full_blocked": sum(kd["full_blocked"]),
            "region_leak_max": max(kd["region_leak"] or [0]), "passage_leak_max": max(kd["passage_leak"] or [0]),
            "passage_leak_mean": round(float(np.mean(kd["passage_leak"])) if kd["passage_leak"] else 0, 1)}
    res["region_leak"] = {"max": max(region_leak or [0]), "nonzero": sum(1 for x in region_leak if x),
                          "of": len(region_leak)}
    res["passage_leak_verbatim_embedded_max"] = max(passage_leak_vb or [0])
    res["detection_delay_chars"] = pct([float(x) for x in delay], (50, 90, 99)) if delay else {}
    res["feed_ms"] = {k: round(v * 1e3, 3) for k, v in pct(feed_s).items()}
    res["check_ms"] = {k: round(v * 1e3, 3) for k, v in pct(check_s).items()}
    res["chunks"] = len(feed_s)
    return res


# -- in-process latency -----------------------------------------------------
def bench_inproc(args: argparse.Namespace) -> dict:
    from dedupblock import Blocker

    b = Blocker(args.index)
    qs = load(args.queries, args.limit)
    for q in qs[:50]:
        b.check(q["text"], q["lang"])
    lat = []
    for _ in range(args.repeat):
        for q in qs:
            t = time.perf_counter()
            b.check(q["text"], q["lang"])
            lat.append(time.perf_counter() - t)
    chars = float(np.mean([len(q["text"]) for q in qs]))
    return {"checks": len(lat), "mean_chars": round(chars), **{k: round(v * 1e3, 3) for k, v in pct(lat).items()},
            "unit": "ms"}


# -- start-up -----------------------------------------------------------------
STARTUP = r"""
import sys, time
t0 = time.perf_counter()
from dedupblock.blocker import Blocker
t1 = time.perf_counter()
b = Blocker(sys.argv[1])
t2 = time.perf_counter()
b.check("A first check of an ordinary sentence, to load every kernel. " * 4)
t3 = time.perf_counter()
import json; print(json.dumps({"import_s": t1 - t0, "open_s": t2 - t1, "first_check_s": t3 - t2, "total_s": t3 - t0}))
"""


def bench_startup(args: argparse.Namespace) -> dict:
    runs = []
    for _ in range(args.runs + 1):  # the first run warms the numba cache and the page cache
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", STARTUP, str(args.index)], capture_output=True, text=True,
                             check=True, cwd=ROOT)
        d = json.loads(out.stdout.strip().splitlines()[-1])
        d["process_s"] = time.perf_counter() - t
        runs.append(d)
    runs = runs[1:]
    return {k: round(float(np.median([r[k] for r in runs])), 3) for k in runs[0]} | {"runs": len(runs),
                                                                                     "stat": "median"}


# -- HTTP -----------------------------------------------------------------------
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _load(url: str, bodies: list[bytes], duration: float, concurrency: int, max_requests: int,
                headers: dict[str, str]) -> dict:
    import httpx

    lat: list[float] = []
    errors: dict[str, int] = defaultdict(int)
    blocked = 0
    stop = time.perf_counter() + duration
    count = 0

    async def worker(client: httpx.AsyncClient, wid: int) -> None:
        nonlocal count, blocked
        i = wid
        while time.perf_counter() < stop and count < max_requests:
            count += 1
            body = bodies[i % len(bodies)]
            i += concurrency
            t = time.perf_counter()
            try:
                r = await client.post(url, content=body, headers=headers)
                if r.status_code != 200:
                    errors[str(r.status_code)] += 1
                    continue
                blocked += r.json()["blocked"]
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1
                continue
            lat.append(time.perf_counter() - t)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client, w) for w in range(concurrency)))
        wall = time.perf_counter() - t0
    out = {"requests": len(lat) + sum(errors.values()), "ok": len(lat), "errors": dict(errors),
           "blocked": blocked, "seconds": round(wall, 2), "rps": round(len(lat) / wall, 1)}
    if lat:
        out |= {k: round(v * 1e3, 2) for k, v in pct(lat).items()}
    return out


def bench_http(args: argparse.Namespace) -> dict:
    import httpx

    qs = load(args.queries, args.limit)
    bodies = [json.dumps({"text": q["text"], "lang": q["lang"]}).encode() for q in qs]
    random.Random(1).shuffle(bodies)
    port = args.port or _free_port()
    env = {**os.environ, "DEDUPBLOCK_API_KEY": "bench-key"}
    cmd = [sys.executable, "-m", "dedupblock.cli", "serve", "--index", str(args.index), "--port", str(port),
           "--workers", str(args.workers), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.perf_counter()
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - t0 > 60 or proc.poll() is not None:
                raise SystemExit("server did not start")
            time.sleep(0.1)
        ready_s = time.perf_counter() - t0
        headers = {"Authorization": "Bearer bench-key", "content-type": "application/json"}
        asyncio.run(_load(base + "/v1/check", bodies[:200], 3, args.concurrency, 10**9, headers))  # warm-up
        res = asyncio.run(_load(base + "/v1/check", bodies, args.duration, args.concurrency, args.max_requests,
                                headers))
        metrics = httpx.get(base + "/metrics", headers=headers, timeout=5).text
        checks = sum(float(line.split()[-1]) for line in metrics.splitlines()
                     if line.startswith("dedupblock_checks_total"))
        res |= {"workers": args.workers, "concurrency": args.concurrency, "server_ready_s": round(ready_s, 2),
                "metrics_checks_total": checks, "unit": "ms"}
        return res
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["stream", "inproc", "startup", "http"])
    ap.add_argument("--index", required=True, type=Path)
    ap.add_argument("--queries", type=Path, default=DEV)
    ap.add_argument("--limit", type=int, default=None, help="use the first N queries only")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check-every", type=int, default=0, help="StreamGuard check_every (stream)")
    ap.add_argument("--repeat", type=int, default=3, help="passes over the queries (inproc)")
    ap.add_argument("--runs", type=int, default=5, help="fresh processes (startup)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load (http)")
    ap.add_argument("--concurrency", type=int, default=8, help="requests in flight (http)")
    ap.add_argument("--max-requests", type=int, default=2_000_000, help="stop after this many requests (http)")
    args = ap.parse_args()
    fn = {"stream": bench_stream, "inproc": bench_inproc, "startup": bench_startup, "http": bench_http}[args.what]
    print(json.dumps(fn(args), indent=2))


if __name__ == "__main__":
    main()
