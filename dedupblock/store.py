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

from dedupblock.errors import BadIndexError, StorageError
from dedupblock.params import IndexParams
from dedupblock.postings import Segment

DATA_FILE = "data.mdb"
DEFAULT_MAP_SIZE = 1 << 40  # address space only; the file grows as needed
_HEADER = struct.Struct("<QQ")  # shingles, tokens

VIEWS: dict[str, int] = {"text": 0, "code": 1}


def _docno(n: int) -> bytes:
    return struct.pack(">I", n)


@dataclass(frozen=True)
class ViewData:
    """Verification data of one document under one view."""

    sorted_hashes: np.ndarray  # uint64[m]
    positions: np.ndarray  # uint32[m]: shingle index of sorted_hashes[i]
    starts: np.ndarray  # int32[n]: token char starts
    ends: np.ndarray  # int32[n]

    @property
    def nbytes(self) -> int:
        return int(self.sorted_hashes.nbytes + self.positions.nbytes + self.starts.nbytes + self.ends.nbytes)

    def encode(self) -> bytes:
        m, n = self.sorted_hashes.shape[0], self.starts.shape[0]
        return b"".join((
            _HEADER.pack(m, n),
            self.sorted_hashes.astype("<u8", copy=False).tobytes(),
            self.positions.astype("<u4", copy=False).tobytes(),
            self.starts.astype("<i4", copy=False).tobytes(),
            self.ends.astype("<i4", copy=False).tobytes(),
        ))

    @staticmethod
    def decode(buf: memoryview | bytes) -> "ViewData":
        m, n = _HEADER.unpack_from(buf, 0)
        off = _HEADER.size
        raw = np.frombuffer(buf, dtype=np.uint8)
        if raw.ctypes.data % 8:  # LMDB aligns large values only; numba wants aligned arrays
            raw = raw.copy()
        sh = raw[off:off + 8 * m].view(np.uint64)
        off += 8 * m
        pos = raw[off:off + 4 * m].view(np.uint32)
        off += 4 * m
        starts = raw[off:off + 4 * n].view(np.int32)
        off += 4 * n
        ends = raw[off:off + 4 * n].view(np.int32)
        return ViewData(sh, pos, starts, ends)


def _storage_error(exc: BaseException, path: Path) -> StorageError:
    if isinstance(exc, lmdb.MapFullError):
        return StorageError(f"index map is full at {path}: raise --map-size")
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC or "No space left" in str(exc):
        return StorageError(f"disk full while writing {path}; nothing was published, free space and rerun")
    return StorageError(f"cannot write index {path}: {exc}")


def is_index(path: Path) -> bool:
    return (path / DATA_FILE).is_file()


class IndexWriter:
    """Builds a new index in a temporary directory; :meth:`commit` publishes it.

    Documents are written as they arrive; band keys are kept in memory (12
    bytes per key) and sorted into one postings segment at the end.
    """

    def __init__(self, path: str | os.PathLike, params: IndexParams, *, overwrite: bool = False,
                 map_size: int = DEFAULT_MAP_SIZE) -> None:
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise BadIndexError(f"{self.path} already exists; pass --force to replace it")
        self.params = params
        self.tmp = self.path.parent / f".{self.path.name}.building-{os.getpid()}"
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.tmp.mkdir()
            self.env = lmdb.open(str(self.tmp), map_size=map_size, subdir=True, max_dbs=0,
                                 metasync=False, sync=False, lock=True)
        except (OSError, lmdb.Error) as exc:
            raise _storage_error(exc, self.path) from None
        self._keys: list[np.ndarray] = []
        self._docs: list[np.ndarray] = []
        self._pending: list[tuple[bytes, bytes]] = []
        self._ids: set[str] = set()
        self.n_docs = 0
        self.n_windows = 0
        self.n_tokens = 0
        self.views_used: set[str] = set()

    def has_id(self, doc_id: str) -> bool:
        return doc_id in self._ids

    def add(self, meta: dict[str, Any], views: dict[str, tuple[ViewData, np.ndarray]]) -> int:
        """Add one document: metadata and, per view, its data and band keys.

        Returns its document number.  Ids must be unique.
        """
        doc_id = meta["id"]
        if doc_id in self._ids:
            raise ValueError(f"duplicate id {doc_id!r}")
        self._ids.add(doc_id)
        n = self.n_docs
        self.n_docs += 1
        meta = dict(meta, views=sorted(views))
        self._pending.append((b"doc/" + _docno(n), json.dumps(meta, ensure_ascii=False).encode()))
        self._pending.append((b"id/" + doc_id.encode(), _docno(n)))
        for view, (data, keys) in views.items():
            self.views_used.add(view)
            self._pending.append((b"view/" + _docno(n) + bytes([VIEWS[view]]), data.encode()))
            if keys.size:
                self._keys.append(keys.ravel())
                self._docs.append(np.full(keys.size, n, dtype=np.uint32))
                self.n_windows += keys.shape[0]
            if view == "text":
                self.n_tokens += int(data.starts.shape[0])
        if len(self._pending) >= 4096:
            self.flush()
        return n

    def flush(self) -> None:
        if not self._pending:
            return
        try:
            with self.env.begin(write=True) as txn:
                for k, v in self._pending:
                    txn.put(k, v)
        except (OSError, lmdb.Error) as exc:
            self.abort()
            raise _storage_error(exc, self.path) from None
        self._pending.clear()

    def commit(self) -> dict[str, Any]:
        """Write postings and state, sync, and rename the index into place."""
        self.flush()
        keys = np.concatenate(self._keys) if self._keys else np.zeros(0, np.uint64)
        docs = np.concatenate(self._docs) if self._docs else np.zeros(0, np.uint32)
        self._keys.clear()
        self._docs.clear()
        seg = Segment.build(keys, docs)
        state = {
            "complete": True,
            "docs": self.n_docs,
            "windows": self.n_windows,
            "tokens": self.n_tokens,
            "segments": [0],
            "next_docno": self.n_docs,
            "views": sorted(self.views_used),
        }
        try:
            with self.env.begin(write=True) as txn:
                txn.put(b"seg/0/keys", seg.keys.tobytes())
                txn.put(b"seg/0/docs", seg.docs.tobytes())
                txn.put(b"seg/0/dirs", seg.dirs.tobytes())
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
            self.abort()
            raise _storage_error(exc, self.path) from None
        return state

    def abort(self) -> None:
        """Drop the temporary directory; the target path is left untouched."""
        try:
            self.env.close()
        except lmdb.Error:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_ENVS: dict[str, list[Any]] = {}  # realpath -> [environment, open readers]
_ENVS_LOCK = threading.Lock()


def _shared_env(path: Path) -> lmdb.Environment:
    """One read-only environment per index per process (LMDB allows no more)."""
    key = os.path.realpath(path)
    with _ENVS_LOCK:
        entry = _ENVS.get(key)
        if entry is None:
            try:
                env = lmdb.open(key, readonly=True, lock=True, subdir=True, max_readers=1024,
                                map_size=DEFAULT_MAP_SIZE)
            except lmdb.Error:
                try:  # a read-only directory cannot hold the lock file
                    env = lmdb.open(key, readonly=True, lock=False, subdir=True, map_size=DEFAULT_MAP_SIZE)
                except lmdb.Error as exc:
                    raise BadIndexError(f"cannot open index {path}: {exc}") from None
            entry = _ENVS[key] = [env, 0]
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
        txn = self.env.begin(buffers=True)
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
        tomb = set()
        with txn.cursor() as cur:
            if cur.set_range(b"tomb/"):
                for k, _ in cur:
                    k = bytes(k)
                    if not k.startswith(b"tomb/"):
                        break
                    tomb.add(struct.unpack(">I", k[5:9])[0])
        self.tombstones = frozenset(tomb)
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
        with self._txn.cursor() as cur:
            if cur.set_range(b"doc/"):
                for k, v in cur:
                    k = bytes(k)
                    if not k.startswith(b"doc/"):
                        break
                    yield struct.unpack(">I", k[4:8])[0], json.loads(bytes(v))

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
