"""MinHash signatures of shingle sets and of overlapping shingle windows (numba).

Permutation ``p`` is the multiply-shift hash

    h_p(x) = ((a_p * x + b_p) mod 2**64) >> 32,      a_p odd,

applied to 64-bit shingle hashes that are already XXH64 outputs; the signature
entry is ``min_{x in S} h_p(x)`` (uint32).  For two sets ``A``, ``B`` the
probability that entry ``p`` agrees is (up to 2**-32 collisions) the Jaccard
similarity ``|A & B| / |A | B|``, so the fraction of agreeing entries of two
``P``-entry signatures is an unbiased estimate with standard deviation
``sqrt(J (1 - J) / P)`` (``tests/test_minhash.py`` checks this against exact
Jaccard and against datasketch).

Windows.  A document of ``m`` shingles is covered by windows of ``W`` shingles
starting every ``S`` shingles (``W`` a multiple of ``S``), plus one window
flush with the end so that the tail is covered; a document of at most ``W``
shingles is one window.  Signatures of all windows are computed from minima
over blocks of ``S`` shingles: ``O(m * P)`` for the block minima plus
``O((m / S) * (W / S) * P)`` to combine them, instead of ``O((m / S) * W * P)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, uint32, uint64


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Reproducible multiply-shift parameters ``(a, b)`` for ``num_perm`` permutations."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    return a, b


@njit(cache=True, nogil=True, inline="always")
def update_signature(sig, x, a, b):
    """Fold one shingle hash ``x`` into the running minima ``sig``."""
    for p in range(a.shape[0]):
        v = uint32((a[p] * x + b[p]) >> uint64(32))
        if v < sig[p]:
            sig[p] = v


@njit(cache=True, nogil=True)
def signature(shingles, a, b):
    """MinHash signature (uint32[P]) of a set of 64-bit shingle hashes."""
    sig = np.full(a.shape[0], np.uint32(0xFFFFFFFF), dtype=np.uint32)
    for i in range(shingles.shape[0]):
        update_signature(sig, shingles[i], a, b)
    return sig


@njit(cache=True, nogil=True)
def window_count(m, W, S):
    """Number of windows of a document with ``m`` shingles."""
    if m == 0:
        return 0
    if m <= W:
        return 1
    n = (m - W) // S + 1
    if (n - 1) * S + W < m:
        n += 1
    return n


@njit(cache=True, nogil=True)
def _fill_windows(sh, W, S, a, b, starts, sigs, out0):
    """Write the windows of one document into ``starts``/``sigs`` from row ``out0``."""
    m = sh.shape[0]
    P = a.shape[0]
    nw = window_count(m, W, S)
    if nw == 0:
        return
    if m <= W:
        starts[out0] = 0
        sigs[out0, :] = signature(sh, a, b)
        return
    nb = (m + S - 1) // S
    blk = np.full((nb, P), np.uint32(0xFFFFFFFF), dtype=np.uint32)
    for i in range(m):
        update_signature(blk[i // S], sh[i], a, b)
    per = W // S
    aligned = (m - W) // S + 1
    for w in range(aligned):
        r = out0 + w
        starts[r] = w * S
        for p in range(P):
            best = blk[w, p]
            for j in range(1, per):
                v = blk[w + j, p]
                if v < best:
                    best = v
            sigs[r, p] = best
    if nw > aligned:
        r = out0 + aligned
        starts[r] = m - W
        sigs[r, :] = signature(sh[m - W:], a, b)


@njit(cache=True, nogil=True)
def window_signatures(sh, W, S, a, b):
    """``(starts int32[nw], sigs uint32[nw, P])`` for one document's shingles."""
    nw = window_count(sh.shape[0], W, S)
    starts = np.empty(nw, dtype=np.int32)
    sigs = np.empty((nw, a.shape[0]), dtype=np.uint32)
    _fill_windows(sh, W, S, a, b, starts, sigs, 0)
    return starts, sigs


@njit(cache=True, nogil=True, parallel=True)
def window_signatures_batch(sh, offsets, W, S, a, b):
    """Windows of many documents at once, in parallel over documents.

    ``sh[offsets[d]:offsets[d+1]]`` are document ``d``'s shingles.  Returns
    ``(win_offsets int64[D+1], starts int32[nw], sigs uint32[nw, P])`` where
    document ``d`` owns rows ``win_offsets[d]:win_offsets[d+1]``.
    """
    D = offsets.shape[0] - 1
    win_off = np.zeros(D + 1, dtype=np.int64)
    for d in range(D):
        win_off[d + 1] = win_off[d] + window_count(offsets[d + 1] - offsets[d], W, S)
    nw = win_off[D]
    starts = np.empty(nw, dtype=np.int32)
    sigs = np.empty((nw, a.shape[0]), dtype=np.uint32)
    for d in prange(D):
        _fill_windows(sh[offsets[d]:offsets[d + 1]], W, S, a, b, starts, sigs, win_off[d])
    return win_off, starts, sigs


@njit(cache=True, nogil=True, parallel=True)
def signatures_batch(sh, offsets, a, b):
    """One whole-set signature per document (rows of ``uint32[D, P]``), in parallel."""
    D = offsets.shape[0] - 1
    out = np.empty((D, a.shape[0]), dtype=np.uint32)
    for d in prange(D):
        out[d, :] = signature(sh[offsets[d]:offsets[d + 1]], a, b)
    return out


def jaccard_estimate(s1: np.ndarray, s2: np.ndarray) -> float:
    """Fraction of agreeing entries of two signatures (estimates Jaccard)."""
    return float(np.mean(s1 == s2))
