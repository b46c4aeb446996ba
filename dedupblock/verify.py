"""Exact verification of LSH candidates and the matched regions they contain.

LSH only says "these windows probably share shingles".  Verification looks
up every shingle of the query in the candidate document's sorted shingle
array and walks the hits in query order, growing a *region* while successive
hits stay close both in the query and in the source:

    i' - i <= max_gap   and   |(p' - p) - (i' - i)| <= max_gap

(``i`` query shingle, ``p`` source shingle).  Edits break ``k`` shingles
each, so a lightly edited copy is a region with holes; an inconsistent hit
(a shingle that also occurs elsewhere in the source) is skipped rather than
allowed to end the region.  Each region yields

* ``containment`` = covered query tokens / query tokens of the region (how
  much of the output passage is found in the source, in order),
* ``similarity`` = (covered query tokens + covered source tokens) /
  (query tokens + source tokens) of the region: 1 for a verbatim copy, about
  ``1 - e`` for a copy with a fraction ``e`` of its tokens edited, and low for
  chance overlaps of a few short runs,

and the shingle ranges from which character spans in both texts follow.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _lower_bound(arr, lo, hi, x):
    while lo < hi:
        mid = (lo + hi) >> 1
        if arr[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def _gallop(arr, lo, n, x):
    """Lower bound of ``x`` in ``arr[lo:n]``, searching outwards from ``lo`` (ascending queries)."""
    step = 1
    hi = lo
    while hi < n and arr[hi] < x:
        lo = hi + 1
        hi += step
        step <<= 1
    return _lower_bound(arr, lo, min(hi, n), x)


@njit(cache=True, nogil=True)
def match_positions(q_sh, d_sorted, d_pos, order):
    """For each query shingle, a position of it in the source, or -1.

    A shingle that occurs once in the source fixes its position and so a
    diagonal ``p - i``.  A repeated shingle (a repeated line, an idiom) takes
    the occurrence closest to the diagonal of the nearest uniquely placed
    shingle, so repeats never scatter an alignment.  ``d_pos`` is ascending
    within each run of equal hashes (stable sort), which allows a binary
    search for that occurrence.  ``order`` is ``argsort(q_sh)``, computed once
    per query and view, not once per candidate.
    """
    m = q_sh.shape[0]
    n = d_sorted.shape[0]
    out = np.full(m, -1, dtype=np.int64)
    run_lo = np.full(m, -1, dtype=np.int64)
    run_hi = np.zeros(m, dtype=np.int64)
    diag = np.full(m, np.iinfo(np.int64).min, dtype=np.int64)
    any_unique = False
    # Visit the query's shingles in ascending order and gallop through the
    # document's sorted array: sequential memory access instead of one cold
    # binary search per shingle.
    cur = 0
    for oi in range(m):
        i = order[oi]
        x = q_sh[i]
        lo = _gallop(d_sorted, cur, n, x)
        cur = lo
        if lo >= n or d_sorted[lo] != x:
            continue
        hi = lo + 1
        while hi < n and d_sorted[hi] == x and hi - lo < 2:
            hi += 1
        if hi - lo == 1:
            out[i] = d_pos[lo]
            diag[i] = np.int64(d_pos[lo]) - i
            any_unique = True
        else:
            hi = _lower_bound(d_sorted, lo, n, x + np.uint64(1)) if x != np.uint64(0xFFFFFFFFFFFFFFFF) else n
            run_lo[i] = lo
            run_hi[i] = hi
    # nearest unique diagonal on each side
    INF = np.iinfo(np.int64).min
    left = np.full(m, INF, dtype=np.int64)
    cur = INF
    for i in range(m):
        if diag[i] != INF:
            cur = diag[i]
        left[i] = cur
    right = np.full(m, INF, dtype=np.int64)
    cur = INF
    for i in range(m - 1, -1, -1):
        if diag[i] != INF:
            cur = diag[i]
        right[i] = cur
    last_i = -1
    last_p = -1
    for i in range(m):
        if run_lo[i] < 0:
            if out[i] >= 0:
                last_i = i
                last_p = out[i]
            continue
        if any_unique:
            d = left[i] if left[i] != INF else right[i]
            expect = i + d
        elif last_i >= 0:
            expect = last_p + (i - last_i)
        else:
            expect = -1
        lo = run_lo[i]
        hi = run_hi[i]
        if expect < 0:
            best = np.int64(d_pos[lo])
        else:
            j = _lower_bound(d_pos, lo, hi, np.uint32(expect) if expect < 4294967295 else np.uint32(4294967295))
            best = -1
            bestd = np.iinfo(np.int64).max
            for c in (j - 1, j):
                if lo <= c < hi:
                    dd = abs(np.int64(d_pos[c]) - expect)
                    if dd < bestd:
                        bestd = dd
                        best = np.int64(d_pos[c])
        out[i] = best
        last_i = i
        last_p = best
    return out


@njit(cache=True, nogil=True)
def regions(pos, k, max_gap, min_hits):
    """Group hits into regions.

    Rows: ``[q_first, q_last, s_first, s_last, hits, q_covered, s_covered,
    longest_run]``
    where ``q_first..q_last`` / ``s_first..s_last`` are shingle indices and
    ``*_covered`` count the tokens of each side covered by a matched shingle
    (a substituted token leaves only itself uncovered, so coverage reads
    like the fraction of tokens left unedited); ``longest_run`` is the
    longest run of tokens copied exactly (consecutive shingles on one diagonal).
    """
    m = pos.shape[0]
    out = np.empty((m + 1, 8), dtype=np.int64)
    r = 0
    open_ = False
    qf = ql = sf = sl = hits = cq = cs = 0
    run = best_run = 0
    last_i = last_p = 0
    for i in range(m + 1):
        close = i == m
        p = -1
        if not close:
            p = pos[i]
            if p < 0:
                continue
            if open_:
                di = i - last_i
                if di > max_gap:
                    close = True
                elif abs((p - last_p) - di) > max_gap:
                    continue  # off-diagonal hit inside a region: noise
        if close and open_:
            if hits >= min_hits:
                out[r, 0] = qf
                out[r, 1] = ql
                out[r, 2] = sf
                out[r, 3] = sl
                out[r, 4] = hits
                out[r, 5] = cq
                out[r, 6] = cs
                out[r, 7] = best_run + k - 1
                r += 1
            open_ = False
        if i == m:
            break
        if not open_:
            open_ = True
            qf = ql = i
            sf = sl = p
            hits = 1
            cq = cs = k
            run = best_run = 1
            last_i = i
            last_p = p
            continue
        if i - last_i == 1 and p - last_p == 1:
            run += 1
            if run > best_run:
                best_run = run
        else:
            run = 1
        cq += min(k, i - last_i)
        if p > last_p:
            cs += min(k, p - last_p)
        ql = i
        if p < sf:
            sf = p
        if p > sl:
            sl = p
        hits += 1
        last_i = i
        last_p = p
    return out[:r].copy()


def sorted_shingles(sh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(hashes sorted, positions)``: the per-document verification structure."""
    order = np.argsort(sh, kind="stable")
    return np.ascontiguousarray(sh[order]), order.astype(np.uint32)


@njit(cache=True, nogil=True)
def parameter_agreement(q_norm, q_raw, s_raw, pos, qf, ql, k):
    """How well the normalised tokens of a code region agree as a *renaming*.

    Baker's parameterized matching: two code fragments are copies up to
    renaming when their normalised tokens agree and their parameters
    (identifiers, literals: tokens whose raw spelling differs from the
    normalised one) correspond one-to-one, consistently.  A structural
    coincidence (two tables of string literals, two runs of similar assert
    lines) passes the first test but gives the second no support.  Walking
    the aligned tokens of matched shingles ``qf..ql``:

    * a parameter spelled the same on both sides supports the match;
    * a parameter pair seen before, consistently in both directions, supports it;
    * a new consistent pair is neutral (each rename must appear once);
    * a pair contradicting an earlier one counts against it.

    Returns ``(support, parameters, identical)``: the score is
    ``support / parameters``; ``identical`` counts the parameters spelled the
    same on both sides (all of them: a verbatim copy, names included).
    """
    n_q = q_raw.shape[0]
    n_s = s_raw.shape[0]
    fwd = dict()
    bwd = dict()
    seen_q = -1
    support = 0
    params = 0
    identical = 0
    for i in range(qf, ql + 1):
        p = pos[i]
        if p < 0:
            continue
        for j in range(k):
            t = i + j
            u = p + j
            if t <= seen_q or t >= n_q or u >= n_s:
                continue
            seen_q = t
            a = q_raw[t]
            if a == q_norm[t]:
                continue  # not a parameter: keyword, operator, kept name
            b = s_raw[u]
            params += 1
            if a == b:
                support += 1
                identical += 1
                fwd[a] = b
                bwd[b] = a
            elif a in fwd:
                if fwd[a] == b and bwd.get(b, a) == a:
                    support += 1
            elif b in bwd:
                pass  # b already renamed from another name: inconsistent
            else:
                fwd[a] = b
                bwd[b] = a
    return support, params, identical


@njit(cache=True, nogil=True)
def distinct_evidence(q_sh, pos, qf, ql, common):
    """Distinct matched shingles of region ``qf..ql`` that are not boilerplate.

    ``common`` is the index's sorted array of shingles found in many
    documents; repeated and common shingles are no evidence of copying.
    """
    buf = np.empty(ql - qf + 1, dtype=np.uint64)
    n = 0
    nc = common.shape[0]
    for i in range(qf, ql + 1):
        if pos[i] < 0:
            continue
        x = q_sh[i]
        if nc:
            j = _lower_bound(common, 0, nc, x)
            if j < nc and common[j] == x:
                continue
        buf[n] = x
        n += 1
    if n == 0:
        return 0
    b = np.sort(buf[:n])
    d = 1
    for i in range(1, n):
        if b[i] != b[i - 1]:
            d += 1
    return d


@njit(cache=True, nogil=True)
def verify_document(q_sh, q_order, q_starts, q_ends, d_sorted, d_pos, k, max_gap, min_chars, common):
    """Align a query against one document and measure every region that may fire.

    ``q_order`` is ``argsort(q_sh)`` (see :func:`match_positions`).

    One call per candidate (the per-call overhead of several small kernels
    was most of the cost of a check).  Returns ``(pos, rows)``: the alignment
    and, for regions spanning at least ``min_chars`` characters of the output
    plus the region with most hits, rows of :func:`regions` extended with
    ``[q_last_token, out_start, out_end, distinct]``.
    """
    pos = match_positions(q_sh, d_sorted, d_pos, q_order)
    regs = regions(pos, k, max_gap, 3)
    r = regs.shape[0]
    out = np.empty((r, 12), dtype=np.int64)
    if r == 0:
        return pos, out
    nq = q_starts.shape[0]
    top = 0
    for i in range(r):
        if regs[i, 4] > regs[top, 4]:
            top = i
    n = 0
    for i in range(r):
        ql_tok = min(regs[i, 1] + k - 1, nq - 1)
        start = q_starts[regs[i, 0]]
        end = q_ends[ql_tok]
        if end - start < min_chars and i != top:
            continue
        for c in range(8):
            out[n, c] = regs[i, c]
        out[n, 8] = ql_tok
        out[n, 9] = start
        out[n, 10] = end
        out[n, 11] = distinct_evidence(q_sh, pos, regs[i, 0], regs[i, 1], common)
        n += 1
    return pos, out[:n]


#: fewest comment shingles in a code region for its comments to count as evidence
MIN_COMMENT_SHINGLES = 8


def comment_shingles(text_starts: np.ndarray, text_ends: np.ndarray, text_sh: np.ndarray,
                     code_starts: np.ndarray, code_ends: np.ndarray, k: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Text-view shingles that lie inside one comment: ``(hashes, char starts, char ends)``.

    The code view drops comments: they are the gaps between consecutive code
    tokens.  A text token belongs to gap ``g`` (between code tokens ``g - 1``
    and ``g``) when it overlaps no code token; a text shingle (``k`` tokens) is
    a comment shingle when its first and last tokens are in the same gap.
    String literals are not counted: they are code tokens of their own.
    """
    n = code_starts.shape[0]
    if n == 0 or text_sh.shape[0] == 0 or text_starts.shape[0] < k:
        none = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=np.uint64), none, none
    g = np.searchsorted(code_ends, text_starts, side="right")  # code tokens ended before the text token
    nxt = np.where(g < n, code_starts[np.minimum(g, n - 1)], np.iinfo(np.int32).max)
    gap = np.where(text_ends <= nxt, g, -1)
    m = text_sh.shape[0]
    first, last = gap[:m], gap[k - 1:k - 1 + m]
    s, e = text_starts[:m], text_ends[k - 1:k - 1 + m]
    ok = (first >= 0) & (first == last)
    return text_sh[ok], s[ok], e[ok]


def comment_agreement(out_comments: np.ndarray, d_sorted: np.ndarray, d_pos: np.ndarray, d_starts: np.ndarray,
                      src_start: int, src_end: int, slack: int = 200) -> float | None:
    """Fraction of a code region's comment shingles found near its source region.

    Two independently written pieces of code with the same structure (two
    exception classes, two test functions of one file) are identical once
    identifiers are normalised, but their comments say different things; a
    copy, renamed or not, keeps its comments or drops them.  ``d_*`` is the
    source document's text view (sorted shingles, their positions, token
    starts); the source region is widened by ``slack`` characters because
    comments sit before the code they describe.  ``None`` when the region
    has fewer than :data:`MIN_COMMENT_SHINGLES` comment shingles (no evidence
    either way, e.g. a copy with its comments stripped).
    """
    if out_comments.shape[0] < MIN_COMMENT_SHINGLES or d_sorted.shape[0] == 0:
        return None
    at = d_starts[d_pos]
    near = d_sorted[(at >= src_start - slack) & (at < src_end + slack)]  # still sorted
    if near.shape[0] == 0:
        return 0.0
    i = np.minimum(np.searchsorted(near, out_comments), near.shape[0] - 1)
    return float(np.count_nonzero(near[i] == out_comments)) / out_comments.shape[0]
