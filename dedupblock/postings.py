"""Band-key postings: sorted uint64 keys with a radix directory, searched in numba.

A segment maps LSH band keys to document numbers.  It is three flat arrays,
stored as-is in LMDB and searched in place through zero-copy buffers:

* ``keys``  uint64[n], sorted;
* ``docs``  uint32[n], the document number of each key;
* ``dirs``  int64[2**bits + 1]: ``dirs[t]`` is the first position whose key has
  top-``bits`` prefix ``>= t``.

A lookup reads one directory slot and binary-searches a run that holds about
``n / 2**bits`` (~4) keys: two or three cache misses instead of ``log2(n)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, uint64


def directory_bits(n: int) -> int:
    """About four keys per directory slot, at least 2**4 slots."""
    if n <= 64:
        return 4
    return max(4, int(np.ceil(np.log2(n / 4.0))))


@njit(cache=True, nogil=True)
def _directory(keys, bits):
    shift = uint64(64 - bits)
    size = 1 << bits
    dirs = np.empty(size + 1, dtype=np.int64)
    j = 0
    n = keys.shape[0]
    for t in range(size + 1):
        while j < n and (keys[j] >> shift) < uint64(t):
            j += 1
        dirs[t] = j
    return dirs


@dataclass(frozen=True)
class Segment:
    keys: np.ndarray
    docs: np.ndarray
    dirs: np.ndarray

    @property
    def bits(self) -> int:
        return int(self.dirs.shape[0] - 1).bit_length() - 1

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.docs.nbytes + self.dirs.nbytes)

    @staticmethod
    def build(keys: np.ndarray, docs: np.ndarray) -> "Segment":
        """Sort ``(key, doc)`` pairs, drop exact repeats, add the directory."""
        keys = np.ascontiguousarray(keys, dtype=np.uint64).ravel()
        docs = np.ascontiguousarray(docs, dtype=np.uint32).ravel()
        order = np.lexsort((docs, keys))
        keys, docs = keys[order], docs[order]
        if keys.shape[0] > 1:
            keep = np.ones(keys.shape[0], dtype=bool)
            keep[1:] = (keys[1:] != keys[:-1]) | (docs[1:] != docs[:-1])
            keys, docs = keys[keep], docs[keep]
        bits = directory_bits(keys.shape[0])
        return Segment(keys, docs, _directory(keys, bits))


@njit(cache=True, nogil=True)
def lookup(keys, docs, dirs, qkeys, max_postings, out, n_out):
    """Append the documents of every key in ``qkeys`` to ``out[n_out:]``.

    At most ``max_postings`` documents are taken per key: a band key shared
    by thousands of documents is boilerplate, and verifying all of them would
    cost more than it could tell.  Returns the new fill level of ``out``
    (stops early when ``out`` is full).
    """
    bits = 0
    size = dirs.shape[0] - 1
    while (1 << bits) < size:
        bits += 1
    shift = uint64(64 - bits)
    cap = out.shape[0]
    for i in range(qkeys.shape[0]):
        q = qkeys[i]
        t = q >> shift
        lo = dirs[t]
        hi = dirs[t + 1]
        while lo < hi:  # lower bound
            mid = (lo + hi) >> 1
            if keys[mid] < q:
                lo = mid + 1
            else:
                hi = mid
        taken = 0
        j = lo
        n = keys.shape[0]
        while j < n and keys[j] == q and taken < max_postings:
            if n_out >= cap:
                return n_out
            out[n_out] = docs[j]
            n_out += 1
            taken += 1
            j += 1
    return n_out


@njit(cache=True, nogil=True)
def top_documents(hits, n, k, counts, touched):
    """The ``k`` documents most frequent in ``hits[:n]`` (most hits first, ties by smaller number).

    The same order as ``np.unique(..., return_counts=True)`` followed by a
    stable ``argsort`` of the negated counts, in ``O(n)``: ``counts`` is a
    zeroed scratch array with a slot per document number (left zeroed on
    return), ``touched`` one with room for ``n`` documents.  Boilerplate-heavy
    outputs gather tens of thousands of hits, where sorting them was the
    slowest step of a check.
    """
    u = 0
    for i in range(n):
        d = hits[i]
        if counts[d] == 0:
            touched[u] = d
            u += 1
        counts[d] += 1
    m = min(k, u)
    out = np.empty(m, dtype=np.int64)
    for j in range(m):  # k is small (max_candidates): selection beats sorting
        best = -1
        bc = 0
        for i in range(u):
            d = touched[i]
            c = counts[d]
            if c > bc or (c == bc and c > 0 and d < touched[best]):
                best = i
                bc = c
        out[j] = touched[best]
        counts[touched[best]] = 0  # taken (and reset)
    for i in range(u):
        counts[touched[i]] = 0
    return out
