"""``build-index dedup``: kernels, clustering quality against exact ground truth, keep rules,
resumability, shard formats, decontamination and one-line errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from build_index.cli import main as cli  # noqa: E402
from build_index.dedup import (  # noqa: E402
    DedupParams, band_column, dedup, group_pairs, jaccard_pairs, select, unique_sorted_batch)
from build_index.unionfind import components  # noqa: E402
from dedupblock.lsh import band_keys  # noqa: E402

DEV = Path("/work/shared/data/dev/corpus.jsonl")


def write_jsonl(path: Path, recs: list[dict]) -> Path:
    with open(path, "wb") as f:
        for r in recs:
            f.write(orjson.dumps(r) + b"\n")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in open(path, "rb") if line.strip()]


def words(seed: int, n: int) -> str:
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(5000)]
    return " ".join(vocab[i] for i in rng.integers(0, len(vocab), n))


# -- kernels ------------------------------------------------------------------
def test_components_canonical_and_order_free():
    rng = np.random.default_rng(0)
    n = 500
    a, b = rng.integers(0, n, 400), rng.integers(0, n, 400)
    lab = components(n, a, b)
    perm = rng.permutation(400)
    assert np.array_equal(lab, components(n, b[perm], a[perm]))
    # reference: BFS
    adj: dict[int, set[int]] = {i: set() for i in range(n)}
    for x, y in zip(a, b):
        adj[int(x)].add(int(y))
        adj[int(y)].add(int(x))
    seen: dict[int, int] = {}
    for s in range(n):
        if s in seen:
            continue
        comp, stack = [], [s]
        seen[s] = -1
        while stack:
            u = stack.pop()
            comp.append(u)
            for v in adj[u]:
                if v not in seen:
                    seen[v] = -1
                    stack.append(v)
        for u in comp:
            seen[u] = min(comp)
    assert lab.tolist() == [seen[i] for i in range(n)]


def test_group_pairs_all_pairs_and_star_chain():
    keys = np.array([1, 1, 1, 2, 3, 3], dtype=np.uint64)
    units = np.array([0, 4, 7, 1, 2, 9], dtype=np.int64)
    got = {(int(p >> np.uint64(32)), int(p & np.uint64(0xFFFFFFFF))) for p in group_pairs(keys, units, 32)}
    assert got == {(0, 4), (0, 7), (4, 7), (2, 9)}
    m = 40
    p = group_pairs(np.zeros(m, dtype=np.uint64), np.arange(m, dtype=np.int64), 32)
    assert p.shape[0] == 2 * m - 3
    edges = np.stack([(p >> np.uint64(32)).astype(np.int64), (p & np.uint64(0xFFFFFFFF)).astype(np.int64)], 1)
    assert (components(m, edges[:, 0], edges[:, 1]) == 0).all()


def test_exact_jaccard_and_unique_sets():
    rng = np.random.default_rng(1)
    sets = [rng.integers(0, 60, rng.integers(1, 80)).astype(np.uint64) for _ in range(30)]
    off = np.zeros(31, dtype=np.int64)
    np.cumsum([len(s) for s in sets], out=off[1:])
    uoff, ush = unique_sorted_batch(off, np.concatenate(sets))
    for i, s in enumerate(sets):
        assert ush[uoff[i]:uoff[i + 1]].tolist() == sorted(set(s.tolist()))
    ua, ub = np.repeat(np.arange(30), 30), np.tile(np.arange(30), 30)
    j = jaccard_pairs(ush, uoff, ua, ub)
    for x, y, v in zip(ua, ub, j):
        A, B = set(sets[x].tolist()), set(sets[y].tolist())
        assert v == pytest.approx(len(A & B) / len(A | B))


def test_band_column_matches_index_band_keys():
    rng = np.random.default_rng(2)
    sigs = rng.integers(0, 2**32, size=(50, 128), dtype=np.uint64).astype(np.uint32)
    full = band_keys(sigs, 16, 8, 0)
    for j in (0, 5, 15):
        assert np.array_equal(band_column(sigs, np.zeros(50, dtype=np.int64), j, 8), full[:, j])


def test_select_keep_rules():
    # clusters {0,1,2} and {3,4}; doc 5 contaminated
    edges = np.array([[0, 2], [1, 2], [3, 4]], dtype=np.int64)
    flags = np.array([0, 0, 0, 0, 0, 1], dtype=np.uint8)
    chars = np.array([10, 30, 30, 5, 50, 9])
    rank = np.array([0.5, 0.1, 0.9, 2.0, 2.0, 0.0])
    first = select(6, edges, flags, chars, rank, DedupParams(max_copies=1))
    assert first["keep"].tolist() == [True, False, False, True, False, False]
    assert first["reason"].tolist() == [0, 1, 1, 0, 1, 2]
    longest = select(6, edges, flags, chars, rank, DedupParams(max_copies=1, keep="longest"))
    assert longest["keep"].tolist() == [False, True, False, False, True, False]  # tie 30/30 -> earlier
    fld = select(6, edges, flags, chars, rank, DedupParams(max_copies=2, keep="field:q"))
    assert fld["keep"].tolist() == [True, False, True, True, True, False]
    assert fld["head"][:5].tolist() == [2, 2, 2, 3, 3]


# -- quality against exact ground truth -------------------------------------------
@pytest.fixture(scope="module")
def truth_corpus(tmp_path_factory):
    if not DEV.exists():
        pytest.skip("dev corpus not available")
    from make_dedup_corpus import exact_pairs, make_corpus, shingle_sets, truth_labels

    d = tmp_path_factory.mktemp("gt")
    docs = make_corpus(str(DEV), 120, 6, 0.03, seed=3)
    path = write_jsonl(d / "corpus.jsonl", docs)
    ud, uv, off, sh = shingle_sets(docs, DedupParams())
    pairs, _ = exact_pairs(ud, uv, off, sh, 0.8)
    return path, truth_labels(len(docs), pairs), docs


def test_quality_and_max_copies(truth_corpus, tmp_path):
    from make_dedup_corpus import pairwise_scores

    path, truth, docs = truth_corpus
    out = tmp_path / "out.jsonl"
    for k in (1, 2, 5):
        res = dedup(str(path), str(out), DedupParams(max_copies=k), report_path=str(tmp_path / "r.json"))
        s = pairwise_scores(res.label, truth)
        assert s["precision"] >= 0.95 and s["recall"] >= 0.95, s
        size = np.bincount(res.label)
        kept = np.bincount(res.label, weights=res.keep.astype(float), minlength=size.shape[0])
        roots = np.unique(res.label)
        assert np.array_equal(kept[roots], np.minimum(size[roots], k))
        kept_ids = [r["id"] for r in read_jsonl(out)]
        assert kept_ids == [d["id"] for d, kp in zip(docs, res.keep) if kp]
        rep = json.loads((tmp_path / "r.json").read_text())
        assert rep["docs_out"] == len(kept_ids) and rep["docs_in"] == len(docs)
        assert rep["rejected"] == rep["verified"] - rep["accepted"] and rep["candidates"] >= rep["verified"]
        assert (tmp_path / "r.clusters.png").stat().st_size > 1000
        if k > 1:  # only the select stage depends on K
            assert rep["resumed_stages"] == ["sketch", "bands", "verify"]
    clusters = read_jsonl(Path(str(out) + ".clusters.jsonl"))
    assert len(clusters) == len(docs)
    assert {c["reason"] for c in clusters} <= {"kept", "duplicate"}


def test_deterministic_and_spill_path_agree(truth_corpus, tmp_path):
    path, _, _ = truth_corpus
    a = dedup(str(path), str(tmp_path / "a.jsonl"), DedupParams(max_copies=2))
    b = dedup(str(path), str(tmp_path / "b.jsonl"), DedupParams(max_copies=2), memory_mb=0.002)  # on-disk buckets
    assert b.report["bucket_bits"] > 0 and a.report["bucket_bits"] == 0
    assert np.array_equal(a.keep, b.keep) and np.array_equal(a.label, b.label)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    c = dedup(str(path), str(tmp_path / "c.jsonl"), DedupParams(max_copies=2, seed=99))
    assert c.report["resumed_stages"] == []  # a new seed is a new sketch


def test_resume_after_interruption(truth_corpus, tmp_path):
    import shutil

    path, _, _ = truth_corpus
    out = tmp_path / "o.jsonl"
    full = dedup(str(path), str(out), DedupParams(max_copies=1))
    work = Path(str(out) + ".work")
    # interrupted during verify: verify never committed, a partial dir is lying around
    shutil.rmtree(work / "verify")
    shutil.rmtree(work / "select")
    (work / "verify.partial").mkdir()
    (work / "verify.partial" / "garbage").write_text("x")
    again = dedup(str(path), str(out), DedupParams(max_copies=1))
    assert again.report["resumed_stages"] == ["sketch", "bands"]
    assert np.array_equal(full.keep, again.keep)
    # interrupted inside bands: finished band files are reused
    shutil.rmtree(work / "bands")
    dedup(str(path), str(out), DedupParams(max_copies=1, threshold=0.7))  # other params: new stages
    th = dedup(str(path), str(out), DedupParams(max_copies=1, threshold=0.7))
    assert th.report["resumed_stages"] == ["sketch", "bands", "verify", "select"]


def test_keep_field_and_longest_cli(tmp_path):
    base = words(5, 400)
    recs = [{"id": "a", "text": base, "q": 1},
            {"id": "b", "text": base + " tail", "q": 7},
            {"id": "c", "text": base + " a longer tail here", "q": 3},
            {"id": "d", "text": words(6, 300), "q": 0}]
    inp = write_jsonl(tmp_path / "in.jsonl", recs)
    r = CliRunner().invoke(cli, ["dedup", "--input", str(inp), "--out", str(tmp_path / "f.jsonl"), "--max-copies", "1",
                                 "--keep", "field:q"])
    assert r.exit_code == 0, r.output
    assert [x["id"] for x in read_jsonl(tmp_path / "f.jsonl")] == ["b", "d"]
    r = CliRunner().invoke(cli, ["dedup", "--input", str(inp), "--out", str(tmp_path / "l.jsonl"), "--max-copies", "2",
                                 "--keep", "longest"])
    assert r.exit_code == 0, r.output
    assert [x["id"] for x in read_jsonl(tmp_path / "l.jsonl")] == ["b", "c", "d"]
    cl = {c["id"]: c for c in read_jsonl(tmp_path / "l.jsonl.clusters.jsonl")}
    assert cl["a"]["reason"] == "duplicate" and cl["a"]["duplicate_of"] == "c" and cl["a"]["cluster"] == "a"
    assert cl["a"]["size"] == 3 and cl["d"]["size"] == 1


def test_shard_directories_jsonl_and_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    base = words(8, 300)
    recs = [{"id": i, "text": base + f" v{i}" if i % 2 == 0 else words(100 + i, 300), "extra": i} for i in range(12)]
    jd, pd = tmp_path / "jin", tmp_path / "pin"
    jd.mkdir()
    pd.mkdir()
    for s in range(3):
        write_jsonl(jd / f"part-{s:02d}.jsonl", recs[s * 4:(s + 1) * 4])
        pq.write_table(pa.Table.from_pylist(recs[s * 4:(s + 1) * 4]), pd / f"part-{s:02d}.parquet")
    kept_ids = None
    for src, ext in ((jd, "jsonl"), (pd, "parquet")):
        out = tmp_path / f"out-{ext}"
        r = CliRunner().invoke(cli, ["dedup", "--input", str(src), "--out", str(out), "--max-copies", "1"])
        assert r.exit_code == 0, r.output
        names = sorted(p.name for p in out.iterdir())
        assert names == ["_clusters.jsonl"] + [f"part-{s:02d}.{ext}" for s in range(3)]
        if ext == "jsonl":
            got = [x["id"] for s in range(3) for x in read_jsonl(out / f"part-{s:02d}.jsonl")]
        else:
            got = [x for s in range(3) for x in pq.read_table(out / f"part-{s:02d}.parquet").column("id").to_pylist()]
            assert pq.read_table(out / "part-00.parquet").schema == pq.read_table(pd / "part-00.parquet").schema
        got = [str(x) for x in got]
        assert got == [str(i) for i in range(12) if i == 0 or i % 2 == 1]
        kept_ids = kept_ids or got
        assert got == kept_ids


def test_against_protected_index(tmp_path):
    from build_index.build import build
    from dedupblock.params import IndexParams

    prot = [{"id": f"p{i}", "text": words(200 + i, 400)} for i in range(3)]
    build(prot, str(tmp_path / "idx"), IndexParams())
    recs = [{"id": "x0", "text": prot[0]["text"]}, {"id": "x1", "text": words(300, 400)},
            {"id": "x2", "text": words(301, 100) + " " + prot[1]["text"][:1200]}, {"id": "x3", "text": words(302, 400)}]
    inp = write_jsonl(tmp_path / "in.jsonl", recs)
    res = dedup(str(inp), str(tmp_path / "o.jsonl"), DedupParams(against=str(tmp_path / "idx")),
                report_path=str(tmp_path / "r.json"))
    assert res.report["decontaminated"] == 2 and res.report["duplicates_removed"] == 0
    assert [r["id"] for r in read_jsonl(tmp_path / "o.jsonl")] == ["x1", "x3"]
    cl = read_jsonl(tmp_path / "o.jsonl.clusters.jsonl")
    assert [c["reason"] for c in cl] == ["decontaminated", "kept", "decontaminated", "kept"]


@pytest.mark.parametrize("content,needle", [
    (b'{"id": "a", "text": "fine"}\n{"id": "b", "text": \n', ":2: malformed JSON"),
    (b'{"id": "a", "text": "fine"}\n{"id": "b"}\n', ":2: missing field 'text'"),
    (b'{"id": "a", "text": "x", "q": "high"}\n', "field 'q' must be a number"),
    (b"\x00\x01binary", "binary"),
])
def test_malformed_input_one_line_error(tmp_path, content, needle):
    inp = tmp_path / "bad.jsonl"
    inp.write_bytes(content)
    r = CliRunner().invoke(cli, ["dedup", "--input", str(inp), "--out", str(tmp_path / "o.jsonl"), "--max-copies", "1",
                                 "--keep", "field:q"])
    assert r.exit_code == 2
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], r.output
    assert "Traceback" not in r.output and not (tmp_path / "o.jsonl").exists()


def test_bad_arguments_one_line(tmp_path):
    inp = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "hello world"}])
    for args, needle in ((["--keep", "shortest"], "--keep must be"),
                         (["--against", str(tmp_path / "nope")], "error: "),
                         (["--input", str(tmp_path / "missing.jsonl")], "no such file")):
        argv = ["dedup", "--input", str(inp), "--out", str(tmp_path / "o.jsonl"), "--max-copies", "1", *args]
        r = CliRunner().invoke(cli, argv)
        assert r.exit_code != 0 and needle in r.output and "Traceback" not in r.output, r.output
        assert len(r.output.strip().splitlines()) == 1, r.output


def test_appender_reports_write_errors(tmp_path) -> None:
    """Column files are written on a helper thread; a failed write (a full disk) still fails the stage."""
    from build_index.dedup import _Appender

    app = _Appender(tmp_path, {"a": "<i8"})
    app.add("a", np.arange(3))
    app.files["a"].close()  # every later write fails, as on a full disk
    with pytest.raises((OSError, ValueError)):
        try:
            for _ in range(100):
                app.add("a", np.arange(3))
        finally:
            app.close()
