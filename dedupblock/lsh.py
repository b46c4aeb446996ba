"""Banded LSH over MinHash signatures.

With ``b`` bands of ``r`` rows, two windows of Jaccard similarity ``s`` share
at least one band key with probability

    P(candidate | s) = 1 - (1 - s**r)**b.

:func:`optimal_params` picks ``(b, r)`` with ``b * r <= num_perm`` that
minimises ``fp_weight * FP + fn_weight * FN`` where
``FP = integral_0^t P(s) ds`` and ``FN = integral_t^1 (1 - P(s)) ds`` (the same
criterion as ``datasketch.lsh._optimal_param``).  Verification downstream is
exact, so a false candidate costs time, not a wrong verdict: the index weights
false negatives more by default.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit, prange, uint64

from dedupblock.hashing import band_hash


def candidate_probability(s: np.ndarray | float, b: int, r: int) -> np.ndarray | float:
    """The S-curve ``1 - (1 - s**r)**b``."""
    return 1.0 - (1.0 - np.power(s, r)) ** b


def _area(f, lo: float, hi: float, n: int = 2001) -> float:
    xs = np.linspace(lo, hi, n)
    ys = f(xs)
    return float(np.sum((ys[1:] + ys[:-1]) * 0.5 * np.diff(xs)))


@lru_cache(maxsize=256)
def optimal_params(threshold: float, num_perm: int, fp_weight: float = 0.5,
                   fn_weight: float = 0.5) -> tuple[int, int]:
    """``(bands, rows)`` minimising the weighted false-positive/negative areas."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"LSH threshold must be in (0, 1), got {threshold}")
    best, best_err = (1, num_perm), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = _area(lambda s: candidate_probability(s, b, r), 0.0, threshold)
            fn = _area(lambda s: 1.0 - candidate_probability(s, b, r), threshold, 1.0)
            err = fp_weight * fp + fn_weight * fn
            if err < best_err:
                best, best_err = (b, r), err
    return best


def resolve_bands(threshold: float, num_perm: int, bands: int, rows: int, fn_weight: float) -> tuple[int, int]:
    """``(bands, rows)`` as given, or (when either is 0) optimal for ``threshold``; validated."""
    if bands <= 0 or rows <= 0:
        bands, rows = optimal_params(threshold, num_perm, 1.0 - fn_weight, fn_weight)
    if bands * rows > num_perm:
        raise ValueError(f"bands x rows = {bands * rows} exceeds num_perm = {num_perm}")
    return bands, rows


@njit(cache=True, nogil=True, inline="always")
def _band_row(row, bands, rows, seed_base, out):
    for j in range(bands):
        out[j] = band_hash(row, j * rows, rows, uint64(seed_base + j))


@njit(cache=True, nogil=True, parallel=True)
def band_keys(sigs, bands, rows, seed_base):
    """``uint64[n, bands]``: key of band ``j`` = XXH64 of its rows, seed ``seed_base + j``.

    ``seed_base`` separates the key spaces of the index's views (text, code).
    """
    out = np.empty((sigs.shape[0], bands), dtype=np.uint64)
    for i in prange(sigs.shape[0]):
        _band_row(sigs[i], bands, rows, seed_base, out[i])
    return out


@njit(cache=True, nogil=True)
def band_keys_serial(sigs, bands, rows, seed_base):
    """:func:`band_keys` without threads, for per-query use (no pool start-up)."""
    out = np.empty((sigs.shape[0], bands), dtype=np.uint64)
    for i in range(sigs.shape[0]):
        _band_row(sigs[i], bands, rows, seed_base, out[i])
    return out
