"""Helpers shared by the benchmark scripts: corpora, machine info, timing, tables.

Nothing here imports dedupblock, so the scripts can time its import separately.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

DEV_CORPUS = "/work/shared/data/dev/corpus.jsonl"
DEV_QUERIES = "/work/shared/data/dev/queries.jsonl"

#: The tokenizer the pure-Python contenders use (same token definition as
#: dedupblock's text featurizer on ASCII text: ``\w+`` runs and single
#: punctuation marks, lower-cased).
PY_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD = re.compile(r"\S+")


# -- corpora ------------------------------------------------------------------
def load_jsonl(path: str | os.PathLike, limit: int | None = None) -> list[dict[str, Any]]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line))
                if limit is not None and len(out) >= limit:
                    break
    return out


def load_texts(path: str | os.PathLike = DEV_CORPUS, limit: int | None = None) -> list[str]:
    """The ``text`` field of every record (non-empty ones), in file order."""
    return [r["text"] for r in load_jsonl(path, limit) if r.get("text")]


def utf8_bytes(texts: Iterable[str]) -> int:
    return sum(len(t.encode("utf-8", "surrogatepass")) for t in texts)


def py_shingles(text: str, k: int = 5) -> list[str]:
    """Word k-grams (space-joined) of lower-cased text; one shingle if < k tokens."""
    toks = PY_TOKEN.findall(text.lower())
    if not toks:
        return []
    if len(toks) < k:
        return [" ".join(toks)]
    return [" ".join(toks[i:i + k]) for i in range(len(toks) - k + 1)]


def perturb(text: str, rng: random.Random, rate: float, vocab: Sequence[str] | None = None) -> str:
    """Word-level edits: each whitespace-separated word is, with probability
    ``rate``, replaced (by a word from ``vocab`` or a random 6-letter word),
    dropped, or followed by an inserted word (equal odds).  Whitespace runs
    between words are kept, so code keeps its line structure."""
    parts = re.split(r"(\s+)", text)
    out = []
    for p in parts:
        if not p or p.isspace() or rng.random() >= rate:
            out.append(p)
            continue
        op = rng.randrange(3)
        new = rng.choice(vocab) if vocab else "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6))
        if op == 0:
            out.append(new)
        elif op == 1:
            out.append("")
        else:
            out.append(p + " " + new)
    return "".join(out)


def shuffle_paragraphs(text: str, rng: random.Random) -> str:
    paras = re.split(r"\n\s*\n", text)
    rng.shuffle(paras)
    return "\n\n".join(paras)


def vocabulary(texts: Iterable[str], max_words: int = 50000) -> list[str]:
    seen: dict[str, None] = {}
    for t in texts:
        for w in _WORD.findall(t):
            if w.isalpha() and len(w) > 2:
                seen.setdefault(w, None)
                if len(seen) >= max_words:
                    return list(seen)
    return list(seen)


# -- machine and process ---------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
    try:
        mem = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1]
        info["mem_gb"] = round(int(mem) / 2**20, 1)
    except (OSError, IndexError, ValueError):
        pass
    try:
        from importlib.metadata import version
        for pkg in ("numpy", "numba", "datasketch", "rensa", "lmdb"):
            try:
                info[pkg] = version(pkg)
            except Exception:  # noqa: BLE001 - optional package
                info[pkg] = "-"
    except ImportError:
        pass
    return info


def print_machine(info: dict[str, Any] | None = None) -> None:
    info = info or machine_info()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    print(f"load average at start: {load_average()}")


def load_average() -> str:
    """``/proc/loadavg``: other processes on the machine skew wall-clock numbers."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def proc_status_kb(field: str) -> int:
    """A ``/proc/self/status`` field in kB (``VmHWM`` = peak RSS, ``VmRSS`` = now)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    if field == "VmHWM":
        import resource
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return 0


def rss_mb() -> float:
    return proc_status_kb("VmRSS") / 1024.0


def peak_rss_mb() -> float:
    return proc_status_kb("VmHWM") / 1024.0


# -- timing ---------------------------------------------------------------------
def best_of(fn: Callable[[], Any], min_runs: int = 1, max_runs: int = 3, budget_s: float = 4.0,
            clock: Callable[[], float] = time.perf_counter) -> tuple[float, Any]:
    """Run ``fn`` at least ``min_runs`` times, more (up to ``max_runs``) while the
    total stays under ``budget_s``; returns the fastest time on ``clock`` (wall
    time by default; ``time.thread_time`` = CPU time of this thread, which is
    immune to other processes competing for the cores) and the last result."""
    times: list[float] = []
    result = None
    while True:
        t0 = clock()
        result = fn()
        times.append(clock() - t0)
        if len(times) >= max_runs or (len(times) >= min_runs and sum(times) + times[-1] > budget_s):
            break
    return min(times), result


def percentiles_ms(samples_s: Sequence[float], qs: Sequence[float] = (50, 99, 99.9)) -> dict[str, float]:
    """Nearest-rank percentiles of samples given in seconds, in milliseconds."""
    xs = sorted(samples_s)
    out = {}
    for q in qs:
        i = min(len(xs) - 1, max(0, int(round(q / 100.0 * len(xs) + 0.5)) - 1))
        out[f"p{q:g}"] = xs[i] * 1e3
    out["mean"] = statistics.fmean(xs) * 1e3
    return out


# -- tables ---------------------------------------------------------------------
def fmt(x: Any, digits: int = 3) -> str:
    if isinstance(x, float):
        if x != x:  # NaN
            return "-"
        if abs(x) >= 100:
            return f"{x:,.0f}"
        if abs(x) >= 10:
            return f"{x:.1f}"
        return f"{x:.{digits}g}" if abs(x) < 1 else f"{x:.2f}"
    return str(x)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-markdown table (also readable on a terminal)."""
    cells = [[fmt(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    def line(vals: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(vals, widths))) + " |"
    sep = "|" + "|".join(("-" * (w + 2)) if i == 0 else ("-" * (w + 1) + ":") for i, w in enumerate(widths)) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in cells)])


def write_json(path: str | None, data: Any) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2, default=str))
