"""Token streams: the one currency between featurizers and everything after them.

A :class:`Tokens` holds, for ``n`` tokens, their 64-bit hashes and their
character spans ``[starts[i], ends[i])`` in the *original* text.  Featurizers
(text, code) produce it; shingles, signatures, the index and verification only
ever see hashes and offsets, never text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, uint64

from dedupblock.hashing import token_hash


@dataclass(frozen=True)
class Tokens:
    hashes: np.ndarray  # uint64[n]
    starts: np.ndarray  # int32[n], char offset in the original text
    ends: np.ndarray  # int32[n], exclusive
    #: uint64[n] hashes of the tokens' raw spelling where a featurizer
    #: normalised them (code: identifiers, literals); None if it never does
    raw: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.hashes.shape[0])

    @staticmethod
    def empty() -> "Tokens":
        return Tokens(np.zeros(0, np.uint64), np.zeros(0, np.int32), np.zeros(0, np.int32))

    def shifted(self, offset: int) -> "Tokens":
        """The same tokens with spans moved by ``offset`` characters."""
        return Tokens(self.hashes, self.starts + np.int32(offset), self.ends + np.int32(offset), self.raw)

    @staticmethod
    def concat(parts: list["Tokens"]) -> "Tokens":
        if not parts:
            return Tokens.empty()
        raw = None
        if any(p.raw is not None for p in parts):
            raw = np.concatenate([p.hashes if p.raw is None else p.raw for p in parts])
        return Tokens(
            np.concatenate([p.hashes for p in parts]),
            np.concatenate([p.starts for p in parts]),
            np.concatenate([p.ends for p in parts]),
            raw,
        )


def codepoints(text: str) -> np.ndarray:
    """The code points of ``text``: uint8 for ASCII text (a quarter of the memory
    traffic), uint32 (UTF-32-LE) otherwise.  The kernels read values, not bytes,
    so both give the same token hashes."""
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


#: ASCII character classes: 0 whitespace/control, 1 word (``[0-9A-Za-z_]``), 2 punctuation.
_ASCII_CLASS = np.array([0 if c <= 32 else 1 if (chr(c).isalnum() or c == 95) else 2 for c in range(128)],
                        dtype=np.uint8)


@njit(cache=True, nogil=True, inline="always")
def _is_word(c):
    if c < 128:
        return _ASCII_CLASS[c] == 1
    return True


@njit(cache=True, nogil=True, inline="always")
def _is_ideograph(c):
    # Scripts written without spaces: each character is a token of its own.
    return (
        (0x3040 <= c <= 0x30FF)
        or (0x3400 <= c <= 0x4DBF)
        or (0x4E00 <= c <= 0x9FFF)
        or (0xF900 <= c <= 0xFAFF)
        or (0x20000 <= c <= 0x3FFFF)
        or (0x0E00 <= c <= 0x0EFF)  # Thai, Lao
    )


@njit(cache=True, nogil=True, inline="always")
def _is_word_char(c):
    if c < 128:
        return _ASCII_CLASS[c] == 1
    return not _is_ideograph(c)


@njit(cache=True, nogil=True, inline="always")
def next_token(cp, i, n):
    """``(start, end)`` of the first token at or after ``i``; ``start == n`` when none is left.

    Whitespace (code points <= 32) separates tokens and is not a token; a
    token is a run of word characters or one other character.
    """
    while i < n and cp[i] <= 32:
        i += 1
    if i >= n:
        return n, n
    j = i + 1
    c = cp[i]
    if _is_word(c) and not _is_ideograph(c):
        while j < n and _is_word_char(cp[j]):
            j += 1
    return i, j


@njit(cache=True, nogil=True)
def word_tokens(cp, seed):
    """Split folded code points into ``\\w+`` runs and single punctuation marks.

    Returns ``(hashes, starts, ends)`` with offsets into ``cp``.
    """
    n = cp.shape[0]
    hashes = np.empty(n, dtype=np.uint64)
    starts = np.empty(n, dtype=np.int32)
    ends = np.empty(n, dtype=np.int32)
    seed = uint64(seed)
    t = 0
    i, j = next_token(cp, 0, n)
    while i < n:
        hashes[t] = token_hash(cp, i, j, seed)
        starts[t] = i
        ends[t] = j
        t += 1
        i, j = next_token(cp, j, n)
    return hashes[:t].copy(), starts[:t].copy(), ends[:t].copy()
