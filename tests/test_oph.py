"""One-permutation MinHash: unbiased Jaccard estimates, densification, batch = single."""

import numpy as np
import pytest

from dedupblock.minhash import jaccard_estimate
from dedupblock.oph import EMPTY, oph_signature, oph_signatures_batch
from tests.test_minhash import pair_with_jaccard


@pytest.mark.parametrize("n", [40, 400, 4000])  # fewer elements than bins, about as many, many more
@pytest.mark.parametrize("j", [0.1, 0.5, 0.8, 0.95])
def test_estimate_matches_exact_jaccard(j: float, n: int) -> None:
    rng = np.random.default_rng(int(j * 100) + n)
    K = 128
    errs = []
    for _ in range(30):
        A, B = pair_with_jaccard(rng, n, j)
        exact = len(set(A.tolist()) & set(B.tolist())) / len(set(A.tolist()) | set(B.tolist()))
        est = jaccard_estimate(oph_signature(A, K, 7), oph_signature(B, K, 7))
        # densified bins are copies, so small sets have up to ~2x the MinHash variance
        sigma = np.sqrt(exact * (1 - exact) / K) * (2.0 if n < K else 1.2)
        assert abs(est - exact) < 5 * sigma + 1e-9, (n, j, est, exact)
        errs.append(est - exact)
    assert abs(np.mean(errs)) < 4 * np.sqrt(j * (1 - j) / K / 30) * 2.0 + 1e-9


def test_identical_sets_and_disjoint_sets() -> None:
    rng = np.random.default_rng(3)
    A = rng.integers(0, 2**63, size=50, dtype=np.uint64)
    B = rng.integers(0, 2**63, size=50, dtype=np.uint64)
    assert jaccard_estimate(oph_signature(A, 128, 1), oph_signature(A[::-1].copy(), 128, 1)) == 1.0
    assert jaccard_estimate(oph_signature(A, 128, 1), oph_signature(B, 128, 1)) < 0.1


def test_every_bin_is_filled_and_empty_set_is_empty() -> None:
    one = oph_signature(np.array([12345678901234567], dtype=np.uint64), 64, 5)
    assert (one == one[0]).all() and one[0] != EMPTY  # a single element fills every bin
    assert (oph_signature(np.zeros(0, dtype=np.uint64), 64, 5) == EMPTY).all()


def test_batch_equals_single() -> None:
    rng = np.random.default_rng(9)
    sets = [rng.integers(0, 2**63, size=int(m), dtype=np.uint64) for m in rng.integers(0, 600, size=25)]
    off = np.zeros(len(sets) + 1, dtype=np.int64)
    off[1:] = np.cumsum([len(s) for s in sets])
    got = oph_signatures_batch(np.concatenate(sets), off, 128, 2)
    for i, s in enumerate(sets):
        assert (got[i] == oph_signature(s, 128, 2)).all()
