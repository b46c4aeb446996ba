"""Index round trip, atomic builds, parameter checks, and sharing across processes."""

import json
import multiprocessing as mp
import os
from pathlib import Path

import lmdb
import pytest

from build_index.build import build
from dedupblock import Blocker, IndexReader
from dedupblock.errors import BadIndexError, IncompatibleIndexError, InputError
from dedupblock.params import IndexParams


def _check_in_child(path: str, text: str, q: "mp.Queue") -> None:
    v = Blocker(path).check(text)
    q.put(v.to_dict())


def test_round_trip_across_processes(sample_index: Path, sample_records: list[dict]) -> None:
    text = sample_records[0]["text"][500:1500]
    here = Blocker(sample_index).check(text).to_dict()
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_check_in_child, args=(str(sample_index), text, q)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [q.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all(r == here for r in results) and here["blocked"]


def test_metadata_and_params_kept(sample_index: Path) -> None:
    with IndexReader(sample_index) as idx:
        assert idx.n_docs == 15
        n = idx.docno("license/GPL-3")
        meta = idx.doc_meta(n)
        assert meta["license"] == "GPL-3" and meta["kind"] == "license-text" and "text" not in meta
        assert idx.params == IndexParams(featurizers=idx.params.featurizers)
        assert "text" in idx.params.featurizers


def test_index_holds_no_text(sample_index: Path, sample_records: list[dict]) -> None:
    raw = (sample_index / "data.mdb").read_bytes()
    for rec in sample_records:
        assert rec["text"][200:260].encode() not in raw


def test_interrupted_build_leaves_nothing(tmp_path: Path, sample_records: list[dict]) -> None:
    def records():
        yield from sample_records[:5]
        raise KeyboardInterrupt

    out = tmp_path / "idx"
    with pytest.raises(KeyboardInterrupt):
        build(records(), str(out), IndexParams())
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir()]  # temporary directory removed too


def test_incomplete_index_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "half"
    d.mkdir()
    env = lmdb.open(str(d))
    with env.begin(write=True) as txn:
        txn.put(b"doc/0000", b"{}")
    env.close()
    with pytest.raises(BadIndexError, match="not a complete"):
        IndexReader(d)


def test_not_an_index(tmp_path: Path) -> None:
    with pytest.raises(BadIndexError, match="does not exist"):
        IndexReader(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(BadIndexError, match="not a dedupblock index"):
        IndexReader(tmp_path / "file")


def _rewrite_params(path: Path, **changes) -> None:
    env = lmdb.open(str(path))
    with env.begin(write=True) as txn:
        params = json.loads(txn.get(b"meta/params"))
        params.update(changes)
        txn.put(b"meta/params", json.dumps(params).encode())
    env.close()


def test_incompatible_index_is_refused(tmp_path: Path, sample_records: list[dict]) -> None:
    out = tmp_path / "idx"
    build(sample_records[:3], str(out), IndexParams())
    _rewrite_params(out, format_version=999)
    with pytest.raises(IncompatibleIndexError, match="format 999"):
        IndexReader(out)
    _rewrite_params(out, format_version=1, featurizers={"text": "text-0"})
    with pytest.raises(IncompatibleIndexError, match="text-0"):
        Blocker(out)


def test_existing_index_needs_overwrite(tmp_path: Path, sample_records: list[dict]) -> None:
    out = tmp_path / "idx"
    build(sample_records[:2], str(out), IndexParams())
    with pytest.raises(BadIndexError, match="already exists"):
        build(sample_records[:2], str(out), IndexParams())
    build(sample_records[:4], str(out), IndexParams(), overwrite=True)
    with IndexReader(out) as idx:
        assert idx.n_docs == 4


def test_duplicate_ids_are_refused(tmp_path: Path, sample_records: list[dict]) -> None:
    with pytest.raises(InputError, match="duplicate id"):
        build([sample_records[0], sample_records[0]], str(tmp_path / "idx"), IndexParams())
    assert not (tmp_path / "idx").exists()


def test_empty_documents_are_skipped(tmp_path: Path) -> None:
    s = build([{"id": "a", "text": ""}, {"id": "b", "text": "some words here " * 20}], str(tmp_path / "i"),
              IndexParams())
    assert s.docs == 1 and s.skipped_empty == 1


def test_read_only_directory(tmp_path: Path, sample_records: list[dict]) -> None:
    out = tmp_path / "idx"
    build(sample_records[:3], str(out), IndexParams())
    os.chmod(out, 0o555)
    try:
        with IndexReader(out) as idx:
            assert idx.n_docs == 3
    finally:
        os.chmod(out, 0o755)


def test_top_documents_matches_numpy_order() -> None:
    import numpy as np

    from dedupblock.postings import top_documents

    rng = np.random.default_rng(4)
    for _ in range(200):
        n = int(rng.integers(0, 60))
        hits = rng.integers(0, 12, size=n + 5).astype(np.uint32)
        for k in (1, 4, 20):
            docs, counts = np.unique(hits[:n], return_counts=True)
            want = docs[np.argsort(-counts, kind="stable")[:k]].astype(np.int64)
            counts, touched = np.zeros(20, dtype=np.uint32), np.empty(n + 5, dtype=np.uint32)
            assert np.array_equal(top_documents(hits, n, k, counts, touched), want)
            assert not counts.any()  # the scratch is left zeroed
