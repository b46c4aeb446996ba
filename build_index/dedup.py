"""``build-index dedup``: whole-document near-duplicate clustering of a corpus.

Stages (each one resumable, see :class:`WorkDir`)::

    sketch   read -> (decontaminate) -> featurize every view -> k-shingles ->
             sorted unique shingle set per (document, view) = *unit* ->
             MinHash signature per unit                 [numba prange]
    bands    per LSH band: band key of every unit -> group units by key by
             sorting (in memory, or radix-bucketed on disk when over the memory
             budget) -> candidate unit pairs of each group
    verify   unique candidate pairs -> exact Jaccard of the two shingle sets
             (pairs whose documents are already connected are skipped: that
             cannot change the components) -> accepted pairs join documents in
             a union-find                                [numba prange]
    select   connected components (clusters) -> keep at most K documents per
             cluster by a deterministic priority
    write    kept records (same shape as the input), cluster file, report, plot

Documents are numbered in input order; every tie is broken by that number,
so the same input, parameters and seed always give the same kept set, on
any number of cores and on either engine (``dedup_ray`` reuses ``select`` and
``write`` and the kernels below).

LSH bands come from :func:`dedupblock.lsh.optimal_params` at the threshold
with a false-negative weight of 0.95: at T=0.8 and 128 permutations that is
16 bands of 8 rows, which makes a pair at exactly J=0.8 a candidate with
probability 0.95 (and J=0.7 with 0.61; the exact verification throws those
out, so they cost time, not precision).
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import queue
import threading
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from numba import njit, prange, uint64

from build_index.shards import CLUSTERS_NAME, Source, check_output, output_paths, write_filtered
from build_index.unionfind import components, new_forest, separate, union_edges
from dedupblock.cliutil import progress_bar
from dedupblock.errors import InputError
from dedupblock.featurize.route import ALL_VIEWS, Router
from dedupblock.hashing import band_hash
from dedupblock.lsh import resolve_bands
from dedupblock.minhash import permutations, signatures_batch
from dedupblock.oph import oph_signatures_batch
from dedupblock.readers import MAX_DOC_CHARS
from dedupblock.sketch import VIEW_SEED_STRIDE, VIEWS, shingles_batch, text_shingles_batch

#: bumped when the layout of any stage output changes (invalidates work dirs)
WORK_FORMAT = 1
#: groups up to this size give all their pairs as candidates; bigger ones a star + a chain
ALL_PAIRS_GROUP = 32
#: documents / characters per sketch batch
BATCH_DOCS = 2048
BATCH_CHARS = 16 << 20
#: signature rows per band-key chunk, candidate pairs per verification chunk
KEY_CHUNK = 1 << 20
PAIR_CHUNK = 1 << 13
#: shingle bytes one verification chunk may map (bounds the file pages resident at once)
VERIFY_MAP_BYTES = 64 << 20

REASON_KEPT, REASON_DUPLICATE, REASON_DECONTAMINATED = 0, 1, 2
REASONS = ("kept", "duplicate", "decontaminated")
FLAG_CONTAMINATED, FLAG_EMPTY = 1, 2


# -- parameters ---------------------------------------------------------------
#: whole-document signature schemes (both estimate Jaccard; see dedupblock.oph)
SIGNATURES = ("oph", "minhash")

@dataclass(frozen=True)
class DedupParams:
    """Everything that decides the result (and so keys the resumable stages)."""

    threshold: float = 0.8
    max_copies: int = 1
    keep: str = "first"  # first | longest | field:NAME
    num_perm: int = 128
    #: "oph" (one-permutation MinHash, dedupblock.oph: one hash per shingle) or "minhash" (num_perm permutations)
    signature: str = "oph"
    shingle: int = 5
    code_shingle: int = 8
    views: tuple[str, ...] = ("text", "code")
    seed: int = 1
    fn_weight: float = 0.95
    bands: int = 0
    rows: int = 0
    against: str | None = None
    text_field: str = "text"
    id_field: str = "id"
    max_doc_chars: int = MAX_DOC_CHARS

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"--threshold must be in (0, 1), got {self.threshold}")
        if self.max_copies < 1:
            raise ValueError("--max-copies must be >= 1")
        if self.signature not in SIGNATURES:
            raise ValueError(f"--signature must be one of {', '.join(SIGNATURES)}, got {self.signature!r}")
        if self.shingle < 1 or self.code_shingle < 1:
            raise ValueError("shingle size must be >= 1")
        if not (self.keep in ("first", "longest") or (self.keep.startswith("field:") and len(self.keep) > 6)):
            raise ValueError(f"--keep must be first, longest or field:NAME, got {self.keep!r}")
        object.__setattr__(self, "views", tuple(sorted(set(self.views))))
        if not self.views or not set(self.views) <= set(ALL_VIEWS):
            raise ValueError(f"--views must be a subset of {','.join(ALL_VIEWS)}, got {','.join(self.views)}")
        b, r = resolve_bands(self.threshold, self.num_perm, self.bands, self.rows, self.fn_weight)
        object.__setattr__(self, "bands", b)
        object.__setattr__(self, "rows", r)

    def shingle_for(self, view: str) -> int:
        """Tokens per shingle of a view (normalised code tokens are less distinctive: longer shingles)."""
        return self.code_shingle if view == "code" else self.shingle

    @property
    def keep_field(self) -> str | None:
        return self.keep[6:] if self.keep.startswith("field:") else None

    def sketch_key(self) -> dict[str, Any]:
        return {"num_perm": self.num_perm, "signature": self.signature, "shingle": self.shingle,
                "code_shingle": self.code_shingle,
                "views": list(self.views), "seed": self.seed,
                "against": os.path.abspath(self.against) if self.against else None,
                "text_field": self.text_field, "id_field": self.id_field, "max_doc_chars": self.max_doc_chars,
                "keep_field": self.keep_field}

    def bands_key(self) -> dict[str, Any]:
        return {"bands": self.bands, "rows": self.rows, "all_pairs_group": ALL_PAIRS_GROUP}

    def verify_key(self) -> dict[str, Any]:
        return {"threshold": self.threshold}

    def select_key(self) -> dict[str, Any]:
        return {"max_copies": self.max_copies, "keep": self.keep}


def view_id(view: str) -> int:
    """Numeric id of a view (band-key space); unknown views get a stable id >= 2."""
    v = VIEWS.get(view)
    return v if v is not None else 2 + zlib.crc32(view.encode()) % 4093


# -- kernels ------------------------------------------------------------------
@njit(cache=True, nogil=True, parallel=True)
def _compact_sorted(sh_off, srt):
    """Drop repeats inside each sorted segment of ``srt``: ``(offsets, values)``."""
    U = sh_off.shape[0] - 1
    cnt = np.zeros(U, dtype=np.int64)
    for u in prange(U):
        lo = sh_off[u]
        hi = sh_off[u + 1]
        if hi > lo:
            w = 1
            for i in range(lo + 1, hi):
                if srt[i] != srt[i - 1]:
                    w += 1
            cnt[u] = w
    off = np.zeros(U + 1, dtype=np.int64)
    for u in range(U):
        off[u + 1] = off[u] + cnt[u]
    out = np.empty(off[U], dtype=np.uint64)
    for u in prange(U):
        lo = sh_off[u]
        hi = sh_off[u + 1]
        if hi > lo:
            o = off[u]
            out[o] = srt[lo]
            o += 1
            for i in range(lo + 1, hi):
                if srt[i] != srt[i - 1]:
                    out[o] = srt[i]
                    o += 1
    return off, out


def unique_sorted_batch(sh_off: np.ndarray, sh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort and deduplicate each segment ``sh[sh_off[u]:sh_off[u+1]]``: the unit's shingle set.

    The sort is NumPy's, per segment (SIMD; about 5x faster here than a numba
    sort inside ``prange``), in place (``sh`` is reordered), the compaction a
    parallel numba kernel.
    """
    srt = sh if sh.dtype == np.uint64 else sh.astype(np.uint64)
    for u in range(sh_off.shape[0] - 1):
        srt[sh_off[u]:sh_off[u + 1]].sort()
    return _compact_sorted(np.ascontiguousarray(sh_off, dtype=np.int64), srt)


@njit(cache=True, nogil=True, parallel=True)
def band_column(sigs, views, j, rows):
    """Key of band ``j`` of every signature row (seed ``view * VIEW_SEED_STRIDE + j``, as the index)."""
    n = sigs.shape[0]
    out = np.empty(n, dtype=np.uint64)
    for i in prange(n):
        out[i] = band_hash(sigs[i], j * rows, rows, uint64(views[i] * VIEW_SEED_STRIDE + j))
    return out


@njit(cache=True, nogil=True)
def group_pairs_ab(skeys, sunits, all_pairs):
    """Candidate pairs ``(a[i], b[i])`` (a < b) of the runs of equal keys.

    ``skeys`` sorted, ``sunits`` ascending within each run.  A run of ``m <=
    all_pairs`` units gives all ``m (m-1) / 2`` pairs; a longer run (a key
    shared by very many units: boilerplate, exact copies) gives a star from
    its first unit plus the chain of neighbours, ``2m - 3`` pairs, which
    connects every member that is similar to its first or its neighbour.
    """
    n = skeys.shape[0]
    total = 0
    i = 0
    while i < n:
        j = i + 1
        while j < n and skeys[j] == skeys[i]:
            j += 1
        m = j - i
        if m >= 2:
            total += m * (m - 1) // 2 if m <= all_pairs else 2 * m - 3
        i = j
    oa = np.empty(total, dtype=np.int64)
    ob = np.empty(total, dtype=np.int64)
    o = 0
    i = 0
    while i < n:
        j = i + 1
        while j < n and skeys[j] == skeys[i]:
            j += 1
        m = j - i
        if m >= 2:
            if m <= all_pairs:
                for x in range(i, j):
                    for y in range(x + 1, j):
                        oa[o] = sunits[x]
                        ob[o] = sunits[y]
                        o += 1
            else:
                for y in range(i + 1, j):
                    oa[o] = sunits[i]
                    ob[o] = sunits[y]
                    o += 1
                for x in range(i + 1, j - 1):
                    oa[o] = sunits[x]
                    ob[o] = sunits[x + 1]
                    o += 1
        i = j
    return oa, ob


def group_pairs(skeys: np.ndarray, sunits: np.ndarray, all_pairs: int) -> np.ndarray:
    """:func:`group_pairs_ab` packed as ``(a << 32) | b`` (units < 2**32), for cheap sorting."""
    a, b = group_pairs_ab(skeys, sunits, all_pairs)
    return (a.astype(np.uint64) << np.uint64(32)) | b.astype(np.uint64)


@njit(cache=True, nogil=True, inline="always")
def _intersect(sh, lo1, hi1, lo2, hi2):
    c = 0
    i = lo1
    j = lo2
    while i < hi1 and j < hi2:
        x = sh[i]
        y = sh[j]
        if x == y:
            c += 1
            i += 1
            j += 1
        elif x < y:
            i += 1
        else:
            j += 1
    return c


@njit(cache=True, nogil=True, parallel=True)
def jaccard_pairs(sh, off, ua, ub):
    """Exact Jaccard of the sorted unique shingle sets of unit pairs ``(ua[i], ub[i])``."""
    n = ua.shape[0]
    out = np.empty(n, dtype=np.float64)
    for i in prange(n):
        a = ua[i]
        b = ub[i]
        na = off[a + 1] - off[a]
        nb = off[b + 1] - off[b]
        if na == 0 or nb == 0:
            out[i] = 0.0
            continue
        c = _intersect(sh, off[a], off[a + 1], off[b], off[b + 1])
        out[i] = c / (na + nb - c)
    return out


def accept(j: np.ndarray, threshold: float) -> np.ndarray:
    """The verification rule, shared by both engines and the ground truth."""
    return j >= threshold - 1e-12


# -- work directory -------------------------------------------------------------
def _digest(obj: Any) -> str:
    return f"{zlib.crc32(json.dumps(obj, sort_keys=True, default=str).encode()):08x}"


class WorkDir:
    """Stage outputs under ``root/<stage>/`` with a ``DONE`` marker (key + stats).

    A stage is built in ``root/<stage>.partial/`` (which may keep per-step
    files across interruptions when its ``KEY`` matches) and renamed into
    place with ``DONE`` written last, so a finished stage is all or nothing.
    The key of a stage includes the key of the stage before it: changing an
    input or a parameter reruns exactly the stages that depend on it.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, stage: str) -> Path:
        return self.root / stage

    def done(self, stage: str, key: str) -> dict[str, Any] | None:
        marker = self.root / stage / "DONE"
        try:
            info = json.loads(marker.read_text())
        except (OSError, ValueError):
            return None
        return info if info.get("key") == key else None

    def begin(self, stage: str, key: str) -> Path:
        part = self.root / f"{stage}.partial"
        try:
            same = (part / "KEY").read_text() == key
        except OSError:
            same = False
        if not same:
            shutil.rmtree(part, ignore_errors=True)
            part.mkdir(parents=True)
            _atomic_write(part / "KEY", key.encode())
        return part

    def commit(self, stage: str, key: str, info: dict[str, Any]) -> None:
        part = self.root / f"{stage}.partial"
        (part / "KEY").unlink(missing_ok=True)
        _atomic_write(part / "DONE", json.dumps({"key": key, **info}, default=str).encode())
        final = self.root / stage
        if final.exists():
            shutil.rmtree(final)
        os.replace(part, final)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _save(path: Path, arr: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.npy")
    np.save(tmp, arr)
    os.replace(tmp, path)


def peak_rss_mb() -> float:
    """Peak resident set of this process (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def peak_child_rss_mb() -> float:
    """Largest peak resident set of any finished child process (sketch workers), MB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


# -- stage 1: sketch ----------------------------------------------------------
class _Appender:
    """Raw little-endian append files for the per-document / per-unit columns.

    Writes happen on a helper thread, in order (``tofile`` releases the GIL),
    so that writing batch ``i`` overlaps with sketching batch ``i + 1``; at most
    a few batches are queued.  A write error (a full disk) is raised by the
    next :meth:`add` or by :meth:`close`.
    """

    def __init__(self, root: Path, names: dict[str, str]) -> None:
        self.files = {n: open(root / f"{n}.bin", "wb") for n in names}
        self.dtypes = {n: np.dtype(d) for n, d in names.items()}
        self._queue: queue.Queue[tuple[str, np.ndarray] | None] = queue.Queue(maxsize=4 * len(names))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="sketch-writer", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    item[1].tofile(self.files[item[0]])
                except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
                    self._error = e

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def add(self, name: str, arr: np.ndarray) -> None:
        self._raise()
        self._queue.put((name, np.ascontiguousarray(arr, dtype=self.dtypes[name])))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._raise()
        for f in self.files.values():
            f.flush()
            os.fsync(f.fileno())
            f.close()


DOC_COLS = {"doc_chars": "<i8", "doc_bytes": "<i8", "doc_tbytes": "<i8", "doc_flags": "u1", "doc_rank": "<f8",
            "id_off": "<i8"}
UNIT_COLS = {"unit_doc": "<i8", "unit_view": "<i8", "unit_len": "<i8", "shingles": "<u8", "sigs": "<u4"}


def _rank_value(data: dict[str, Any], name: str, loc: tuple[str, int]) -> float:
    v = data.get(name)
    if v is None:
        return -math.inf
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InputError(f"{loc[0]}:{loc[1]}: field {name!r} must be a number for --keep field:{name}")
    return float(v)


def sketch_batch(router: Router, params: DedupParams, a: np.ndarray, b: np.ndarray,
                 texts: list[str], langs: list[str | None]) -> dict[str, np.ndarray]:
    """Units of a batch of documents, in (document, view) order.

    Returns ``doc`` (index in the batch), ``view`` (id), ``len`` (shingle set
    sizes), ``shingles`` (the sorted unique sets, concatenated) and ``sigs``
    (``uint32[units, num_perm]``).
    """
    # The text view is tokenised and shingled in one pass, in parallel over the
    # batch (no token arrays); the code view's tokens are shingled below.  Units
    # are in (document, view name) order.
    seed = np.uint64(params.seed)
    text_sh: tuple[np.ndarray, np.ndarray] | None = None
    if "text" in params.views:
        text_sh = text_shingles_batch(texts, params.shingle_for("text"), params.seed)
    units: list[tuple[int, str]] = []
    data: list[np.ndarray] = []  # code: token hashes; text: shingles
    for i, (text, lang) in enumerate(zip(texts, langs)):
        if "code" in params.views:
            code = router.doc_code(text, lang)
            if code is not None and len(code):
                units.append((i, "code"))
                data.append(code.hashes)
        if text_sh is not None and text_sh[0][i + 1] > text_sh[0][i]:
            units.append((i, "text"))
            data.append(text_sh[1][text_sh[0][i]:text_sh[0][i + 1]])
    n = len(units)
    seg: list[np.ndarray] = [np.zeros(0, np.uint64)] * n
    sigs = np.empty((n, a.shape[0]), dtype=np.uint32)
    whole: np.ndarray | None = None
    for view in sorted({v for _, v in units}):
        members = [u for u in range(n) if units[u][1] == view]
        if view == "text" and text_sh is not None:
            # the text units' shingles, in unit order, are text_sh itself (empty documents
            # have no unit and no shingles): no copy; offsets without the empty documents
            sh_off, sh = np.unique(text_sh[0]), text_sh[1]
        else:
            off = np.zeros(len(members) + 1, dtype=np.int64)
            np.cumsum([data[u].shape[0] for u in members], out=off[1:])
            h = np.concatenate([data[u] for u in members])
            sh_off, sh = shingles_batch(h, off, params.shingle_for(view), seed)
        u_off, u_sh = unique_sorted_batch(sh_off, sh)
        if params.signature == "oph":
            sigs[members] = oph_signatures_batch(u_sh, u_off, params.num_perm, np.uint64(params.seed))
        else:
            sigs[members] = signatures_batch(u_sh, u_off, a, b)
        for j, u in enumerate(members):
            seg[u] = u_sh[u_off[j]:u_off[j + 1]]
        if len(members) == n:  # one view only: the sets are already in unit order
            whole = u_sh
    return {"doc": np.asarray([d for d, _ in units], dtype=np.int64),
            "view": np.asarray([view_id(v) for _, v in units], dtype=np.int64),
            "len": np.asarray([s.shape[0] for s in seg], dtype=np.int64),
            "shingles": whole if n and whole is not None else np.concatenate(seg) if seg else np.zeros(0, np.uint64),
            "sigs": sigs}


@dataclass
class SketchBatch:
    """One batch of the sketch stage: per-document columns and the batch's units."""

    base: int  # number of the batch's first document
    ids: list[str]
    chars: np.ndarray  # int64[n]
    nbytes: np.ndarray  # int64[n], record bytes (JSONL line; UTF-8 text for Parquet)
    tbytes: np.ndarray  # int64[n], UTF-8 bytes of the text
    rank: np.ndarray  # float64[n], the --keep field:NAME value (0 otherwise)
    flags: np.ndarray  # uint8[n], FLAG_CONTAMINATED | FLAG_EMPTY
    units: dict[str, np.ndarray]  # see sketch_batch; "doc" is absolute
    against_seconds: float = 0.0


class BatchSketcher:
    """Records -> :class:`SketchBatch` es (shared by the local and the Ray engine)."""

    def __init__(self, params: DedupParams) -> None:
        self.params = params
        self.router = Router(seed=params.seed, views=set(params.views))
        self.a, self.b = permutations(params.num_perm, params.seed)
        self.blocker = None
        if params.against:
            from dedupblock import Blocker

            self.blocker = Blocker(params.against)

    def batches(self, records: Any, base: int = 0) -> Any:
        """Yield batches of ``records`` (``(data, nbytes, (file, line))`` as :meth:`Source.records`)."""
        batch: list[tuple[dict[str, Any], int, tuple[str, int]]] = []
        chars = 0
        for rec in records:
            batch.append(rec)
            chars += len(rec[0][self.params.text_field])
            if len(batch) >= BATCH_DOCS or chars >= BATCH_CHARS:
                yield self.sketch(batch, base)
                base += len(batch)
                batch, chars = [], 0
        if batch:
            yield self.sketch(batch, base)

    def sketch(self, batch: list[tuple[dict[str, Any], int, tuple[str, int]]], base: int) -> SketchBatch:
        p = self.params
        n = len(batch)
        texts = [d[p.text_field] for d, _, _ in batch]
        langs = [lg if isinstance(lg := d.get("lang"), str) else None for d, _, _ in batch]
        flags = np.zeros(n, dtype=np.uint8)
        spent = 0.0
        if self.blocker is not None:
            t = time.perf_counter()
            for i in range(n):
                if self.blocker.check(texts[i], langs[i]).blocked:
                    flags[i] = FLAG_CONTAMINATED
            spent = time.perf_counter() - t
        kf = p.keep_field
        rank = np.array([_rank_value(d, kf, loc) for d, _, loc in batch] if kf else np.zeros(n), dtype=np.float64)
        live = [i for i in range(n) if not flags[i]]
        u = sketch_batch(self.router, p, self.a, self.b, [texts[i] for i in live], [langs[i] for i in live])
        idx = np.asarray(live, dtype=np.int64)
        u["doc"] = (idx[u["doc"]] if u["doc"].shape[0] else u["doc"]) + base
        has = np.zeros(n, dtype=bool)
        has[u["doc"] - base] = True
        flags[(~has) & (flags == 0)] = FLAG_EMPTY
        return SketchBatch(
            base=base, ids=[d[p.id_field] for d, _, _ in batch],
            chars=np.array([len(t) for t in texts], dtype=np.int64),
            nbytes=np.array([nb for _, nb, _ in batch], dtype=np.int64),
            tbytes=np.array([len(t) if t.isascii() else len(t.encode("utf-8", "surrogatepass")) for t in texts],
                            dtype=np.int64),
            rank=rank, flags=flags, units=u, against_seconds=spent)


_WORKER: BatchSketcher | None = None


def _worker_init(params: DedupParams) -> None:
    global _WORKER
    _WORKER = BatchSketcher(params)


def _worker_chunk(chunk: dict[str, Any]) -> list[SketchBatch]:
    from build_index.shards import read_chunk

    assert _WORKER is not None
    p = _WORKER.params
    recs = read_chunk(chunk, text_field=p.text_field, id_field=p.id_field, max_chars=p.max_doc_chars)
    return list(_WORKER.batches(recs, base=int(chunk["base"])))


def parallel_batches(source: Source, params: DedupParams, workers: int) -> Any:
    """The sketch batches of ``source`` in document order, on ``workers`` processes.

    Featurization (Unicode folding, tree-sitter for the code view) runs in
    Python, so the stage scales with processes rather than numba threads.
    With workers, the parent only splits the input into chunks (byte ranges
    at line starts, :meth:`Source.plan`); each worker reads, validates and
    sketches its chunks itself (numba on one thread), so no text crosses a
    pipe, and at most ``2 * workers`` chunks are in flight.
    """
    recs = source.records(text_field=params.text_field, id_field=params.id_field, max_chars=params.max_doc_chars)
    if workers <= 1:
        yield from BatchSketcher(params).batches(recs)
        return
    import multiprocessing as mp
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    chunks, _ = source.plan(BATCH_DOCS)
    old = os.environ.get("NUMBA_NUM_THREADS")
    os.environ["NUMBA_NUM_THREADS"] = "1"  # inherited by the spawned workers only
    try:
        pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_worker_init,
                                   initargs=(params,))
    finally:
        if old is None:
            os.environ.pop("NUMBA_NUM_THREADS", None)
        else:
            os.environ["NUMBA_NUM_THREADS"] = old
    inflight: deque[Any] = deque()
    try:
        for chunk in chunks:
            inflight.append(pool.submit(_worker_chunk, chunk))
            while len(inflight) >= 2 * workers:
                yield from inflight.popleft().result()
        while inflight:
            yield from inflight.popleft().result()
    finally:
        for f in inflight:
            f.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def stage_sketch(source: Source, params: DedupParams, part: Path, workers: int = 1) -> dict[str, Any]:
    app = _Appender(part, {**DOC_COLS, **UNIT_COLS})
    ids = open(part / "ids.bin", "wb")
    stats = {"docs": 0, "units": 0, "shingles": 0, "against_seconds": 0.0}
    id_pos = 0
    bar = progress_bar(source.total_bytes(), "sketch", unit="B")
    try:
        for b in parallel_batches(source, params, workers):
            raw = [i.encode("utf-8", "surrogatepass") for i in b.ids]
            lens = np.fromiter((len(r) for r in raw), dtype=np.int64, count=len(raw))
            app.add("id_off", id_pos + np.concatenate([[0], np.cumsum(lens)[:-1]]))
            id_pos += int(lens.sum())
            ids.write(b"".join(raw))
            app.add("doc_chars", b.chars)
            app.add("doc_bytes", b.nbytes)
            app.add("doc_tbytes", b.tbytes)
            app.add("doc_rank", b.rank)
            app.add("doc_flags", b.flags)
            u = b.units
            app.add("unit_doc", u["doc"])
            app.add("unit_view", u["view"])
            app.add("unit_len", u["len"])
            app.add("shingles", u["shingles"])
            app.add("sigs", u["sigs"])
            stats["docs"] += len(b.ids)
            stats["units"] += int(u["doc"].shape[0])
            stats["shingles"] += int(u["len"].sum())
            stats["against_seconds"] += b.against_seconds
            bar.update(int(b.nbytes.sum()))
        app.add("id_off", np.asarray([id_pos]))
    finally:
        bar.close()
        app.close()
        ids.close()
    flags = np.fromfile(part / "doc_flags.bin", dtype=np.uint8)
    stats["contaminated"] = int(np.count_nonzero(flags & FLAG_CONTAMINATED))
    stats["empty"] = int(np.count_nonzero(flags & FLAG_EMPTY))
    return stats


class Sketches:
    """Read side of the sketch stage (memory-mapped where large)."""

    def __init__(self, root: Path, num_perm: int) -> None:
        self.root = root
        self.doc_chars = np.fromfile(root / "doc_chars.bin", dtype="<i8")
        self.D = self.doc_chars.shape[0]
        self.doc_flags = np.fromfile(root / "doc_flags.bin", dtype=np.uint8)
        self.doc_tbytes = np.fromfile(root / "doc_tbytes.bin", dtype="<i8")
        self.doc_bytes = np.fromfile(root / "doc_bytes.bin", dtype="<i8")
        self.doc_rank = np.fromfile(root / "doc_rank.bin", dtype="<f8")
        self.unit_doc = np.fromfile(root / "unit_doc.bin", dtype="<i8")
        self.unit_view = np.fromfile(root / "unit_view.bin", dtype="<i8")
        self.U = self.unit_doc.shape[0]
        self.sh_off = np.zeros(self.U + 1, dtype=np.int64)
        np.cumsum(np.fromfile(root / "unit_len.bin", dtype="<i8"), out=self.sh_off[1:])
        self.num_perm = num_perm

    def sigs(self) -> np.ndarray:
        if self.U == 0:
            return np.zeros((0, self.num_perm), dtype=np.uint32)
        return np.memmap(self.root / "sigs.bin", dtype="<u4", mode="r", shape=(self.U, self.num_perm))

    def shingles(self) -> np.ndarray:
        """All shingle sets, memory-mapped (read-only); see :meth:`release`."""
        if self.sh_off[-1] == 0:
            return np.zeros(0, dtype=np.uint64)
        if getattr(self, "_mm", None) is None:
            import mmap

            with open(self.root / "shingles.bin", "rb") as f:
                self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            if hasattr(self._mm, "madvise"):
                self._mm.madvise(mmap.MADV_RANDOM)  # no read-ahead / fault-around: map only what is read
            self._sh = np.frombuffer(self._mm, dtype="<u8", count=int(self.sh_off[-1]))
        return self._sh

    def release(self) -> None:
        """Drop the mapped shingle pages from the resident set (they stay in the page cache)."""
        mm = getattr(self, "_mm", None)
        if mm is not None and hasattr(mm, "madvise"):
            import mmap

            mm.madvise(mmap.MADV_DONTNEED)
            mm.madvise(mmap.MADV_RANDOM)

    def ids(self) -> "_Ids":
        return _Ids(self.root)


class _Ids:
    """Document ids read on demand from the sketch stage (no list of D Python strings)."""

    def __init__(self, root: Path) -> None:
        self.off = np.fromfile(root / "id_off.bin", dtype="<i8")
        size = int(self.off[-1]) if self.off.shape[0] else 0
        self.raw = np.memmap(root / "ids.bin", dtype=np.uint8, mode="r") if size else np.zeros(0, np.uint8)

    def __len__(self) -> int:
        return max(0, self.off.shape[0] - 1)

    def __getitem__(self, i: int) -> str:
        return self.raw[self.off[i]:self.off[i + 1]].tobytes().decode("utf-8", "surrogatepass")


# -- stage 2: bands -------------------------------------------------------------
def bucket_bits(units: int, memory_bytes: int) -> int:
    """log2 of the number of on-disk buckets per band so one bucket sorts within the budget.

    Sorting a bucket holds its keys, units, argsort and sorted copies: ~40 bytes per unit.
    """
    need = 40 * units
    bits = 0
    while need > memory_bytes and bits < 12:
        need //= 2
        bits += 1
    return bits


def band_pairs(sigs: np.ndarray, views: np.ndarray, j: int, rows: int, bits: int, spill: Path) -> np.ndarray:
    """Sorted unique candidate pairs of band ``j`` (bucketed through ``spill`` when ``bits > 0``)."""
    U = sigs.shape[0]
    if bits == 0:
        keys = np.empty(U, dtype=np.uint64)
        for lo in range(0, U, KEY_CHUNK):
            hi = min(U, lo + KEY_CHUNK)
            keys[lo:hi] = band_column(np.ascontiguousarray(sigs[lo:hi]), views[lo:hi], j, rows)
        order = np.argsort(keys, kind="stable")
        pairs = group_pairs(keys[order], order, ALL_PAIRS_GROUP)
        return np.unique(pairs)
    nb = 1 << bits
    spill.mkdir(parents=True, exist_ok=True)
    kf = [open(spill / f"k{i:04d}.bin", "wb") for i in range(nb)]
    uf = [open(spill / f"u{i:04d}.bin", "wb") for i in range(nb)]
    try:
        for lo in range(0, U, KEY_CHUNK):
            hi = min(U, lo + KEY_CHUNK)
            keys = band_column(np.ascontiguousarray(sigs[lo:hi]), views[lo:hi], j, rows)
            bucket = (keys >> np.uint64(64 - bits)).astype(np.int64)
            order = np.argsort(bucket, kind="stable")
            cuts = np.searchsorted(bucket[order], np.arange(nb + 1))
            units = np.arange(lo, hi, dtype=np.int64)[order]
            ks = keys[order]
            for i in range(nb):
                if cuts[i + 1] > cuts[i]:
                    ks[cuts[i]:cuts[i + 1]].tofile(kf[i])
                    units[cuts[i]:cuts[i + 1]].tofile(uf[i])
    finally:
        for f in kf + uf:
            f.close()
    out = []
    for i in range(nb):
        keys = np.fromfile(spill / f"k{i:04d}.bin", dtype=np.uint64)
        units = np.fromfile(spill / f"u{i:04d}.bin", dtype=np.int64)
        if keys.shape[0] >= 2:
            order = np.argsort(keys, kind="stable")
            p = group_pairs(keys[order], units[order], ALL_PAIRS_GROUP)
            if p.shape[0]:
                out.append(np.unique(p))
        (spill / f"k{i:04d}.bin").unlink()
        (spill / f"u{i:04d}.bin").unlink()
    shutil.rmtree(spill, ignore_errors=True)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.uint64)  # buckets are disjoint key ranges


def stage_bands(sk: Sketches, params: DedupParams, part: Path, memory_bytes: int) -> dict[str, Any]:
    if sk.U >= 1 << 32:
        raise InputError(f"{sk.U} sketch units is over the local engine's limit of 2**32; use --engine ray")
    sigs = sk.sigs()
    bits = bucket_bits(sk.U, memory_bytes)
    raw = 0
    bar = progress_bar(params.bands, "bands", unit="band")
    for j in range(params.bands):
        target = part / f"pairs_{j:03d}.npy"
        if not target.exists():  # bands finished before an interruption are kept
            p = band_pairs(sigs, sk.unit_view, j, params.rows, bits, part / f"spill_{j:03d}")
            _save(target, p)
        raw += int(np.load(target, mmap_mode="r").shape[0])
        bar.update(1)
    bar.close()
    return {"bucket_bits": bits, "band_pairs": raw}


# -- stage 3: verify ------------------------------------------------------------
def load_candidates(part: Path, bands: int) -> np.ndarray:
    arrs = [np.load(part / f"pairs_{j:03d}.npy") for j in range(bands)]
    if not arrs:
        return np.zeros(0, dtype=np.uint64)
    return np.unique(np.concatenate(arrs))


def verify_pairs(pairs: np.ndarray, sk: Sketches, threshold: float, skip_connected: bool = True,
                 bar: Any = None) -> tuple[np.ndarray, dict[str, int]]:
    """Accepted document edges ``int64[E, 2]`` and counts, from unit pairs ``(a << 32) | b``."""
    parent = new_forest(sk.D)
    ua_all = (pairs >> np.uint64(32)).astype(np.int64)
    ub_all = (pairs & np.uint64(0xFFFFFFFF)).astype(np.int64)
    edges = []
    st = {"candidates": int(pairs.shape[0]), "verified": 0, "accepted": 0, "rejected": 0, "skipped_connected": 0,
          "skipped_other": 0}
    size = np.diff(sk.sh_off)
    cum = np.cumsum((size[ua_all] + size[ub_all]) * 8)
    lo = 0
    while lo < pairs.shape[0]:
        # at most PAIR_CHUNK pairs and VERIFY_MAP_BYTES of shingle sets (at least one pair)
        base = cum[lo - 1] if lo else 0
        hi = min(int(np.searchsorted(cum, base + VERIFY_MAP_BYTES, side="right")), lo + PAIR_CHUNK)
        hi = max(hi, lo + 1)
        ua = ua_all[lo:hi]
        ub = ub_all[lo:hi]
        lo = hi
        da = sk.unit_doc[ua]
        db = sk.unit_doc[ub]
        ok = (da != db) & (sk.unit_view[ua] == sk.unit_view[ub])
        st["skipped_other"] += int(np.count_nonzero(~ok))
        if skip_connected:
            sep = separate(parent, da, db)
            st["skipped_connected"] += int(np.count_nonzero(ok & ~sep))
            ok &= sep
        va, vb = ua[ok], ub[ok]
        j = jaccard_pairs(sk.shingles(), sk.sh_off, va, vb)
        sk.release()  # the pages this chunk touched leave the resident set
        acc = accept(j, threshold)
        st["verified"] += int(va.shape[0])
        st["accepted"] += int(np.count_nonzero(acc))
        e = np.stack([da[ok][acc], db[ok][acc]], axis=1)
        union_edges(parent, e[:, 0].copy(), e[:, 1].copy())
        edges.append(e)
        if bar is not None:
            bar.update(ua.shape[0])
    st["rejected"] = st["verified"] - st["accepted"]
    return (np.concatenate(edges) if edges else np.zeros((0, 2), dtype=np.int64)), st


def stage_verify(sk: Sketches, params: DedupParams, bands_dir: Path, part: Path) -> dict[str, Any]:
    pairs = load_candidates(bands_dir, params.bands)
    bar = progress_bar(pairs.shape[0], "verify", unit="pairs")
    edges, st = verify_pairs(pairs, sk, params.threshold, bar=bar)
    bar.close()
    _save(part / "edges.npy", edges)
    return st


# -- stage 4: select ------------------------------------------------------------
def select(D: int, edges: np.ndarray, flags: np.ndarray, chars: np.ndarray, rank: np.ndarray,
           params: DedupParams) -> dict[str, np.ndarray]:
    """Clusters and the kept documents.

    ``label[d]`` = smallest document of ``d``'s cluster (decontaminated
    documents are singletons outside all clusters); within a cluster the
    documents are ordered by priority (``first``: input order; ``longest``:
    characters, descending; ``field:NAME``: the number, descending; ties by
    input order) and the first ``max_copies`` are kept.
    """
    label = components(D, edges[:, 0], edges[:, 1]) if D else np.zeros(0, dtype=np.int64)
    idx = np.arange(D, dtype=np.int64)
    if params.keep == "first":
        prio = idx
    elif params.keep == "longest":
        prio = np.lexsort((idx, -chars))
    else:
        prio = np.lexsort((idx, -rank))
    order = prio[np.argsort(label[prio], kind="stable")]  # by cluster, then priority
    sl = label[order]
    start = np.ones(D, dtype=bool)
    start[1:] = sl[1:] != sl[:-1]
    grp_start = np.maximum.accumulate(np.where(start, np.arange(D), 0)) if D else np.zeros(0, np.int64)
    pos = np.empty(D, dtype=np.int64)
    pos[order] = np.arange(D) - grp_start
    size = np.bincount(label, minlength=D)[label] if D else np.zeros(0, np.int64)
    contaminated = (flags & FLAG_CONTAMINATED) != 0
    keep = (pos < params.max_copies) & ~contaminated
    reason = np.where(keep, REASON_KEPT, REASON_DUPLICATE).astype(np.uint8)
    reason[contaminated] = REASON_DECONTAMINATED
    # the cluster's top-priority document, for "duplicate_of"
    head = np.empty(D, dtype=np.int64)
    if D:
        head[label[order[start]]] = order[start]
    return {"label": label, "keep": keep, "reason": reason, "size": size, "head": head[label] if D else head}


def stage_select(sk: Sketches, edges: np.ndarray, params: DedupParams, part: Path) -> dict[str, Any]:
    res = select(sk.D, edges, sk.doc_flags, sk.doc_chars, sk.doc_rank, params)
    for k, v in res.items():
        _save(part / f"{k}.npy", v)
    return {"kept": int(res["keep"].sum())}


# -- stage 5: write -------------------------------------------------------------
def cluster_histogram(sizes: np.ndarray) -> dict[str, int]:
    """``{cluster size: number of clusters}`` (clusters of decontaminated documents excluded)."""
    vals, counts = np.unique(sizes, return_counts=True)
    return {str(int(v)): int(c) for v, c in zip(vals, counts)}


def plot_histogram(hist: dict[str, int], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [int(k) for k in hist]
    ys = [hist[k] for k in hist]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(xs, ys, width=0.8, color="#3b6ea8")
    ax.set_yscale("log")
    ax.set_xlabel("cluster size (documents)")
    ax.set_ylabel("clusters (log)")
    ax.set_title(title)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def write_outputs(source: Source, out: str, ids: Any, sel: dict[str, np.ndarray]) -> Path:
    """Kept records to ``out`` and the cluster file next to it; returns the cluster file path."""
    import orjson

    _, clusters_path = output_paths(source, out)
    label, keep, reason, size, head = sel["label"], sel["keep"], sel["reason"], sel["size"], sel["head"]

    def write_clusters(path: Path) -> None:
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        with open(tmp, "wb") as f:
            for d in range(len(ids)):
                r = int(reason[d])
                rec: dict[str, Any] = {"id": ids[d], "n": d}
                if r == REASON_DECONTAMINATED:
                    rec.update(cluster=None, size=1, kept=False, reason="decontaminated")
                else:
                    rec.update(cluster=ids[int(label[d])], size=int(size[d]), kept=bool(keep[d]), reason=REASONS[r])
                    if r == REASON_DUPLICATE:
                        rec["duplicate_of"] = ids[int(head[d])]
                f.write(orjson.dumps(rec) + b"\n")
        os.replace(tmp, path)

    if source.is_dir:
        write_filtered(source, out, keep, extra={CLUSTERS_NAME: write_clusters})
    else:
        write_filtered(source, out, keep)
        write_clusters(clusters_path)
    return clusters_path


# -- driver -------------------------------------------------------------------
@dataclass
class DedupResult:
    report: dict[str, Any]
    keep: np.ndarray
    label: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)


def build_report(source: Source, out: str, params: DedupParams, engine: str, sk_stats: dict[str, Any],
                 ver: dict[str, Any], sel: dict[str, np.ndarray], doc_tbytes: np.ndarray, doc_bytes: np.ndarray,
                 timings: dict[str, float], resumed: list[str], extra: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
    keep, reason, label = sel["keep"], sel["reason"], sel["label"]
    D = int(keep.shape[0])
    clustered = reason != REASON_DECONTAMINATED
    roots = np.unique(label[clustered])
    sizes = np.bincount(label[clustered], minlength=D)[roots] if D else np.zeros(0, np.int64)
    dup = reason == REASON_DUPLICATE
    dec = reason == REASON_DECONTAMINATED
    total = sum(timings.values())
    rep = {
        "input": str(source.path), "output": str(out), "engine": engine,
        "params": {**asdict(params), "bands": params.bands, "rows": params.rows},
        "docs_in": D, "docs_out": int(keep.sum()), "docs_empty": int(sk_stats.get("empty", 0)),
        "duplicates_removed": int(dup.sum()), "decontaminated": int(dec.sum()),
        "bytes_in": int(doc_bytes.sum()), "bytes_out": int(doc_bytes[keep].sum()),
        "bytes_removed": int(doc_bytes[~keep].sum()),
        "bytes_removed_duplicates": int(doc_bytes[dup].sum()),
        "bytes_removed_decontaminated": int(doc_bytes[dec].sum()),
        "text_bytes_in": int(doc_tbytes.sum()), "text_bytes_removed": int(doc_tbytes[~keep].sum()),
        "clusters": int(roots.shape[0]), "duplicate_clusters": int(np.count_nonzero(sizes >= 2)),
        "largest_cluster": int(sizes.max()) if sizes.shape[0] else 0,
        "clusters_by_size": cluster_histogram(sizes),
        "units": int(sk_stats.get("units", 0)), "shingles": int(sk_stats.get("shingles", 0)),
        "candidates": int(ver.get("candidates", 0)), "verified": int(ver.get("verified", 0)),
        "accepted": int(ver.get("accepted", 0)), "rejected": int(ver.get("rejected", 0)),
        "skipped_connected": int(ver.get("skipped_connected", 0)),
        "stage_seconds": {k: round(v, 3) for k, v in timings.items()}, "total_seconds": round(total, 3),
        "resumed_stages": resumed,
        "docs_per_second": round(D / total, 1) if total > 0 else None,
        "mb_per_second": round(int(doc_bytes.sum()) / 1e6 / total, 2) if total > 0 else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "peak_child_rss_mb": round(peak_child_rss_mb(), 1),
    }
    if sk_stats.get("against_seconds"):
        rep["against_seconds"] = round(sk_stats["against_seconds"], 3)
    if extra:
        rep.update(extra)
    return rep


def finish(source: Source, out: str, params: DedupParams, engine: str, ids: Any, sel: dict[str, np.ndarray],
           sk_stats: dict[str, Any], ver: dict[str, Any], doc_tbytes: np.ndarray, doc_bytes: np.ndarray,
           timings: dict[str, float], resumed: list[str], report_path: str | None,
           extra: dict[str, Any] | None = None) -> DedupResult:
    t = time.perf_counter()
    clusters_path = write_outputs(source, out, ids, sel)
    timings["write"] = time.perf_counter() - t
    rep = build_report(source, out, params, engine, sk_stats, ver, sel, doc_tbytes, doc_bytes, timings, resumed,
                       extra)
    rep["clusters_file"] = str(clusters_path)
    if report_path:
        rp = Path(report_path)
        png = rp.with_name(rp.stem + ".clusters.png")
        plot_histogram(rep["clusters_by_size"], png,
                       f"{rep['docs_in']} docs, {rep['duplicate_clusters']} duplicate clusters (T={params.threshold})")
        rep["histogram_png"] = str(png)
        _atomic_write(rp, json.dumps(rep, indent=2).encode() + b"\n")
    return DedupResult(rep, sel["keep"], sel["label"], timings)


def default_work_dir(out: str) -> str:
    return str(Path(out)) + ".work"


def dedup(input_path: str, out: str, params: DedupParams, *, report_path: str | None = None,
          work_dir: str | None = None, memory_mb: float = 1024, workers: int | None = None,
          log: Callable[[str], None] | None = None) -> DedupResult:
    """Run the local engine end to end (resuming finished stages from ``work_dir``).

    ``workers``: sketch processes (``0`` = one per core when the input is big
    enough; default 1).  Workers are *spawned*, so a script that asks for
    them must guard its entry point with ``if __name__ == "__main__":``.
    """
    log = log or (lambda s: None)
    source = Source(input_path)
    check_output(source, out)
    wd = WorkDir(work_dir or default_work_dir(out))
    timings: dict[str, float] = {}
    resumed: list[str] = []
    key = _digest({"format": WORK_FORMAT, "input": source.fingerprint(),
                   "featurizers": Router(views=set(params.views)).versions(),
                   **params.sketch_key()})
    stats: dict[str, dict[str, Any]] = {}
    _atomic_write(wd.root / "manifest.json", json.dumps(
        {"engine": "local", "input": str(source.path), "fingerprint": source.fingerprint(),
         "params": asdict(params), "work_format": WORK_FORMAT}, indent=1, default=str).encode())

    def run(stage: str, sub: dict[str, Any], fn: Callable[[Path], dict[str, Any]]) -> Path:
        nonlocal key
        key = _digest({"prev": key, **sub})
        info = wd.done(stage, key)
        if info is not None:
            resumed.append(stage)
            timings[stage] = float(info.get("seconds", 0.0))
            stats[stage] = info
            log(f"{stage}: done in an earlier run, skipped")
            return wd.path(stage)
        part = wd.begin(stage, key)
        t = time.perf_counter()
        st = fn(part)
        st["seconds"] = time.perf_counter() - t
        st["peak_rss_mb"] = round(peak_rss_mb(), 1)  # high-water mark so far: the stage that raised it
        timings[stage] = st["seconds"]
        wd.commit(stage, key, st)
        stats[stage] = st
        return wd.path(stage)

    if workers is None:
        workers = 1
    elif workers == 0:
        # auto: one process, whose numba kernels use every core.  Worker processes pay off only
        # where Python-level featurizing dominates (code in languages other than Python, whose
        # lexer is a regex loop: ~6 MB/s); on the benchmark corpus (Python and prose) one process
        # was faster with and without the code view (docs/dedup.md), so they are opt-in.
        workers = 1
    if params.against:
        from dedupblock import Blocker

        Blocker(params.against)  # a bad index is a one-line error before any work
    sdir = run("sketch", {}, lambda p: stage_sketch(source, params, p, workers))
    sk = Sketches(sdir, params.num_perm)
    bdir = run("bands", params.bands_key(), lambda p: stage_bands(sk, params, p, int(memory_mb * (1 << 20))))
    vdir = run("verify", params.verify_key(), lambda p: stage_verify(sk, params, bdir, p))
    edges = np.load(vdir / "edges.npy")
    seldir = run("select", params.select_key(), lambda p: stage_select(sk, edges, params, p))
    sel = {k: np.load(seldir / f"{k}.npy") for k in ("label", "keep", "reason", "size", "head")}
    timings["against"] = float(stats["sketch"].get("against_seconds", 0.0))
    timings["sketch"] -= timings["against"]
    if not params.against:
        timings.pop("against")
    extra = {"stage_peak_rss_mb": {k: v.get("peak_rss_mb") for k, v in stats.items()},
             "bucket_bits": stats["bands"].get("bucket_bits"), "memory_budget_mb": memory_mb, "sketch_workers": workers,
             "work_dir": str(wd.root)}
    return finish(source, out, params, "local", sk.ids(), sel, stats["sketch"], stats["verify"], sk.doc_tbytes,
                  sk.doc_bytes, timings, resumed, report_path, extra)


__all__ = ["DedupParams", "DedupResult", "dedup", "select", "verify_pairs", "group_pairs", "group_pairs_ab",
           "jaccard_pairs", "BatchSketcher", "SketchBatch",
           "unique_sorted_batch", "band_column", "accept", "WorkDir", "Sketches", "sketch_batch"]
