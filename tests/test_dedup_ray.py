"""The Ray Data engine gives the local engine's result (local Ray, 2 CPUs, small corpus)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import orjson
import pytest

pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from build_index.dedup import DedupParams, dedup  # noqa: E402
from build_index.dedup_ray import dedup_ray, init_ray  # noqa: E402
from dedupblock.errors import InputError  # noqa: E402

DEV = Path("/work/shared/data/dev/corpus.jsonl")


@pytest.fixture(scope="module")
def ray_local():
    ray = init_ray(num_cpus=2)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    if not DEV.exists():
        pytest.skip("dev corpus not available")
    from make_dedup_corpus import make_corpus

    d = tmp_path_factory.mktemp("rc")
    docs = make_corpus(str(DEV), 40, 5, 0.03, seed=11)
    docs.append({"id": "empty", "text": "   ", "origin": "empty"})
    p = d / "corpus.jsonl"
    with open(p, "wb") as f:
        for r in docs:
            f.write(orjson.dumps(r) + b"\n")
    return p


def test_ray_matches_local(ray_local, corpus, tmp_path, monkeypatch):
    import build_index.dedup_ray as dr

    monkeypatch.setattr(dr, "DOCS_PER_CHUNK", 50)  # several chunks -> several read tasks
    params = DedupParams(max_copies=2, keep="longest")
    loc = dedup(str(corpus), str(tmp_path / "l.jsonl"), params)
    ray = dedup_ray(str(corpus), str(tmp_path / "r.jsonl"), params, report_path=str(tmp_path / "r.json"))
    assert loc.report["duplicates_removed"] > 0
    assert np.array_equal(loc.label, ray.label) and np.array_equal(loc.keep, ray.keep)
    assert (tmp_path / "l.jsonl").read_bytes() == (tmp_path / "r.jsonl").read_bytes()
    assert (tmp_path / "l.jsonl.clusters.jsonl").read_bytes() == (tmp_path / "r.jsonl.clusters.jsonl").read_bytes()
    for k in ("candidates", "accepted", "docs_out", "bytes_removed", "clusters_by_size"):
        assert loc.report[k] == ray.report[k], k
    assert ray.report["engine"] == "ray" and (tmp_path / "r.clusters.png").exists()
    again = dedup_ray(str(corpus), str(tmp_path / "r.jsonl"), params)
    assert again.report["resumed_stages"] == ["sketch", "bands", "verify"]
    assert np.array_equal(again.keep, loc.keep)


def test_ray_bad_line_is_one_line_error(ray_local, corpus, tmp_path, monkeypatch):
    import build_index.dedup_ray as dr

    monkeypatch.setattr(dr, "DOCS_PER_CHUNK", 20)
    lines = corpus.read_bytes().splitlines(keepends=True)
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"".join(lines[:57]) + b'{"id": "x", "text": 5}\n' + b"".join(lines[57:]))
    with pytest.raises(InputError, match=r"bad.jsonl:58: field 'text' must be a string"):
        dedup_ray(str(bad), str(tmp_path / "o.jsonl"), DedupParams())
