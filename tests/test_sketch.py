"""The fused whole-document signature equals the step-by-step pipeline."""

import numpy as np
import pytest

from dedupblock.featurize.text import TextFeaturizer
from dedupblock.minhash import signature
from dedupblock.params import IndexParams
from dedupblock.sketch import Sketcher


@pytest.mark.parametrize("text", ["", "one", "a b", "x y z w", "five tokens in a row here", "Ünïcödé ‘quotes’ ab cd ef",
                                  "日本語のテキストです。", "Hello, World! " * 50, "Ｆｕｌｌ ｗｉｄｔｈ and ZERO\u200bwidth"])
def test_fused_signature_equals_pipeline(text: str, sample_records: list[dict]) -> None:
    sk = Sketcher(IndexParams(num_perm=128))
    f = TextFeaturizer(sk.params.seed)
    for t in [text] + [r["text"] for r in sample_records[:4]]:
        assert np.array_equal(sk.text_signature(t), signature(sk.shingles(f.featurize(t).hashes), sk.a, sk.b))


def test_batch_text_signatures_equal_single(sample_records: list[dict]) -> None:
    sk = Sketcher(IndexParams(num_perm=64))
    texts = [r["text"] for r in sample_records] + ["", "Ünïcödé ‘quotes’ ab cd ef", "a"]
    batch = sk.text_signatures(texts)
    for t, row in zip(texts, batch):
        assert np.array_equal(row, sk.text_signature(t))


@pytest.mark.parametrize("text", ["", "one", "five tokens in a row here", "Ünïcödé ‘quotes’ ab cd ef", "Hello, World! " * 50])
def test_fused_oph_equals_pipeline(text: str, sample_records: list[dict]) -> None:
    from dedupblock.oph import oph_signature

    sk = Sketcher(IndexParams(num_perm=128))
    f = TextFeaturizer(sk.params.seed)
    texts = [text] + [r["text"] for r in sample_records[:4]]
    for t in texts:
        want = oph_signature(sk.shingles(f.featurize(t).hashes), 128, sk.shingle_seed)
        assert np.array_equal(sk.text_signature_oph(t), want)
    for t, row in zip(texts, sk.text_signatures_oph(texts)):
        assert np.array_equal(row, sk.text_signature_oph(t))


@pytest.mark.parametrize("text", ["", "one", "a b c", "five tokens in a row here", "Ünïcödé ‘quotes’ ab cd ef",
                                  "日本語のテキストです。", "!!! ??? ..." * 3])
def test_fused_text_shingles_equal_pipeline(text: str, sample_records: list[dict]) -> None:
    from dedupblock.sketch import shingles, text_shingles

    f = TextFeaturizer(3)
    for t in [text] + [r["text"] for r in sample_records[:4]]:
        for k in (1, 5, 8):
            assert np.array_equal(text_shingles(t, k, 3), shingles(f.featurize(t).hashes, k, np.uint64(3)))


def test_text_shingles_batch_equals_single(sample_records: list[dict]) -> None:
    from dedupblock.sketch import text_shingles, text_shingles_batch

    for texts in ([r["text"] for r in sample_records[:6]] + ["", "a", "x y z"],  # ASCII: uint8 path
                  ["", "Ünïcödé ‘quotes’ ab cd ef", "plain ascii words here", "日本語のテキストです。"]):
        off, sh = text_shingles_batch(texts, 5, 2)
        assert off.shape[0] == len(texts) + 1
        for i, t in enumerate(texts):
            assert np.array_equal(sh[off[i]:off[i + 1]], text_shingles(t, 5, 2))
