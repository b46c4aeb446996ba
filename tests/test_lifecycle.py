"""Index lifecycle: add, remove, compact, crash safety and concurrent readers."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from build_index.build import build
from build_index.update import add_documents
from dedupblock import Blocker, IndexReader
from dedupblock.errors import InputError, StorageError
from dedupblock.params import IndexParams
from dedupblock.store import IndexUpdater
from tests.lifecycle_ops import doc_text, expected_ids, initial_ids, removed_ids

ROOT = Path(__file__).resolve().parent.parent


def make_index(path: Path) -> None:
    build([{"id": i, "text": doc_text(i), "source": f"base/{i}"} for i in initial_ids()], str(path), IndexParams())


def assert_consistent(path: Path) -> int:
    """The index opens and holds exactly the documents of its last committed operation."""
    with IndexReader(path) as idx:
        gen = idx.state["generation"]
        live = {m["id"] for _, m in idx.iter_meta()}
        assert live == expected_ids(gen), gen
        assert idx.n_docs == len(live)
        blocker = Blocker(idx, refresh_interval=None)
        for doc_id in sorted(live)[-4:]:
            v = blocker.check(doc_text(doc_id)[:700])
            assert v.blocked and v.match_id == doc_id, (gen, doc_id)
        for doc_id in sorted(removed_ids(gen))[-2:]:
            v = blocker.check(doc_text(doc_id)[:700])
            assert not v.blocked and all(m.doc_id != doc_id for m in v.matches), (gen, doc_id)
        return gen


def test_add_remove_compact(tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    make_index(idx)
    s = add_documents([{"id": "x1", "text": doc_text("x1"), "source": "new/x1", "license": "MIT"}], str(idx))
    assert s["added"] == 1 and s["docs"] == 5 and len(s["segments"]) == 2
    with pytest.raises(InputError, match="already in the index"):
        add_documents([{"id": "x1", "text": doc_text("x1")}], str(idx))
    s = add_documents([{"id": "x1", "text": doc_text("x2"), "license": "GPL"}], str(idx), replace=True)
    assert s["replaced"] == 1 and s["docs"] == 5
    b = Blocker(idx, refresh_interval=None)
    assert not b.check(doc_text("x1")[:800]).blocked  # the replaced text is gone
    v = b.check(doc_text("x2")[:800])
    assert v.blocked and v.matches[0].license == "GPL"
    with IndexUpdater(idx) as upd:
        assert upd.remove(source_glob="base/*")["removed"] == 4
        assert upd.remove(ids=["nope"])["not_found"] == 1
    b.index.refresh()
    assert not b.check(doc_text("base-1")[:800]).blocked
    before = b.check(doc_text("x2")[:800]).to_dict()
    with IndexUpdater(idx) as upd:
        s = upd.compact()
    assert s["segments_merged"] == 3 and s["tombstones_dropped"] == 5
    assert b.index.refresh()
    assert b.check(doc_text("x2")[:800]).to_dict() == before
    with IndexReader(idx) as r:
        assert len(r.segments) == 1 and not r.tombstones and r.n_docs == 1


def test_long_running_reader_sees_new_data(tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    make_index(idx)
    b = Blocker(idx, refresh_interval=0.0)
    assert not b.check(doc_text("late")[:800]).blocked
    add_documents([{"id": "late", "text": doc_text("late")}], str(idx))
    assert b.check(doc_text("late")[:800]).blocked


def test_map_full_is_clear_and_leaves_index_usable(tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    make_index(idx)
    size = (idx / "data.mdb").stat().st_size
    big = [{"id": f"big{i}", "text": doc_text(f"big{i}") * 40} for i in range(40)]
    with IndexUpdater(idx, map_size=size + 64 * 1024) as upd:
        from build_index.build import document_meta, sketch_documents
        from dedupblock.featurize.route import Router
        from dedupblock.sketch import Sketcher

        staged = list(zip([document_meta(r) for r in big],
                          sketch_documents(Router(seed=upd.params.seed), Sketcher(upd.params), big)))
        with pytest.raises(StorageError, match="map is full"):
            upd.add(staged)
    assert assert_consistent(idx) == 1


def test_killed_writer_leaves_last_committed_state(tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    make_index(idx)
    rng = random.Random(5)
    kills = 0
    gens = set()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    while kills < 24:
        p = subprocess.Popen([sys.executable, "-m", "tests.lifecycle_ops", str(idx), "1000"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert p.stdout.readline().strip() == b"ready", p.stderr.read().decode()
        # Aim each kill at one kind of operation in turn (add, remove, compact),
        # at a random moment shortly after it starts.
        target = kills % 3
        while True:
            line = p.stdout.readline()
            assert line, p.stderr.read().decode()
            if int(line.split()[1]) % 3 == (target + 1) % 3:
                break
        time.sleep(rng.uniform(0.0, 0.03))
        p.send_signal(signal.SIGKILL)
        p.wait()
        kills += 1
        gens.add(assert_consistent(idx))
    # Kills interrupted adds (state: the add pending, g % 3 == 1) and compactions
    # (g % 3 == 0) at many points of the sequence; a remove commits within a
    # millisecond, so the kills aimed at it mostly land just after it.
    assert {1, 0} <= {g % 3 for g in gens} and len(gens) >= 6


def test_killed_first_build_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "idx"
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"k{i}", "text": doc_text(f"k{i}") * 30}) + "\n"
                              for i in range(3000)))
    p = subprocess.Popen([str(Path(sys.executable).parent / "build-index"), "build", "--input", str(corpus), "--out",
                          str(out)], stderr=subprocess.PIPE)
    time.sleep(3.0)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert not out.exists()
    # the next build of the same target cleans up and succeeds
    small = tmp_path / "s.jsonl"
    small.write_text(json.dumps({"id": "a", "text": doc_text("a")}) + "\n")
    subprocess.run([str(Path(sys.executable).parent / "build-index"), "build", "--input", str(small), "--out",
                    str(out)], check=True, capture_output=True)
    assert [x.name for x in tmp_path.iterdir() if x.name.startswith(".")] == []
    with IndexReader(out) as r:
        assert r.n_docs == 1


def _reader(path: str, seconds: float, q: "mp.Queue") -> None:
    errors: list[str] = []
    checks = 0
    try:
        b = Blocker(path, refresh_interval=0.0)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            b.check("warm up")  # refresh to the newest snapshot
            idx = b.index
            gen = idx.state["generation"]
            live = {m["id"] for _, m in idx.iter_meta()}
            if live != expected_ids(gen):
                errors.append(f"generation {gen}: half-applied operation {sorted(live ^ expected_ids(gen))}")
            if idx.n_docs != len(live):
                errors.append(f"generation {gen}: count {idx.n_docs} != {len(live)}")
            newest = sorted(live, key=lambda i: (len(i), i))[-1]
            v = b.check(doc_text(newest)[:700])
            if not v.blocked:
                errors.append(f"generation {gen}: {newest} not found")
            checks += 1
    except Exception as exc:  # reported to the parent, which fails the test
        errors.append(f"{type(exc).__name__}: {exc}")
    q.put((checks, errors))


def test_readers_never_see_half_applied_operations(tmp_path: Path) -> None:
    idx = tmp_path / "idx"
    make_index(idx)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    readers = [ctx.Process(target=_reader, args=(str(idx), 12.0, q)) for _ in range(4)]
    for r in readers:
        r.start()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "tests.lifecycle_ops", str(idx), "18"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)
    results = [q.get(timeout=120) for _ in readers]
    for r in readers:
        r.join(timeout=30)
    assert all(not errs for _, errs in results), results
    assert all(checks > 0 for checks, _ in results)
    assert_consistent(idx)


@pytest.fixture()
def small_disk(tmp_path: Path):
    """A 4 MiB tmpfs (needs root; skipped elsewhere)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_build_running_out_of_space_leaves_nothing(small_disk: Path) -> None:
    big = [{"id": f"big{i}", "text": doc_text(f"big{i}") * 30} for i in range(120)]
    with pytest.raises(StorageError, match="disk full"):
        build(big, str(small_disk / "idx"), IndexParams())
    assert list(small_disk.iterdir()) == []


def test_disk_full_is_clear_and_leaves_index_usable(small_disk: Path) -> None:
    idx = small_disk / "idx"
    make_index(idx)
    big = [{"id": f"big{i}", "text": doc_text(f"big{i}") * 30} for i in range(60)]
    with pytest.raises(StorageError, match="disk full"):
        add_documents(big, str(idx))
    assert assert_consistent(idx) == 1
    # on the full disk, a build is refused and leaves nothing that opens
    with pytest.raises(StorageError, match="disk full"):
        build(big[:2], str(small_disk / "other"), IndexParams())
    assert not (small_disk / "other").exists()
    assert [p.name for p in small_disk.iterdir()] == ["idx"]
