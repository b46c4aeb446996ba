"""The LSH S-curve observed on synthetic pairs follows 1 - (1 - s^r)^b."""

import numpy as np
import pytest
from datasketch.lsh import _optimal_param

from dedupblock.lsh import band_keys, candidate_probability, optimal_params
from dedupblock.minhash import permutations, signature
from tests.test_minhash import pair_with_jaccard


@pytest.mark.parametrize("b,r", [(19, 2), (8, 4), (16, 8)])
def test_s_curve_matches_formula(b: int, r: int) -> None:
    rng = np.random.default_rng(b * r)
    a_, b_ = permutations(b * r, seed=11)
    trials = 300
    for s in (0.2, 0.4, 0.6, 0.8):
        hits = 0
        for _ in range(trials):
            A, B = pair_with_jaccard(rng, 200, s)
            ka = band_keys(signature(A, a_, b_)[None, :], b, r, 0)[0]
            kb = band_keys(signature(B, a_, b_)[None, :], b, r, 0)[0]
            hits += bool((ka == kb).any())
        p = candidate_probability(s, b, r)
        sigma = np.sqrt(max(p * (1 - p), 1e-3) / trials)
        assert abs(hits / trials - p) < 4.5 * sigma + 0.02, (s, hits / trials, p)


@pytest.mark.parametrize("t,P", [(0.3, 64), (0.5, 128), (0.8, 128), (0.7, 256)])
def test_optimal_params_agree_with_datasketch(t: float, P: int) -> None:
    assert optimal_params(t, P, 0.5, 0.5) == _optimal_param(t, P, 0.5, 0.5)


def test_bands_of_different_views_never_share_keys() -> None:
    a_, b_ = permutations(16, 0)
    sig = signature(np.arange(1, 50, dtype=np.uint64), a_, b_)[None, :]
    assert not set(band_keys(sig, 8, 2, 0)[0]) & set(band_keys(sig, 8, 2, 1 << 16)[0])
