"""The index on disk: one LMDB environment per index directory.

Keys (all in the main database):

==========================  ==================================================
``meta/params``             :class:`IndexParams` as JSON (checked on open)
``meta/state``              JSON: ``complete``, document count, segments, views
``doc/<n>``                 JSON metadata of document number ``n`` (id, source,
                            license, lang, extra fields, length, views)
``id/<doc id>``             document number of an id (4 bytes, big endian)
``view/<n>/<v>``            verification data of document ``n`` under view ``v``:
                            sorted shingle hashes, their positions, token spans
``seg/<s>/keys|docs|dirs``  LSH postings segment ``s`` (:mod:`postings`)
``tomb/<n>``                document ``n`` was removed (never matched again)
``common/<v>``              sorted shingle hashes of view ``v`` found in at least
                            ``common_df`` documents (boilerplate, not evidence)
==========================  ==================================================

Readers map the file and hand numba zero-copy views of the arrays (LMDB
``buffers=True``), so every process that opens the index shares one copy of
it in the page cache.  A reader sees one snapshot: the read transaction it
opened, until :meth:`IndexReader.refresh`.

A build writes into a temporary directory next to the target and renames it
into place after the final commit, so an interrupted build never leaves
something that opens as a complete index.
"""

from __future__ import annotations

import errno
import fnmatch
import json
import os
import shutil
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import lmdb
import numpy as np

from dedupblock.errors import BadIndexError, InputError, StorageError
from dedupblock.params import IndexParams
from dedupblock.postings import Segment
from dedupblock.sketch import VIEWS

DATA_FILE = "data.mdb"
DEFAULT_MAP_SIZE = 1 << 40  # address space only; the file grows as needed
_HEADER = struct.Struct("<QQQ")  # shingles, tokens, has raw token hashes



def _docno(n: int) -> bytes:
    return struct.pack(">I", n)


@dataclass(frozen=True)
class ViewData:
    """Verification data of one document under one view."""

    sorted_hashes: np.ndarray  # uint64[m]
    positions: np.ndarray  # uint32[m]: shingle index of sorted_hashes[i]
    starts: np.ndarray  # int32[n]: token char starts
    ends: np.ndarray  # int32[n]
    raw: np.ndarray | None = None  # uint64[n]: raw-spelling hashes (code view)

    @property
    def nbytes(self) -> int:
        return int(self.sorted_hashes.nbytes + self.positions.nbytes + self.starts.nbytes + self.ends.nbytes
                   + (0 if self.raw is None else self.raw.nbytes))

    def encode(self) -> bytes:
        m, n = self.sorted_hashes.shape[0], self.starts.shape[0]
        parts = [
            _HEADER.pack(m, n, self.raw is not None),
            self.sorted_hashes.astype("<u8", copy=False).tobytes(),
        ]
        if self.raw is not None:  # 8-byte arrays first keeps them aligned
            parts.append(self.raw.astype("<u8", copy=False).tobytes())
        parts += [
            self.positions.astype("<u4", copy=False).tobytes(),
            self.starts.astype("<i4", copy=False).tobytes(),
            self.ends.astype("<i4", copy=False).tobytes(),
        ]
        return b"".join(parts)

    @staticmethod
    def decode(buf: memoryview | bytes) -> "ViewData":
        m, n, has_raw = _HEADER.unpack_from(buf, 0)
        off = _HEADER.size
        data = np.frombuffer(buf, dtype=np.uint8)
        if data.ctypes.data % 8:  # LMDB aligns large values only; numba wants aligned arrays
            data = data.copy()
        sh = data[off:off + 8 * m].view(np.uint64)
        off += 8 * m
        raw = None
        if has_raw:
            raw = data[off:off + 8 * n].view(np.uint64)
            off += 8 * n
        pos = data[off:off + 4 * m].view(np.uint32)
        off += 4 * m
        starts = data[off:off + 4 * n].view(np.int32)
        off += 4 * n
        ends = data[off:off + 4 * n].view(np.int32)
        return ViewData(sh, pos, starts, ends, raw)


def _storage_error(exc: BaseException, path: Path) -> StorageError:
    if isinstance(exc, lmdb.MapFullError):
        return StorageError(f"index map is full at {path}: raise --map-size")
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC or "No space left" in str(exc) or (
            "Input/output error" in str(exc) and shutil.disk_usage(path.parent).free < MIN_FREE_BYTES):
        return StorageError(f"disk full while writing {path}; nothing was published, free space and rerun")
    return StorageError(f"cannot write index {path}: {exc}")


#: a write needs at least this much free space to start (LMDB cannot even
#: initialise an environment on a full disk; it faults reading its meta pages)
MIN_FREE_BYTES = 1 << 20


def _require_space(path: Path) -> None:
    free = shutil.disk_usage(path).free
    if free < MIN_FREE_BYTES:
        raise StorageError(f"disk full: only {free} bytes free at {path}; free space and rerun")


def is_index(path: Path) -> bool:
    return (path / DATA_FILE).is_file()


class _Staging:
    """Turns documents into LMDB puts and postings, for a build or an ``add``."""

    def __init__(self, first_docno: int) -> None:
        self.next_docno = first_docno
        self.puts: list[tuple[bytes, bytes]] = []
        self.keys: list[np.ndarray] = []
        self.docs: list[np.ndarray] = []
        self.n_docs = self.n_windows = self.n_tokens = 0
        self.views: set[str] = set()

    def stage(self, meta: dict[str, Any], views: dict[str, tuple[ViewData, np.ndarray]]) -> int:
        n = self.next_docno
        self.next_docno += 1
        self.n_docs += 1
        windows = tokens = 0
        for view, (data, keys) in views.items():
            self.views.add(view)
            self.puts.append((b"view/" + _docno(n) + bytes([VIEWS[view]]), data.encode()))
            if keys.size:
                self.keys.append(keys.ravel())
                self.docs.append(np.full(keys.size, n, dtype=np.uint32))
                windows += keys.shape[0]
            if view == "text":
                tokens = int(data.starts.shape[0])
        self.n_windows += windows
        self.n_tokens += tokens
        meta = dict(meta, views=sorted(views), windows=windows, tokens=tokens)
        self.puts.append((b"doc/" + _docno(n), json.dumps(meta, ensure_ascii=False).encode()))
        self.puts.append((b"id/" + meta["id"].encode(), _docno(n)))
        return n

    def segment(self) -> Segment:
        keys = np.concatenate(self.keys) if self.keys else np.zeros(0, np.uint64)
        docs = np.concatenate(self.docs) if self.docs else np.zeros(0, np.uint32)
        self.keys.clear()
        self.docs.clear()
        return Segment.build(keys, docs)


def _scan(txn: lmdb.Transaction, prefix: bytes) -> Iterator[tuple[int, bytes]]:
    """``(document number, value)`` of every ``prefix + docno`` key, in order."""
    with txn.cursor() as cur:
        if not cur.set_range(prefix):
            return
        for k, v in cur:
            k = bytes(k)
            if not k.startswith(prefix):
                return
            yield struct.unpack(">I", k[len(prefix):len(prefix) + 4])[0], v


def _put_segment(txn: lmdb.Transaction, s: int, seg: Segment) -> None:
    txn.put(f"seg/{s}/keys".encode(), seg.keys.tobytes())
    txn.put(f"seg/{s}/docs".encode(), seg.docs.tobytes())
    txn.put(f"seg/{s}/dirs".encode(), seg.dirs.tobytes())


def _delete_segment(txn: lmdb.Transaction, s: int) -> None:
    for name in ("keys", "docs", "dirs"):
        txn.delete(f"seg/{s}/{name}".encode())


def _building_dirs(path: Path) -> list[Path]:
    return list(path.parent.glob(f".{path.name}.building-*"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class IndexWriter:
    """Builds a new index in a temporary directory; :meth:`commit` publishes it.

    Documents are written as they arrive; band keys are kept in memory (12
    bytes per key) and sorted into one postings segment at the end.  The
    temporary directory (``.NAME.building-PID``) never opens as an index; one
    left by a killed build is removed by the next build of the same target.
    """

    def __init__(self, path: str | os.PathLike, params: IndexParams, *, overwrite: bool = False,
                 map_size: int = DEFAULT_MAP_SIZE) -> None:
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise BadIndexError(f"{self.path} already exists; pass --force to replace it")
        self.params = params
        for stale in _building_dirs(self.path):
            pid = stale.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(stale, ignore_errors=True)
        self.tmp = self.path.parent / f".{self.path.name}.building-{os.getpid()}"
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _require_space(self.path.parent)
            self.tmp.mkdir()
            self.env = lmdb.open(str(self.tmp), map_size=map_size, subdir=True, max_dbs=0,
                                 metasync=False, sync=False, lock=True)
        except (OSError, lmdb.Error) as exc:
            raise _storage_error(exc, self.path) from None
        self._staging = _Staging(0)
        self._ids: set[str] = set()

    def has_id(self, doc_id: str) -> bool:
        return doc_id in self._ids

    def add(self, meta: dict[str, Any], views: dict[str, tuple[ViewData, np.ndarray]]) -> int:
        """Add one document: metadata and, per view, its data and band keys.

        Returns its document number.  Ids must be unique.
        """
        if meta["id"] in self._ids:
            raise ValueError(f"duplicate id {meta['id']!r}")
        self._ids.add(meta["id"])
        n = self._staging.stage(meta, views)
        if len(self._staging.puts) >= 4096:
            self.flush()
        return n

    def flush(self) -> None:
        if not self._staging.puts:
            return
        try:
            with self.env.begin(write=True) as txn:
                for k, v in self._staging.puts:
                    txn.put(k, v)
        except (OSError, lmdb.Error) as exc:
            err = _storage_error(exc, self.path)  # before abort() frees the space
            self.abort()
            raise err from None
        self._staging.puts.clear()

    def commit(self, common: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
        """Write postings, boilerplate shingles and state, sync, and rename the index into place."""
        self.flush()
        st = self._staging
        seg = st.segment()
        state = {
            "complete": True,
            "generation": 1,
            "docs": st.n_docs,
            "windows": st.n_windows,
            "tokens": st.n_tokens,
            "segments": [0],
            "next_segment": 1,
            "next_docno": st.next_docno,
            "views": sorted(st.views),
            "last_op": "build",
        }
        try:
            with self.env.begin(write=True) as txn:
                _put_segment(txn, 0, seg)
                for view, hashes in (common or {}).items():
                    txn.put(b"common/" + view.encode(), np.ascontiguousarray(hashes, dtype=np.uint64).tobytes())
                txn.put(b"meta/params", self.params.to_json())
                txn.put(b"meta/state", json.dumps(state).encode())
            self.env.sync(True)
            self.env.close()
            if self.path.exists():
                old = self.path.parent / f".{self.path.name}.old-{os.getpid()}"
                os.rename(self.path, old)
                os.rename(self.tmp, self.path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(self.tmp, self.path)
            _fsync_dir(self.path.parent)
        except (OSError, lmdb.Error) as exc:
            err = _storage_error(exc, self.path)  # before abort() frees the space
            self.abort()
            raise err from None
        return state

    def abort(self) -> None:
        """Drop the temporary directory; the target path is left untouched."""
        try:
            self.env.close()
        except lmdb.Error:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)


class IndexUpdater:
    """Changes an existing index in place: add, remove, compact.

    Each operation is one LMDB write transaction, committed with ``fsync``:
    when a method returns, its change is durable; if the process dies before,
    the index holds exactly what it held after the previous operation.  LMDB
    admits one writer at a time (other writers wait on its lock) and readers
    are never blocked: they keep the snapshot they opened (MVCC).
    """

    def __init__(self, path: str | os.PathLike, map_size: int = DEFAULT_MAP_SIZE) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise BadIndexError(f"index {self.path} does not exist; build one with 'build-index build'")
        if not is_index(self.path):
            raise BadIndexError(f"{self.path} is not a dedupblock index (no {DATA_FILE})")
        _require_space(self.path)
        self.env = _shared_env(self.path, write=True, map_size=map_size)
        with self.env.begin() as txn:
            raw_params, raw_state = txn.get(b"meta/params"), txn.get(b"meta/state")
        if raw_params is None or raw_state is None:
            _release_env(self.path)
            raise BadIndexError(f"{self.path} is not a complete dedupblock index (interrupted build?)")
        self.params = IndexParams.from_json(raw_params)
        self._closed = False

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            _release_env(self.path)

    def __enter__(self) -> "IndexUpdater":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _state(txn: lmdb.Transaction) -> dict[str, Any]:
        return json.loads(txn.get(b"meta/state"))

    def _commit_state(self, txn: lmdb.Transaction, state: dict[str, Any], op: str) -> None:
        state["generation"] = int(state.get("generation", 1)) + 1
        state["last_op"] = op
        txn.put(b"meta/state", json.dumps(state).encode())

    def _run(self, fn: Any) -> Any:
        try:
            with self.env.begin(write=True) as txn:
                result = fn(txn)
            self.env.sync(True)
            return result
        except (OSError, lmdb.Error) as exc:
            raise _storage_error(exc, self.path) from None

    def docno(self, doc_id: str) -> int | None:
        with self.env.begin() as txn:
            raw = txn.get(b"id/" + doc_id.encode())
        return None if raw is None else struct.unpack(">I", raw)[0]

    def add(self, docs: list[tuple[dict[str, Any], dict[str, tuple[ViewData, np.ndarray]]]], *,
            replace: bool = False) -> dict[str, Any]:
        """Add documents in one transaction (a new postings segment).

        Ids that exist are refused unless ``replace``, which removes the old
        document in the same transaction.
        """

        def op(txn: lmdb.Transaction) -> dict[str, Any]:
            state = self._state(txn)
            seen: set[str] = set()
            replaced: list[int] = []
            for meta, _ in docs:
                if meta["id"] in seen:
                    raise InputError(f"duplicate id {meta['id']!r} in the input")
                seen.add(meta["id"])
                old = txn.get(b"id/" + meta["id"].encode())
                if old is not None:
                    if not replace:
                        raise InputError(f"id {meta['id']!r} is already in the index; pass --replace to replace it")
                    replaced.append(struct.unpack(">I", old)[0])
            self._remove_in(txn, state, replaced)
            staging = _Staging(int(state["next_docno"]))
            for meta, views in docs:
                staging.stage(meta, views)
            for k, v in staging.puts:
                txn.put(k, v)
            s = int(state.get("next_segment", len(state["segments"])))
            _put_segment(txn, s, staging.segment())
            state["segments"].append(s)
            state["next_segment"] = s + 1
            state["next_docno"] = staging.next_docno
            state["docs"] += staging.n_docs
            state["windows"] += staging.n_windows
            state["tokens"] += staging.n_tokens
            state["views"] = sorted(set(state.get("views", [])) | staging.views)
            self._commit_state(txn, state, "add")
            return {"added": staging.n_docs, "replaced": len(replaced), **state}

        return self._run(op)

    def _remove_in(self, txn: lmdb.Transaction, state: dict[str, Any], docnos: list[int]) -> int:
        removed = 0
        for n in docnos:
            raw = txn.get(b"doc/" + _docno(n))
            if raw is None:
                continue
            meta = json.loads(raw)
            txn.delete(b"id/" + meta["id"].encode())
            txn.delete(b"doc/" + _docno(n))
            for v in VIEWS.values():
                txn.delete(b"view/" + _docno(n) + bytes([v]))
            txn.put(b"tomb/" + _docno(n), b"")
            state["docs"] -= 1
            state["windows"] -= int(meta.get("windows", 0))
            state["tokens"] -= int(meta.get("tokens", 0))
            removed += 1
        return removed

    def remove(self, *, ids: list[str] | None = None, source_glob: str | None = None) -> dict[str, Any]:
        """Remove documents by id or by source pattern (``fnmatch``), in one transaction.

        A removed document is never matched again: its postings stay until
        :meth:`compact`, but readers drop tombstoned documents from candidates.
        """

        def op(txn: lmdb.Transaction) -> dict[str, Any]:
            state = self._state(txn)
            docnos: list[int] = []
            missing = 0
            for doc_id in ids or []:
                raw = txn.get(b"id/" + doc_id.encode())
                if raw is None:
                    missing += 1
                else:
                    docnos.append(struct.unpack(">I", raw)[0])
            if source_glob is not None:
                for n, v in _scan(txn, b"doc/"):
                    src = json.loads(v).get("source")
                    if isinstance(src, str) and fnmatch.fnmatchcase(src, source_glob):
                        docnos.append(n)
            removed = self._remove_in(txn, state, sorted(set(docnos)))
            self._commit_state(txn, state, "remove")
            return {"removed": removed, "not_found": missing, **state}

        return self._run(op)

    def compact(self) -> dict[str, Any]:
        """Merge all postings segments into one without removed documents."""

        def op(txn: lmdb.Transaction) -> dict[str, Any]:
            state = self._state(txn)
            tomb = [n for n, _ in _scan(txn, b"tomb/")]
            keys, docs = [], []
            for s in state["segments"]:
                k = np.frombuffer(txn.get(f"seg/{s}/keys".encode()), dtype=np.uint64)
                d = np.frombuffer(txn.get(f"seg/{s}/docs".encode()), dtype=np.uint32)
                if tomb:
                    alive = ~np.isin(d, np.asarray(tomb, dtype=np.uint32))
                    k, d = k[alive], d[alive]
                keys.append(k.copy())
                docs.append(d.copy())
            merged = Segment.build(np.concatenate(keys) if keys else np.zeros(0, np.uint64),
                                   np.concatenate(docs) if docs else np.zeros(0, np.uint32))
            for s in state["segments"]:
                _delete_segment(txn, s)
            s_new = int(state.get("next_segment", len(state["segments"])))
            _put_segment(txn, s_new, merged)
            for n in tomb:
                txn.delete(b"tomb/" + _docno(n))
            before = len(state["segments"])
            state["segments"] = [s_new]
            state["next_segment"] = s_new + 1
            self._commit_state(txn, state, "compact")
            return {"segments_merged": before, "tombstones_dropped": len(tomb), **state}

        return self._run(op)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_ENVS: dict[str, list[Any]] = {}  # realpath -> [environment, open readers]
_ENVS_LOCK = threading.Lock()


def _shared_env(path: Path, write: bool = False, map_size: int = DEFAULT_MAP_SIZE) -> lmdb.Environment:
    """One environment per index per process (LMDB allows no more), shared by readers and the writer.

    It is opened read-write when the directory allows it, so that a process
    may read and update the same index; readers only ever begin read
    transactions on it.
    """
    key = os.path.realpath(path)
    with _ENVS_LOCK:
        entry = _ENVS.get(key)
        if entry is None:
            env = None
            if os.access(key, os.W_OK) and os.access(os.path.join(key, DATA_FILE), os.W_OK):
                try:
                    env = lmdb.open(key, lock=True, subdir=True, max_readers=1024, map_size=map_size)
                except lmdb.Error:
                    env = None
            if env is None:
                if write:
                    raise StorageError(f"index {path} is read-only")
                try:
                    env = lmdb.open(key, readonly=True, lock=True, subdir=True, max_readers=1024,
                                    map_size=map_size)
                except lmdb.Error:
                    try:  # a read-only directory cannot hold the lock file
                        env = lmdb.open(key, readonly=True, lock=False, subdir=True, map_size=map_size)
                    except lmdb.Error as exc:
                        raise BadIndexError(f"cannot open index {path}: {exc}") from None
            entry = _ENVS[key] = [env, 0]
        elif write and entry[0].flags().get("readonly"):
            raise StorageError(f"index {path} is open read-only in this process")
        entry[1] += 1
        return entry[0]


def _release_env(path: Path) -> None:
    key = os.path.realpath(path)
    with _ENVS_LOCK:
        entry = _ENVS.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] <= 0:
            entry[0].close()
            del _ENVS[key]


class IndexReader:
    """A read-only snapshot of an index, safe to open from many processes."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise BadIndexError(f"index {self.path} does not exist; build one with 'build-index build'")
        if not self.path.is_dir() or not is_index(self.path):
            raise BadIndexError(f"{self.path} is not a dedupblock index (no {DATA_FILE})")
        self.env = _shared_env(self.path)
        self._txn: lmdb.Transaction | None = None
        try:
            self._open_snapshot()
        except BaseException:
            _release_env(self.path)
            raise

    def _open_snapshot(self) -> None:
        self._load(self.env.begin(buffers=True))

    def refresh(self) -> bool:
        """Move to the latest committed snapshot if a writer changed the index.

        Arrays handed out from the previous snapshot are invalid afterwards:
        call it between checks, never while another thread uses this reader.
        """
        txn = self.env.begin(buffers=True)
        raw = txn.get(b"meta/state")
        if raw is None or json.loads(bytes(raw)).get("generation") == self.state.get("generation"):
            txn.abort()
            return False
        old = self._txn
        self._load(txn)
        if old is not None:
            old.abort()
        return True

    def _load(self, txn: lmdb.Transaction) -> None:
        raw_params = txn.get(b"meta/params")
        raw_state = txn.get(b"meta/state")
        if raw_params is None or raw_state is None:
            txn.abort()
            raise BadIndexError(f"{self.path} is not a complete dedupblock index (interrupted build?)")
        self.params = IndexParams.from_json(bytes(raw_params))
        self.state = json.loads(bytes(raw_state))
        if not self.state.get("complete"):
            txn.abort()
            raise BadIndexError(f"{self.path} is incomplete (interrupted build?); rebuild it")
        self.segments: list[Segment] = []
        for s in self.state["segments"]:
            arrays = []
            for name, dtype in (("keys", np.uint64), ("docs", np.uint32), ("dirs", np.int64)):
                buf = txn.get(f"seg/{s}/{name}".encode())
                if buf is None:
                    txn.abort()
                    raise BadIndexError(f"{self.path}: postings segment {s} is missing")
                arr = np.frombuffer(buf, dtype=dtype)
                if arr.ctypes.data % 8:
                    arr = arr.copy()
                arrays.append(arr)
            self.segments.append(Segment(*arrays))
        self.tombstones = frozenset(n for n, _ in _scan(txn, b"tomb/"))
        self.common: dict[str, np.ndarray] = {}
        for view in VIEWS:
            buf = txn.get(b"common/" + view.encode())
            arr = np.zeros(0, np.uint64) if buf is None else np.frombuffer(buf, dtype=np.uint64)
            self.common[view] = arr.copy() if arr.ctypes.data % 8 else arr
        self._txn = txn
        self._meta_cache: dict[int, dict[str, Any]] = {}

    @property
    def n_docs(self) -> int:
        return int(self.state["docs"])

    def doc_meta(self, n: int) -> dict[str, Any]:
        meta = self._meta_cache.get(n)
        if meta is None:
            raw = self._txn.get(b"doc/" + _docno(n))
            if raw is None:
                raise BadIndexError(f"{self.path}: document {n} is missing")
            meta = json.loads(bytes(raw))
            self._meta_cache[n] = meta
        return meta

    def docno(self, doc_id: str) -> int | None:
        raw = self._txn.get(b"id/" + doc_id.encode())
        return None if raw is None else struct.unpack(">I", bytes(raw))[0]

    def view(self, n: int, view: str) -> ViewData | None:
        raw = self._txn.get(b"view/" + _docno(n) + bytes([VIEWS[view]]))
        return None if raw is None else ViewData.decode(raw)

    def iter_meta(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for n, v in _scan(self._txn, b"doc/"):
            yield n, json.loads(bytes(v))

    def sizes(self) -> dict[str, int]:
        st = os.stat(self.path / DATA_FILE)
        return {
            "file_bytes": int(st.st_blocks * 512),
            "postings_bytes": sum(s.nbytes for s in self.segments),
            "keys": sum(int(s.keys.shape[0]) for s in self.segments),
        }

    def close(self) -> None:
        if self._txn is not None:
            self._txn.abort()
            self._txn = None
            _release_env(self.path)

    def __enter__(self) -> "IndexReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
