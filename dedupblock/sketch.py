"""From token hashes to what the index stores and what a query looks up.

``Sketcher`` applies one :class:`~dedupblock.params.IndexParams`:
tokens -> k-shingles (XXH64) -> windowed MinHash signatures -> LSH band keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from dedupblock.featurize.normalize import fold
from dedupblock.featurize.tokens import codepoints, next_token
from dedupblock.hashing import shingle_hash, token_hash
from dedupblock.lsh import band_keys, band_keys_serial
from dedupblock.minhash import update_signature, permutations, window_signatures, window_signatures_batch
from dedupblock.oph import EMPTY, oph_densify, oph_update
from dedupblock.params import IndexParams


@njit(cache=True, nogil=True)
def shingle_count(n, k):
    if n == 0:
        return 0
    return 1 if n < k else n - k + 1


@njit(cache=True, nogil=True)
def _shingles_into(th, k, seed, out, o):
    n = th.shape[0]
    if n == 0:
        return
    if n < k:
        out[o] = shingle_hash(th, 0, n, seed)
        return
    for i in range(n - k + 1):
        out[o + i] = shingle_hash(th, i, k, seed)


@njit(cache=True, nogil=True)
def shingles(th, k, seed):
    """Hashes of every ``k`` consecutive tokens; one shingle if fewer than ``k``."""
    out = np.empty(shingle_count(th.shape[0], k), dtype=np.uint64)
    _shingles_into(th, k, seed, out, 0)
    return out


@njit(cache=True, nogil=True, parallel=True)
def shingles_batch(th, offsets, k, seed):
    D = offsets.shape[0] - 1
    sh_off = np.zeros(D + 1, dtype=np.int64)
    for d in range(D):
        sh_off[d + 1] = sh_off[d] + shingle_count(offsets[d + 1] - offsets[d], k)
    out = np.empty(sh_off[D], dtype=np.uint64)
    for d in prange(D):
        _shingles_into(th[offsets[d]:offsets[d + 1]], k, seed, out, sh_off[d])
    return sh_off, out


@dataclass(frozen=True)
class Sketch:
    shingles: np.ndarray  # uint64[m]
    window_starts: np.ndarray  # int32[nw], first shingle of each window
    keys: np.ndarray  # uint64[nw, bands]


#: Views and their numbers; band seeds of view ``v`` are ``v * VIEW_SEED_STRIDE + band``,
#: so the views' key spaces are disjoint.
VIEWS: dict[str, int] = {"text": 0, "code": 1}
VIEW_SEED_STRIDE = 1 << 16


class Sketcher:
    def __init__(self, params: IndexParams) -> None:
        self.params = params
        self.a, self.b = permutations(params.num_perm, params.seed)
        self.shingle_seed = np.uint64(params.seed)

    def shingles(self, token_hashes: np.ndarray, view: str = "text") -> np.ndarray:
        return shingles(token_hashes, self.params.shingle_for(view), self.shingle_seed)

    def sketch(self, token_hashes: np.ndarray, view: str, stride: int | None = None) -> Sketch:
        """Shingles, windows and band keys of one token sequence (single-threaded).

        ``stride`` overrides the window step, for queries that want a denser
        cover than the index (it must divide the window).
        """
        p = self.params
        sh = self.shingles(token_hashes, view)
        starts, sigs = window_signatures(sh, p.window, stride or p.stride, self.a, self.b)
        return Sketch(sh, starts, band_keys_serial(sigs, p.bands, p.rows, VIEWS[view] * VIEW_SEED_STRIDE))

    def text_signature(self, text: str) -> np.ndarray:
        """Whole-document MinHash of ``text``'s text-view shingles, in one fused pass.

        Equal to ``minhash.signature(self.shingles(TextFeaturizer(seed).featurize(text).hashes))``
        (tested); used for corpus dedup and benchmarked against datasketch and rensa.
        """
        return _fused_text_signature(codepoints(fold(text).text), self.params.shingle, self.shingle_seed,
                                     self.shingle_seed, self.a, self.b)

    def text_signatures(self, texts: list[str]) -> np.ndarray:
        """:meth:`text_signature` of many texts, the numba part in parallel over documents.

        Folding is Python (serial); tokenising, shingling and MinHash run on
        all of numba's threads.  Returns ``uint32[len(texts), num_perm]``.
        """
        cp, offsets = folded_batch(texts)
        return _fused_text_signatures(cp, offsets, self.params.shingle, self.shingle_seed, self.a, self.b)

    def text_signature_oph(self, text: str) -> np.ndarray:
        """Whole-document one-permutation MinHash (:mod:`dedupblock.oph`) of ``text``, fused.

        Equal to ``oph.oph_signature(self.shingles(TextFeaturizer(seed).featurize(text).hashes),
        num_perm, seed)`` (tested): ``num_perm`` bins instead of permutations.
        """
        return _fused_text_oph(codepoints(fold(text).text), self.params.shingle, self.shingle_seed,
                               self.params.num_perm)

    def text_signatures_oph(self, texts: list[str]) -> np.ndarray:
        """:meth:`text_signature_oph` of many texts, the numba part in parallel over documents."""
        cp, offsets = folded_batch(texts)
        return _fused_text_ophs(cp, offsets, self.params.shingle, self.shingle_seed, self.params.num_perm)

    def sketch_batch(self, token_hashes: np.ndarray, offsets: np.ndarray, view: str
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Many documents at once, in parallel.

        Returns ``(sh_offsets, shingles, win_offsets, keys[nw, bands])``.
        """
        p = self.params
        sh_off, sh = shingles_batch(token_hashes, offsets.astype(np.int64), p.shingle_for(view), self.shingle_seed)
        win_off, _starts, sigs = window_signatures_batch(sh, sh_off, p.window, p.stride, self.a, self.b)
        return sh_off, sh, win_off, band_keys(sigs, p.bands, p.rows, VIEWS[view] * VIEW_SEED_STRIDE)


def text_shingles(text: str, k: int, seed: int) -> np.ndarray:
    """The text view's ``k``-shingles of ``text``, tokenised and shingled in one pass.

    Equal to ``shingles(TextFeaturizer(seed).featurize(text).hashes, k, seed)`` (tested)
    without the token arrays (offsets are not needed for corpus dedup).
    """
    return _fused_text_shingles(codepoints(fold(text).text), k, np.uint64(seed))


def text_shingles_batch(texts: list[str], k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`text_shingles` of many texts: ``(offsets, shingles)``, the numba part on all threads.

    Folding is Python (serial); tokenising and shingling run in parallel over documents.
    """
    cp, offsets = folded_batch(texts)
    return _fused_text_shingles_batch(cp, offsets, k, np.uint64(seed))


def folded_batch(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The folded code points of ``texts``, concatenated, and each text's ``[start, end)`` offsets.

    One byte per character when the whole batch is ASCII (a quarter of the
    memory traffic), UTF-32 otherwise; the kernels read values, so both give
    the same hashes.
    """
    parts = [fold(t).text for t in texts]
    joined = "".join(parts)
    cp = codepoints(joined) if joined else np.zeros(0, dtype=np.uint8)
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    return cp, offsets


__all__ = ["Sketch", "Sketcher", "shingles", "shingles_batch", "text_shingles", "text_shingles_batch"]


@njit(cache=True, nogil=True)
def _fused_text_signature(cp, k, token_seed, shingle_seed, a, b):
    """Tokenise folded code points, shingle and MinHash in one pass.

    The same result as ``signature(shingles(word_tokens(cp).hashes))`` without
    materialising tokens or shingles: a ring of the last ``k`` token hashes
    feeds each shingle hash straight into the signature minima.
    """
    P = a.shape[0]
    sig = np.full(P, np.uint32(0xFFFFFFFF), dtype=np.uint32)
    ring = np.empty(2 * k, dtype=np.uint64)  # each hash stored twice: windows are contiguous
    n = cp.shape[0]
    t = 0
    i, j = next_token(cp, 0, n)
    while i < n:
        h = token_hash(cp, i, j, token_seed)
        slot = t % k
        ring[slot] = h
        ring[slot + k] = h
        t += 1
        if t >= k:
            update_signature(sig, shingle_hash(ring, t % k, k, shingle_seed), a, b)
        i, j = next_token(cp, j, n)
    if 0 < t < k:
        update_signature(sig, shingle_hash(ring, 0, t, shingle_seed), a, b)
    return sig


@njit(cache=True, nogil=True, parallel=True)
def _fused_text_signatures(cp, offsets, k, seed, a, b):
    D = offsets.shape[0] - 1
    out = np.empty((D, a.shape[0]), dtype=np.uint32)
    for d in prange(D):
        out[d, :] = _fused_text_signature(cp[offsets[d]:offsets[d + 1]], k, seed, seed, a, b)
    return out


@njit(cache=True, nogil=True)
def _fused_text_oph(cp, k, seed, K):
    """:func:`_fused_text_signature` with one-permutation hashing into ``K`` bins."""
    sig = np.full(K, EMPTY, dtype=np.uint32)
    filled = np.zeros(K, dtype=np.bool_)
    ring = np.empty(2 * k, dtype=np.uint64)
    n = cp.shape[0]
    t = 0
    i, j = next_token(cp, 0, n)
    while i < n:
        h = token_hash(cp, i, j, seed)
        slot = t % k
        ring[slot] = h
        ring[slot + k] = h
        t += 1
        if t >= k:
            oph_update(sig, filled, shingle_hash(ring, t % k, k, seed), K)
        i, j = next_token(cp, j, n)
    if 0 < t < k:
        oph_update(sig, filled, shingle_hash(ring, 0, t, seed), K)
    oph_densify(sig, filled, seed)
    return sig


@njit(cache=True, nogil=True, parallel=True)
def _fused_text_ophs(cp, offsets, k, seed, K):
    D = offsets.shape[0] - 1
    out = np.empty((D, K), dtype=np.uint32)
    for d in prange(D):
        out[d, :] = _fused_text_oph(cp[offsets[d]:offsets[d + 1]], k, seed, K)
    return out


@njit(cache=True, nogil=True)
def _fused_text_shingles(cp, k, seed):
    out = np.empty(cp.shape[0] + 1, dtype=np.uint64)  # at most one token (so one shingle) per character
    return out[:_fused_text_shingles_into(cp, k, seed, out)]


@njit(cache=True, nogil=True)
def _fused_text_shingles_into(cp, k, seed, out):
    """Write the shingles of ``cp`` to ``out`` (room for ``len(cp) + 1``); returns how many."""
    n = cp.shape[0]
    ring = np.empty(2 * k, dtype=np.uint64)
    t = 0
    m = 0
    i, j = next_token(cp, 0, n)
    while i < n:
        h = token_hash(cp, i, j, seed)
        slot = t % k
        ring[slot] = h
        ring[slot + k] = h
        t += 1
        if t >= k:
            out[m] = shingle_hash(ring, t % k, k, seed)
            m += 1
        i, j = next_token(cp, j, n)
    if 0 < t < k:
        out[m] = shingle_hash(ring, 0, t, seed)
        m += 1
    return m


@njit(cache=True, nogil=True, parallel=True)
def _fused_text_shingles_batch(cp, offsets, k, seed):
    D = offsets.shape[0] - 1
    buf = np.empty(cp.shape[0] + D, dtype=np.uint64)
    cnt = np.zeros(D, dtype=np.int64)
    for d in prange(D):
        lo, hi = offsets[d], offsets[d + 1]
        cnt[d] = _fused_text_shingles_into(cp[lo:hi], k, seed, buf[lo + d:hi + d + 1])
    sh_off = np.zeros(D + 1, dtype=np.int64)
    for d in range(D):
        sh_off[d + 1] = sh_off[d] + cnt[d]
    out = np.empty(sh_off[D], dtype=np.uint64)
    for d in prange(D):
        src = offsets[d] + d
        out[sh_off[d]:sh_off[d + 1]] = buf[src:src + cnt[d]]
    return sh_off, out
