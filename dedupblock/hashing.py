"""XXH64 in numba, bit-exact with the ``xxhash`` package.

Tokens are hashed from their UTF-32-LE code points and shingles from the
little-endian bytes of their ``k`` token hashes, so that

    token_hash(cp, s, e, seed)  == xxhash.xxh64_intdigest(tok.encode("utf-32-le"), seed)
    shingle_hash(h, s, k, seed) == xxhash.xxh64_intdigest(h[s:s+k].tobytes(), seed)

(both checked in ``tests/test_hashing.py``).  The hash has to run inside the
numba kernels (tokenising and shingling millions of tokens per second), which
is why it is re-implemented here rather than called through Python; the Python
package remains the reference it is tested against.
"""

from __future__ import annotations

from numba import njit, uint64

P1 = uint64(11400714785074694791)
P2 = uint64(14029467366897019727)
P3 = uint64(1609587929392839161)
P4 = uint64(9650029242287828579)
P5 = uint64(2870177450012600261)


@njit(uint64(uint64, uint64), cache=True, nogil=True, inline="always")
def _rotl(x, r):
    return (x << r) | (x >> (uint64(64) - r))


@njit(uint64(uint64, uint64), cache=True, nogil=True, inline="always")
def _round(acc, lane):
    acc = acc + lane * P2
    acc = _rotl(acc, uint64(31))
    return acc * P1


@njit(uint64(uint64, uint64), cache=True, nogil=True, inline="always")
def _merge(acc, val):
    acc = acc ^ _round(uint64(0), val)
    return acc * P1 + P4


@njit(uint64(uint64), cache=True, nogil=True, inline="always")
def _avalanche(h):
    h = h ^ (h >> uint64(33))
    h = h * P2
    h = h ^ (h >> uint64(29))
    h = h * P3
    return h ^ (h >> uint64(32))


@njit(cache=True, nogil=True)
def token_hash(cp, start, end, seed):
    """XXH64 of ``cp[start:end]`` (uint32 code points) as UTF-32-LE bytes."""
    seed = uint64(seed)
    n = end - start
    nbytes = uint64(n) * uint64(4)
    i = start
    if n >= 8:  # 32-byte stripes = 8 code points
        v1 = seed + P1 + P2
        v2 = seed + P2
        v3 = seed
        v4 = seed - P1
        while i + 8 <= end:
            v1 = _round(v1, uint64(cp[i]) | (uint64(cp[i + 1]) << uint64(32)))
            v2 = _round(v2, uint64(cp[i + 2]) | (uint64(cp[i + 3]) << uint64(32)))
            v3 = _round(v3, uint64(cp[i + 4]) | (uint64(cp[i + 5]) << uint64(32)))
            v4 = _round(v4, uint64(cp[i + 6]) | (uint64(cp[i + 7]) << uint64(32)))
            i += 8
        h = _rotl(v1, uint64(1)) + _rotl(v2, uint64(7)) + _rotl(v3, uint64(12)) + _rotl(v4, uint64(18))
        h = _merge(h, v1)
        h = _merge(h, v2)
        h = _merge(h, v3)
        h = _merge(h, v4)
    else:
        h = seed + P5
    h = h + nbytes
    while i + 2 <= end:
        lane = uint64(cp[i]) | (uint64(cp[i + 1]) << uint64(32))
        h = h ^ _round(uint64(0), lane)
        h = _rotl(h, uint64(27)) * P1 + P4
        i += 2
    if i < end:
        h = h ^ (uint64(cp[i]) * P1)
        h = _rotl(h, uint64(23)) * P2 + P3
    return _avalanche(h)


@njit(cache=True, nogil=True)
def shingle_hash(hashes, start, k, seed):
    """XXH64 of the little-endian bytes of ``hashes[start:start+k]`` (uint64)."""
    seed = uint64(seed)
    i = start
    end = start + k
    if k >= 4:
        v1 = seed + P1 + P2
        v2 = seed + P2
        v3 = seed
        v4 = seed - P1
        while i + 4 <= end:
            v1 = _round(v1, hashes[i])
            v2 = _round(v2, hashes[i + 1])
            v3 = _round(v3, hashes[i + 2])
            v4 = _round(v4, hashes[i + 3])
            i += 4
        h = _rotl(v1, uint64(1)) + _rotl(v2, uint64(7)) + _rotl(v3, uint64(12)) + _rotl(v4, uint64(18))
        h = _merge(h, v1)
        h = _merge(h, v2)
        h = _merge(h, v3)
        h = _merge(h, v4)
    else:
        h = seed + P5
    h = h + uint64(k) * uint64(8)
    while i < end:
        h = h ^ _round(uint64(0), hashes[i])
        h = _rotl(h, uint64(27)) * P1 + P4
        i += 1
    return _avalanche(h)


@njit(cache=True, nogil=True)
def band_hash(sig, start, r, seed):
    """XXH64 of the little-endian bytes of ``sig[start:start+r]`` (uint32 values).

    Used for LSH band keys; ``seed`` is the band number so that equal rows in
    different bands never share a key by construction.
    """
    return token_hash(sig, start, start + r, seed)


__all__ = ["token_hash", "shingle_hash", "band_hash"]
