"""Ground-truth corpus for ``build-index dedup``: real documents plus injected near-duplicates.

Every base document gets 0..``--max-edited`` edited copies (uniform); a copy
has a fraction ``U(0, --max-edit-rate)`` of its word tokens substituted,
deleted or inserted (random positions, a random word from the corpus
vocabulary).  Copies are shuffled in among the originals.

The ground truth does not come from the generator's intent but from the
sets themselves: every pair of documents whose *exact* Jaccard similarity of
document shingle sets (the same featurizer and shingles as the dedup job) is
>= T, found by an exact all-pairs similarity join (prefix filtering on a
global rarest-first shingle order: two sets with J >= t must share a token
among the first ``|x| - ceil(t |x|) + 1`` of each, so the join misses nothing).
The reference clustering is the connected components of those pairs: what a
perfect dedup at threshold T would output.  Pairwise precision / recall of a
clustering against it is computed by :func:`pairwise_scores`.

    python bench/make_dedup_corpus.py --out /tmp/dd/corpus.jsonl --truth /tmp/dd/truth.npz
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np
import orjson
from numba import njit, prange

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from build_index.dedup import DedupParams, accept, sketch_batch  # noqa: E402
from build_index.unionfind import components  # noqa: E402
from dedupblock.featurize.route import Router  # noqa: E402
from dedupblock.minhash import permutations  # noqa: E402

DEV_CORPUS = "/work/shared/data/dev/corpus.jsonl"
WORD = re.compile(r"\w+")


def edit_text(text: str, rate: float, vocab: list[str], rng: np.random.Generator) -> tuple[str, int]:
    words = [(m.start(), m.end()) for m in WORD.finditer(text)]
    n = max(1, int(round(rate * len(words)))) if rate > 0 and words else 0
    if n == 0:
        return text, 0
    pos = np.sort(rng.choice(len(words), size=min(n, len(words)), replace=False))[::-1]
    ops = rng.integers(0, 3, size=pos.shape[0])
    for p, op in zip(pos, ops):
        s, e = words[p]
        w = vocab[int(rng.integers(len(vocab)))]
        if op == 0:  # substitute
            text = text[:s] + w + text[e:]
        elif op == 1:  # delete (with one following space if any)
            e2 = e + 1 if e < len(text) and text[e] == " " else e
            text = text[:s] + text[e2:]
        else:  # insert before
            text = text[:s] + w + " " + text[s:]
    return text, int(pos.shape[0])


def make_corpus(base: str, n_docs: int | None, max_edited: int, max_edit_rate: float, seed: int
                ) -> list[dict]:
    rng = np.random.default_rng(seed)
    docs = [orjson.loads(line) for line in open(base, "rb") if line.strip()]
    if n_docs is not None and n_docs < len(docs):
        docs = [docs[i] for i in sorted(rng.choice(len(docs), size=n_docs, replace=False))]
    vocab = sorted({w for d in docs[:200] for w in WORD.findall(d["text"])})
    out = []
    for d in docs:
        rec = {k: d[k] for k in ("id", "text", "lang") if k in d}
        rec["origin"] = d["id"]
        out.append(rec)
        for c in range(int(rng.integers(0, max_edited + 1))):
            rate = float(rng.uniform(0.0, max_edit_rate))
            text, edits = edit_text(d["text"], rate, vocab, rng)
            out.append({"id": f"{d['id']}~{c:02d}", "text": text, "lang": d.get("lang"), "origin": d["id"],
                        "edits": edits, "edit_rate": round(rate, 4)})
    order = rng.permutation(len(out))
    return [out[i] for i in order]


# -- exact ground truth ---------------------------------------------------------
def shingle_sets(docs: list[dict], params: DedupParams) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(unit_doc, unit_view, offsets, sorted unique shingles)``: the dedup job's sets."""
    router = Router(seed=params.seed, views=set(params.views))
    a, b = permutations(params.num_perm, params.seed)
    ud, uv, lens, shs = [], [], [], []
    for lo in range(0, len(docs), 2048):
        chunk = docs[lo:lo + 2048]
        u = sketch_batch(router, params, a, b, [d["text"] for d in chunk], [d.get("lang") for d in chunk])
        ud.append(u["doc"] + lo)
        uv.append(u["view"])
        lens.append(u["len"])
        shs.append(u["shingles"])
    off = np.zeros(sum(len(x) for x in lens) + 1, dtype=np.int64)
    np.cumsum(np.concatenate(lens), out=off[1:])
    return np.concatenate(ud), np.concatenate(uv), off, np.concatenate(shs)


@njit(cache=True)
def _prefix_join(rk_sorted, off, plen, inv_off, inv_units, t):
    """Candidates y > x sharing a prefix token, length filtered; returns (x, y) arrays."""
    U = off.shape[0] - 1
    counts = np.zeros(U, dtype=np.int64)
    res = [np.zeros(0, dtype=np.int64) for _ in range(U)]
    for x in range(U):
        nx = off[x + 1] - off[x]
        tot = 0
        for i in range(plen[x]):
            tok = rk_sorted[off[x] + i]
            tot += inv_off[tok + 1] - inv_off[tok]
        buf = np.empty(tot, dtype=np.int64)
        w = 0
        for i in range(plen[x]):
            tok = rk_sorted[off[x] + i]
            for j in range(inv_off[tok], inv_off[tok + 1]):
                y = inv_units[j]
                if y > x:
                    ny = off[y + 1] - off[y]
                    if ny >= t * nx - 1e-9 and nx >= t * ny - 1e-9:
                        buf[w] = y
                        w += 1
        c = np.unique(buf[:w])
        res[x] = c
        counts[x] = c.shape[0]
    total = counts.sum()
    xs = np.empty(total, dtype=np.int64)
    ys = np.empty(total, dtype=np.int64)
    o = 0
    for x in range(U):
        for y in res[x]:
            xs[o] = x
            ys[o] = y
            o += 1
    return xs, ys


@njit(cache=True, parallel=True)
def _exact_j(sh, off, xs, ys):
    out = np.empty(xs.shape[0], dtype=np.float64)
    for i in prange(xs.shape[0]):
        a, b = xs[i], ys[i]
        p, q = off[a], off[b]
        c = 0
        while p < off[a + 1] and q < off[b + 1]:
            if sh[p] == sh[q]:
                c += 1
                p += 1
                q += 1
            elif sh[p] < sh[q]:
                p += 1
            else:
                q += 1
        na = off[a + 1] - off[a]
        nb = off[b + 1] - off[b]
        out[i] = c / (na + nb - c) if na + nb > 0 else 0.0
    return out


def exact_pairs(unit_doc: np.ndarray, unit_view: np.ndarray, off: np.ndarray, sh: np.ndarray, t: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """All document pairs ``(i < j)`` with some view's exact shingle-set Jaccard >= ``t``, and that Jaccard."""
    U = off.shape[0] - 1
    # global rarest-first order of shingles: rank = position among (df, hash)
    uniq, inv, df = np.unique(sh, return_inverse=True, return_counts=True)
    order = np.lexsort((uniq, df))
    rank_of = np.empty(uniq.shape[0], dtype=np.int64)
    rank_of[order] = np.arange(uniq.shape[0])
    rk = rank_of[inv]
    unit_of = np.repeat(np.arange(U), np.diff(off))
    srt = np.lexsort((rk, unit_of))  # by unit, then rank
    rk_sorted = rk[srt]
    n = np.diff(off)
    plen = np.where(n > 0, n - np.ceil(t * n - 1e-9).astype(np.int64) + 1, 0)
    # inverted index of prefix tokens
    pos_in_unit = np.arange(sh.shape[0]) - np.repeat(off[:-1], n)
    is_pref = pos_in_unit < np.repeat(plen, n)
    ptok = rk_sorted[is_pref]
    punit = unit_of[is_pref]
    o = np.argsort(ptok, kind="stable")
    inv_units = punit[o]
    inv_off = np.zeros(uniq.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(ptok, minlength=uniq.shape[0]), out=inv_off[1:])
    xs, ys = _prefix_join(rk_sorted, off, plen, inv_off, inv_units, t)
    ok = unit_view[xs] == unit_view[ys]
    xs, ys = xs[ok], ys[ok]
    j = _exact_j(sh, off, xs, ys)
    keep = accept(j, t)
    da, db = unit_doc[xs[keep]], unit_doc[ys[keep]]
    lo, hi = np.minimum(da, db), np.maximum(da, db)
    m = lo != hi
    pairs = np.stack([lo[m], hi[m]], axis=1)
    return pairs, j[keep][m]


def pairwise_scores(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Pairwise precision / recall / F1 of clustering ``pred`` against ``truth`` (labels per document)."""
    def pairs(counts: np.ndarray) -> int:
        c = counts.astype(np.int64)
        return int((c * (c - 1) // 2).sum())

    _, cp = np.unique(pred, return_counts=True)
    _, ct = np.unique(truth, return_counts=True)
    _, cb = np.unique(pred.astype(np.int64) * (int(truth.max()) + 1) + truth, return_counts=True)
    tp, pp, tt = pairs(cb), pairs(cp), pairs(ct)
    p = tp / pp if pp else 1.0
    r = tp / tt if tt else 1.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "true_pairs": tt,
            "predicted_pairs": pp, "tp_pairs": tp}


def truth_labels(n_docs: int, pairs: np.ndarray) -> np.ndarray:
    return components(n_docs, pairs[:, 0], pairs[:, 1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default=DEV_CORPUS)
    ap.add_argument("--out", required=True, help="corpus JSONL to write")
    ap.add_argument("--truth", required=True, help="ground truth .npz to write (pairs, jaccard, labels)")
    ap.add_argument("--docs", type=int, default=None, help="base documents to sample (default: all)")
    ap.add_argument("--max-edited", type=int, default=20)
    ap.add_argument("--max-edit-rate", type=float, default=0.03)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    t0 = time.perf_counter()
    docs = make_corpus(a.base, a.docs, a.max_edited, a.max_edit_rate, a.seed)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    with open(a.out, "wb") as f:
        for d in docs:
            f.write(orjson.dumps(d) + b"\n")
    t1 = time.perf_counter()
    params = DedupParams(threshold=a.threshold)
    ud, uv, off, sh = shingle_sets(docs, params)
    pairs, j = exact_pairs(ud, uv, off, sh, a.threshold)
    labels = truth_labels(len(docs), pairs)
    origin = np.array([d["origin"] for d in docs])
    np.savez(a.truth, pairs=pairs, jaccard=j, labels=labels, threshold=a.threshold, origin=origin)
    sizes = np.bincount(labels)
    print(f"{len(docs)} docs ({sum(len(d['text']) for d in docs) / 1e6:.1f} M chars) -> {a.out} in {t1 - t0:.1f}s; "
          f"ground truth: {pairs.shape[0]} pairs at J >= {a.threshold}, {int((sizes >= 2).sum())} true clusters "
          f"(largest {int(sizes.max())}) in {time.perf_counter() - t1:.1f}s -> {a.truth}")


if __name__ == "__main__":
    main()
