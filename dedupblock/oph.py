"""One-permutation MinHash (OPH) with optimal densification (numba).

Classic MinHash (:mod:`dedupblock.minhash`) applies ``K`` permutations to
every element: ``O(K)`` work per shingle, which is most of the cost of a
whole-document signature once tokenising is compiled.  One-permutation
hashing (Li, Owen & Zhang, NIPS 2012) hashes each element once and splits
the hash range into ``K`` bins:

    bin(x) = ((x >> 32) * K) >> 32,     value(x) = x mod 2**32,
    sig[i] = min { value(x) : x in S, bin(x) = i },

for 64-bit shingle hashes ``x`` that are already XXH64 outputs (the high and
low halves are independent).  Two sets agree in a non-empty bin with
probability ``J``.  A bin that no element of the set falls into is filled by
*optimal densification* (Shrivastava, ICML 2017): empty bin ``i`` probes bins
``g(i, 1), g(i, 2), ...`` of a hash sequence that is the same for every set
and copies the first non-empty one.  After densification every entry of two
signatures agrees with probability ``J`` (for non-empty sets), so, as with
classic MinHash, the fraction of agreeing entries estimates Jaccard
similarity; its variance is that of ``K``-permutation MinHash for sets much
larger than ``K`` and somewhat larger for sets with many empty bins
(``tests/test_oph.py`` checks the estimate against exact Jaccard).

Cost: one multiply, shift and compare per shingle instead of ``K``.  OPH
signatures are *not* interchangeable with classic ones (other hash
functions); they are used for whole documents only (corpus dedup), never for
the windows of an index, which hold 32 shingles - fewer than the bins.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, uint32, uint64

EMPTY = np.uint32(0xFFFFFFFF)


@njit(cache=True, nogil=True, inline="always")
def _mix(z):
    """splitmix64 finaliser: a fixed, well-mixed function of a 64-bit word."""
    z = (z ^ (z >> uint64(30))) * uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> uint64(27))) * uint64(0x94D049BB133111EB)
    return z ^ (z >> uint64(31))


@njit(cache=True, nogil=True, inline="always")
def oph_update(sig, filled, x, K):
    """Fold one 64-bit element hash ``x`` into its bin."""
    b = ((x >> uint64(32)) * uint64(K)) >> uint64(32)
    v = uint32(x & uint64(0xFFFFFFFF))
    if not filled[b] or v < sig[b]:
        sig[b] = v
        filled[b] = True


@njit(cache=True, nogil=True)
def oph_densify(sig, filled, seed):
    """Fill every empty bin from the first non-empty bin of its probe sequence."""
    K = sig.shape[0]
    any_filled = False
    for i in range(K):
        if filled[i]:
            any_filled = True
            break
    if not any_filled:
        return  # empty set: every entry stays EMPTY, as in minhash.signature
    src = sig.copy()
    s = uint64(seed)
    for i in range(K):
        if filled[i]:
            continue
        t = uint64(1)
        while True:
            j = (_mix(s ^ (uint64(i) << uint64(32)) ^ t) >> uint64(32)) * uint64(K) >> uint64(32)
            if filled[j]:
                sig[i] = src[j]
                break
            t += uint64(1)


@njit(cache=True, nogil=True)
def oph_signature(shingles, K, seed):
    """OPH signature (uint32[K]) of a set of 64-bit shingle hashes."""
    sig = np.full(K, EMPTY, dtype=np.uint32)
    filled = np.zeros(K, dtype=np.bool_)
    for i in range(shingles.shape[0]):
        oph_update(sig, filled, shingles[i], K)
    oph_densify(sig, filled, seed)
    return sig


@njit(cache=True, nogil=True, parallel=True)
def oph_signatures_batch(sh, offsets, K, seed):
    """One OPH signature per document (rows of ``uint32[D, K]``), in parallel."""
    D = offsets.shape[0] - 1
    out = np.empty((D, K), dtype=np.uint32)
    for d in prange(D):
        out[d, :] = oph_signature(sh[offsets[d]:offsets[d + 1]], K, seed)
    return out


__all__ = ["EMPTY", "oph_densify", "oph_signature", "oph_signatures_batch", "oph_update"]
