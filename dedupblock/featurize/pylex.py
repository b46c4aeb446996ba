"""Compiled fast path of the code lexer for Python (numba).

The regex lexer of :mod:`dedupblock.featurize.code` runs one Python loop
iteration per token and a second pass to normalise and hash; for a 2 KB
output that is ~0.3 ms, the largest single cost of checking code.  This
module does the same for the commonest case (Python source, the default
``keep_api`` scheme) in one compiled pass: lexing, keyword and builtin
classification, ``keep_api`` normalisation and XXH64 hashing.  Non-ASCII
characters are classified (``\\s``, ``\\w``, ``\\d``, as Python's ``re`` does) by
a small table of the text's distinct non-ASCII characters, built per call.

It is a second implementation of the same rules, so it is held to
token-for-token identity with the regex lexer (``tests/test_pylex.py``
compares hashes, raw hashes and offsets on standard-library files, fragments
of them, and random soup with Unicode digits, spaces and lone surrogates; it
also held on every Python file and query of the dev set).  The rules, in the
regex alternation's order, at each position:

1. whitespace (``\\s``) and backslash-newline: skipped;
2. ``#`` comment to the end of the line: skipped;
3. triple-quote delimiter, with up to two prefix letters ``[rRbBuUfF]``: a
   ``\"\"\"`` token (a docstring's content is lexed as code);
4. one-line string literal with optional prefix, backslash escapes (not of a
   newline): ``<STR>``;
5. number literal (hex, binary/octal, decimal with fraction and exponent, any
   ``[A-Za-z0-9_]`` suffix): ``<NUM>``;
6. word ``[^\\W\\d]\\w*``: keyword or identifier;
7. the longest operator of the shared list, else any single character;
   ``;`` is dropped (Python: joining lines with it changes nothing).
"""

from __future__ import annotations

import re

import numpy as np
import xxhash
from numba import njit, uint64

from dedupblock.hashing import token_hash

_ID, _KW, _STR, _NUM, _OP, _TRIPLE = range(6)  # as dedupblock.featurize.code
_SPACE, _WORD, _DIGIT = 1, 2, 4  # character classes, as bits


def _text_hash(s: str, seed: int) -> int:
    return xxhash.xxh64_intdigest(s.encode("utf-32-le"), seed)


def _hash_set(hashes: list[int]) -> np.ndarray:
    """An open-addressing table of 64-bit hashes (0 = empty slot), at most a quarter full."""
    size = 16
    while size < 4 * len(hashes):
        size *= 2
    table = np.zeros(size, dtype=np.uint64)
    for x in hashes:
        assert x != 0  # 2**-64: the empty marker
        i = x & (size - 1)
        while table[i] != 0 and table[i] != x:
            i = (i + 1) & (size - 1)
        table[i] = x
    return table


class PythonTables:
    """The hashed word lists and operators one seed needs (built once per featurizer)."""

    def __init__(self, seed: int, keywords: frozenset[str], builtins: frozenset[str], operators: list[str],
                 attr_ops: frozenset[str], self_words: frozenset[str]) -> None:
        h = lambda s: _text_hash(s, seed)  # noqa: E731
        self.seed = np.uint64(seed)
        self.keywords = _hash_set([h(w) for w in keywords])
        self.builtins = _hash_set([h(w) for w in builtins])
        self.attr_ops = _hash_set([h(w) for w in attr_ops])
        self.self_words = _hash_set([h(w) for w in self_words])
        self.placeholders = np.array([h("<ID>"), h("<STR>"), h("<NUM>"), h('"""')], dtype=np.uint64)
        # operators, longest first (the regex alternation's order), as code points,
        # grouped by first character (stable: longest first within a group)
        ops = sorted(sorted(operators, key=len, reverse=True), key=lambda op: ord(op[0]))
        self.op_cps = np.array([ord(c) for op in ops for c in op], dtype=np.uint8)
        self.op_off = np.cumsum([0] + [len(op) for op in ops]).astype(np.int64)
        self.op_first = np.searchsorted(np.array([ord(op[0]) for op in ops]), np.arange(129)).astype(np.int64)


_RE_SPACE, _RE_WORD, _RE_DIGIT = re.compile(r"\s"), re.compile(r"\w"), re.compile(r"\d")
_NO_CPS = np.zeros(0, dtype=np.uint32)
_NO_FLAGS = np.zeros(0, dtype=np.uint8)


def _char_classes(cp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct non-ASCII code points of ``cp`` (sorted) and their ``re`` classes."""
    na = np.unique(cp[cp >= 128])
    flags = np.zeros(na.shape[0], dtype=np.uint8)
    for i, c in enumerate(na.tolist()):
        ch = chr(c)
        flags[i] = ((_SPACE if _RE_SPACE.match(ch) else 0) | (_WORD if _RE_WORD.match(ch) else 0)
                    | (_DIGIT if _RE_DIGIT.match(ch) else 0))
    return na.astype(np.uint32), flags


def featurize_python(text: str, t: PythonTables) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(hashes, raw, starts, ends)`` of Python ``text`` under ``keep_api``."""
    if text.isascii():
        cp = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        na_cps, na_flags = _NO_CPS, _NO_FLAGS
    else:
        cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        na_cps, na_flags = _char_classes(cp)
    return _lex(cp, t.seed, t.keywords, t.builtins, t.attr_ops, t.self_words, t.placeholders, t.op_cps, t.op_off,
                t.op_first, na_cps, na_flags)


@njit(cache=True, nogil=True, inline="always")
def _ascii_classes(c):
    """``re`` classes of an ASCII code point: 1 ``\\s``, 2 ``\\w``, 4 ``\\d``."""
    if (9 <= c <= 13) or (28 <= c <= 32):
        return _SPACE
    if 48 <= c <= 57:
        return _WORD | _DIGIT
    if (65 <= c <= 90) or (97 <= c <= 122) or c == 95:
        return _WORD
    return 0


@njit(cache=True, nogil=True)
def _non_ascii_classes(c, na_cps, na_flags):
    """Classes of a non-ASCII code point, from the text's table (:func:`_char_classes`).

    Call sites read ``_ascii_classes(c) if c < 128 else _non_ascii_classes(...)``
    themselves: wrapping that test in a function that takes the arrays made
    every call pass them (numba does not inline it), 20x slower.
    """
    i = np.searchsorted(na_cps, c)
    return na_flags[i] if i < na_cps.shape[0] and na_cps[i] == c else 0


@njit(cache=True, nogil=True, inline="always")
def _is_ascii_word(c):  # [A-Za-z0-9_]: number suffixes are ASCII in the regex
    return (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122) or c == 95


@njit(cache=True, nogil=True, inline="always")
def _is_hex(c):
    return (48 <= c <= 57) or (65 <= c <= 70) or (97 <= c <= 102) or c == 95


@njit(cache=True, nogil=True, inline="always")
def _is_prefix(c):
    # r R b B u U f F
    return c == 114 or c == 82 or c == 98 or c == 66 or c == 117 or c == 85 or c == 102 or c == 70


@njit(cache=True, nogil=True, inline="always")
def _contains(table, x):
    """Membership in a :func:`_hash_set` table."""
    mask = uint64(table.shape[0] - 1)
    i = x & mask
    while True:
        v = table[i]
        if v == x:
            return True
        if v == 0:
            return False
        i = (i + uint64(1)) & mask


@njit(cache=True, nogil=True)
def _triple_at(cp, i, n):
    """End of a triple-quote delimiter (with prefix) starting at ``i``, or -1."""
    k = 0  # the longest prefix; shorter ones are tried next, as the regex backtracks
    while k < 2 and i + k < n and _is_prefix(cp[i + k]):
        k += 1
    while k >= 0:
        j = i + k
        if j + 3 <= n and (cp[j] == 34 or cp[j] == 39) and cp[j + 1] == cp[j] and cp[j + 2] == cp[j]:
            return j + 3
        k -= 1
    return -1


@njit(cache=True, nogil=True)
def _string_at(cp, i, n):
    """End of a one-line string literal (with prefix) starting at ``i``, or -1."""
    k = 0
    while k < 2 and i + k < n and _is_prefix(cp[i + k]):
        k += 1
    while k >= 0:
        j = i + k
        if j < n and (cp[j] == 34 or cp[j] == 39):
            q = cp[j]
            p = j + 1
            while p < n:
                c = cp[p]
                if c == q:
                    return p + 1
                if c == 10:
                    break
                if c == 92:  # backslash: escapes any character but a newline
                    if p + 1 < n and cp[p + 1] != 10:
                        p += 2
                        continue
                    break
                p += 1
        k -= 1
    return -1


@njit(cache=True, nogil=True)
def _suffix(cp, p, n):
    while p < n and _is_ascii_word(cp[p]):
        p += 1
    return p


@njit(cache=True, nogil=True)
def _digits_(cp, p, n, na_cps, na_flags):
    """``[\\d_]*`` from ``p``."""
    while p < n:
        c = cp[p]
        if not (c == 95 or (_ascii_classes(c) if c < 128 else _non_ascii_classes(c, na_cps, na_flags)) & 4):
            break
        p += 1
    return p


@njit(cache=True, nogil=True)
def _number_at(cp, i, n, na_cps, na_flags):
    """End of a number literal starting at ``i``, or -1 (``code._NUM_RE``, no digit separators)."""
    c = cp[i]
    if c == 48 and i + 2 < n:
        x = cp[i + 1]
        if (x == 120 or x == 88) and _is_hex(cp[i + 2]):  # 0x / 0X
            return _suffix(cp, i + 2, n)
        if (x == 98 or x == 66 or x == 111 or x == 79) and (48 <= cp[i + 2] <= 55 or cp[i + 2] == 95):  # 0b 0o
            return _suffix(cp, i + 2, n)
    if (_ascii_classes(c) if c < 128 else _non_ascii_classes(c, na_cps, na_flags)) & 4:  # \d
        p = _digits_(cp, i + 1, n, na_cps, na_flags)
        if p < n and cp[p] == 46:  # fraction: "." not followed by "." or a word char, or ".\d..."
            nxt = 0
            if p + 1 < n:
                d = cp[p + 1]
                nxt = _ascii_classes(d) if d < 128 else _non_ascii_classes(d, na_cps, na_flags)
            if p + 1 >= n or not (cp[p + 1] == 46 or nxt & 2):
                p += 1
            elif nxt & 4:
                p = _digits_(cp, p + 2, n, na_cps, na_flags)
    elif c == 46 and i + 1 < n and (
            _ascii_classes(cp[i + 1]) if cp[i + 1] < 128 else _non_ascii_classes(cp[i + 1], na_cps, na_flags)) & 4:
        p = _digits_(cp, i + 2, n, na_cps, na_flags)
    else:
        return -1
    if p < n and (cp[p] == 101 or cp[p] == 69 or cp[p] == 112 or cp[p] == 80):  # exponent e E p P
        q = p + 1
        if q < n and (cp[q] == 43 or cp[q] == 45):
            q += 1
        if q < n and (_ascii_classes(cp[q]) if cp[q] < 128 else _non_ascii_classes(cp[q], na_cps, na_flags)) & 4:
            p = _digits_(cp, q + 1, n, na_cps, na_flags)
    return _suffix(cp, p, n)


@njit(cache=True, nogil=True)
def _lex(cp, seed, keywords, builtins, attr_ops, self_words, ph, op_cps, op_off, op_first, na_cps, na_flags):
    n = cp.shape[0]
    # at most one token per character; sized once (growing arrays inside the loop made
    # numba refcount them on every iteration: 3x slower)
    cap = n + 1
    kinds = np.empty(cap, dtype=np.int8)
    starts = np.empty(cap, dtype=np.int32)
    ends = np.empty(cap, dtype=np.int32)
    spans = np.empty(cap, dtype=np.uint64)  # hash of the token's text
    seed = uint64(seed)
    t = 0
    i = 0
    while i < n:
        c = cp[i]
        cls = (_ascii_classes(c) if c < 128 else _non_ascii_classes(c, na_cps, na_flags))
        if cls & 1:
            i += 1
            continue
        if c == 92:  # backslash-newline is whitespace
            if i + 1 < n and cp[i + 1] == 10:
                i += 2
                continue
            if i + 2 < n and cp[i + 1] == 13 and cp[i + 2] == 10:
                i += 3
                continue
        if c == 35:  # comment
            while i < n and cp[i] != 10:
                i += 1
            continue
        kind = -1
        # only a quote or a prefix letter can start a string, only a digit or "." a number
        quoted = c == 34 or c == 39 or _is_prefix(c)
        e = _triple_at(cp, i, n) if quoted else -1
        if e >= 0:
            kind = _TRIPLE
        else:
            e = _string_at(cp, i, n) if quoted else -1
            if e >= 0:
                kind = _STR
            else:
                e = _number_at(cp, i, n, na_cps, na_flags) if (cls & 4 or c == 46) else -1
                if e >= 0:
                    kind = _NUM
                elif cls & 2 and not cls & 4:  # [^\W\d]\w*
                    e = i + 1
                    while e < n:
                        d = cp[e]
                        if not (_ascii_classes(d) if d < 128 else _non_ascii_classes(d, na_cps, na_flags)) & 2:
                            break
                        e += 1
                    kind = _ID
                else:
                    e = i + 1  # a single character unless an operator matches
                    for o in range(op_first[min(c, 128)], op_first[min(c, 127) + 1]):
                        lo = op_off[o]
                        size = op_off[o + 1] - lo
                        if i + size > n:
                            continue
                        ok = True
                        for j in range(size):
                            if cp[i + j] != op_cps[lo + j]:
                                ok = False
                                break
                        if ok:
                            e = i + size
                            break
                    kind = _OP
                    if e == i + 1 and c == 59:  # ";" is dropped
                        i = e
                        continue
        h = token_hash(cp, i, e, seed)
        if kind == _ID and _contains(keywords, h):
            kind = _KW
        kinds[t] = kind
        starts[t] = i
        ends[t] = e
        spans[t] = h
        t += 1
        i = e
    hashes = np.empty(t, dtype=np.uint64)
    raw = np.empty(t, dtype=np.uint64)
    for k in range(t):
        kind = kinds[k]
        h = spans[k]
        if kind == _ID:
            attribute = (k > 0 and kinds[k - 1] == _OP and _contains(attr_ops, spans[k - 1])
                         and not (k > 1 and (kinds[k - 2] == _ID or kinds[k - 2] == _KW)
                                  and _contains(self_words, spans[k - 2])))
            hashes[k] = h if attribute or _contains(builtins, h) else ph[0]
            raw[k] = h
        elif kind == _STR:
            hashes[k] = ph[1]
            raw[k] = h
        elif kind == _NUM:
            hashes[k] = ph[2]
            raw[k] = h
        elif kind == _TRIPLE:
            hashes[k] = ph[3]
            raw[k] = ph[3]
        else:
            hashes[k] = h
            raw[k] = h
    return hashes, raw, starts[:t].copy(), ends[:t].copy()


__all__ = ["PythonTables", "featurize_python"]
