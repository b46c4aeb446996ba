import numpy as np
import pytest
import xxhash

from dedupblock.featurize.tokens import codepoints
from dedupblock.hashing import shingle_hash, token_hash


@pytest.mark.parametrize("s", ["a", "ab", "abc", "hello", "abcdefgh", "abcdefghijklmnopq", "x" * 33,
                               "héllo wörld ünïcode!!", "日本語のテキスト", "😀 emoji"])
@pytest.mark.parametrize("seed", [0, 7, 2**63 + 5])
def test_token_hash_is_xxh64_of_utf32(s: str, seed: int) -> None:
    cp = codepoints(s)
    assert token_hash(cp, 0, len(cp), np.uint64(seed)) == xxhash.xxh64_intdigest(s.encode("utf-32-le"), seed)


@pytest.mark.parametrize("k", list(range(1, 13)))
def test_shingle_hash_is_xxh64_of_token_hashes(k: int) -> None:
    h = np.random.default_rng(k).integers(0, 2**63, 20, dtype=np.uint64)
    for seed in (0, 3):
        assert shingle_hash(h, 2, k, np.uint64(seed)) == xxhash.xxh64_intdigest(h[2:2 + k].tobytes(), seed)
