"""MinHash estimates agree with exact Jaccard, and with datasketch, within statistical error."""

import numpy as np
import pytest
from datasketch import MinHash

from dedupblock.minhash import (jaccard_estimate, permutations, signature, signatures_batch, window_count,
                                window_signatures, window_signatures_batch)


def pair_with_jaccard(rng: np.random.Generator, n: int, j: float) -> tuple[np.ndarray, np.ndarray]:
    """Two sets of 64-bit values of sizes n with |A & B| / |A | B| = j (up to rounding)."""
    common = int(round(2 * n * j / (1 + j)))
    pool = rng.integers(0, 2**63, size=2 * n, dtype=np.uint64) | np.uint64(1)
    a = pool[:n]
    b = np.concatenate([a[:common], pool[n:n + n - common]])
    return a, b


@pytest.mark.parametrize("j", [0.1, 0.3, 0.5, 0.7, 0.9])
def test_estimate_matches_exact_jaccard(j: float) -> None:
    rng = np.random.default_rng(int(j * 100))
    P = 256
    a_, b_ = permutations(P, seed=3)
    errs = []
    for _ in range(20):
        A, B = pair_with_jaccard(rng, 400, j)
        exact = len(set(A.tolist()) & set(B.tolist())) / len(set(A.tolist()) | set(B.tolist()))
        est = jaccard_estimate(signature(A, a_, b_), signature(B, a_, b_))
        sigma = np.sqrt(exact * (1 - exact) / P)
        assert abs(est - exact) < 5 * sigma + 1e-9
        errs.append(est - exact)
    # unbiased: the mean error over 20 pairs is well inside its own standard error
    assert abs(np.mean(errs)) < 4 * np.sqrt(j * (1 - j) / P / 20) + 1e-9


@pytest.mark.parametrize("j", [0.2, 0.5, 0.8])
def test_agrees_with_datasketch(j: float) -> None:
    rng = np.random.default_rng(1)
    P = 256
    a_, b_ = permutations(P, seed=5)
    A, B = pair_with_jaccard(rng, 500, j)
    ours = jaccard_estimate(signature(A, a_, b_), signature(B, a_, b_))
    m1, m2 = MinHash(num_perm=P, seed=1), MinHash(num_perm=P, seed=1)
    m1.update_batch([int(x).to_bytes(8, "little") for x in A])
    m2.update_batch([int(x).to_bytes(8, "little") for x in B])
    theirs = m1.jaccard(m2)
    # two independent estimates of the same quantity: difference within ~5 sigma of their spread
    assert abs(ours - theirs) < 5 * np.sqrt(2 * j * (1 - j) / P)


def test_signature_of_empty_set_is_all_max() -> None:
    a_, b_ = permutations(16, 0)
    assert (signature(np.zeros(0, np.uint64), a_, b_) == 0xFFFFFFFF).all()


def test_reproducible_with_seed() -> None:
    assert all(np.array_equal(x, y) for x, y in zip(permutations(32, 9), permutations(32, 9)))
    assert not np.array_equal(permutations(32, 9)[0], permutations(32, 10)[0])


@pytest.mark.parametrize("m", [0, 1, 5, 32, 33, 40, 41, 100, 257])
def test_windows_equal_direct_signatures(m: int) -> None:
    W, S = 32, 8
    a_, b_ = permutations(24, 2)
    sh = np.random.default_rng(m).integers(0, 2**63, size=m, dtype=np.uint64)
    starts, sigs = window_signatures(sh, W, S, a_, b_)
    assert len(starts) == window_count(m, W, S)
    for st, sig in zip(starts, sigs):
        assert np.array_equal(sig, signature(sh[st:st + W], a_, b_))
    if m:
        # every shingle is covered by some window, and the last window ends at the end
        covered = np.zeros(m, bool)
        for st in starts:
            covered[st:st + W] = True
        assert covered.all()
        assert min(m, starts[-1] + W) == m


def test_batch_equals_single() -> None:
    rng = np.random.default_rng(0)
    docs = [rng.integers(0, 2**63, size=n, dtype=np.uint64) for n in (0, 3, 50, 200)]
    off = np.zeros(len(docs) + 1, np.int64)
    np.cumsum([len(d) for d in docs], out=off[1:])
    a_, b_ = permutations(16, 1)
    flat = np.concatenate(docs)
    win_off, starts, sigs = window_signatures_batch(flat, off, 32, 8, a_, b_)
    whole = signatures_batch(flat, off, a_, b_)
    for i, d in enumerate(docs):
        s1, g1 = window_signatures(d, 32, 8, a_, b_)
        assert np.array_equal(starts[win_off[i]:win_off[i + 1]], s1)
        assert np.array_equal(sigs[win_off[i]:win_off[i + 1]], g1)
        assert np.array_equal(whole[i], signature(d, a_, b_))
