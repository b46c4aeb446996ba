"""Corpus inputs and outputs of offline jobs: one JSONL file, or a directory of shards.

A *source* is either a JSONL file or a directory of ``*.jsonl`` or
``*.parquet`` shards (one format per directory, read in name order).
Documents are numbered 0, 1, 2, ... in that order; every later stage refers
to documents by that number only.  Outputs mirror inputs: a filtered JSONL
file for a JSONL file, and a directory with the same shard names and format
for a directory.  JSONL records are copied byte for byte (the original line),
Parquet rows keep their schema.  Every output file is written next to its
target and renamed into place, and a directory output is assembled in a
temporary directory and renamed as a whole.

Errors are :class:`~dedupblock.errors.InputError` naming the file and line
(JSONL, via :func:`dedupblock.readers.read_jsonl`) or row (Parquet).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from dedupblock.errors import InputError
from dedupblock.readers import MAX_DOC_CHARS, read_jsonl

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
PARQUET_SUFFIXES = (".parquet", ".pq")
#: name of the cluster file inside a directory output
CLUSTERS_NAME = "_clusters.jsonl"


@dataclass(frozen=True)
class Shard:
    path: Path
    fmt: str  # "jsonl" | "parquet"

    @property
    def name(self) -> str:
        return self.path.name


def _fmt_of(p: Path) -> str | None:
    s = p.name.lower()
    if s.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if s.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return None


class _LineLengths:
    """Iterates a binary file by lines and remembers the length of the last one."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.last = 0

    def __iter__(self) -> "_LineLengths":
        return self

    def __next__(self) -> bytes:
        raw = self.f.readline()
        if not raw:
            raise StopIteration
        self.last = len(raw)
        return raw


class Source:
    """A JSONL file or a directory of JSONL / Parquet shards."""

    def __init__(self, path: str | os.PathLike) -> None:
        p = Path(path)
        if not p.exists():
            raise InputError(f"{p}: no such file or directory")
        self.path = p
        if p.is_dir():
            self.is_dir = True
            files = sorted(f for f in p.iterdir() if f.is_file() and not f.name.startswith((".", "_")))
            shards = [Shard(f, fmt) for f in files if (fmt := _fmt_of(f))]
            if not shards:
                raise InputError(f"{p}: no .jsonl or .parquet shards in this directory")
            fmts = {s.fmt for s in shards}
            if len(fmts) > 1:
                raise InputError(f"{p}: mixes JSONL and Parquet shards; use one format per directory")
            self.shards = shards
        else:
            self.is_dir = False
            fmt = _fmt_of(p) or "jsonl"
            self.shards = [Shard(p, fmt)]
        self.fmt = self.shards[0].fmt
        if self.fmt == "parquet":
            try:
                import pyarrow.parquet  # noqa: F401
            except ImportError:
                raise InputError("Parquet shards need pyarrow: pip install 'dedupblock[dedup]'") from None

    # -- identity -------------------------------------------------------------
    def fingerprint(self) -> list[dict[str, Any]]:
        """Name, size, mtime and a hash of the head and tail of every shard."""
        out = []
        for s in self.shards:
            st = s.path.stat()
            h = hashlib.blake2b(digest_size=12)
            with open(s.path, "rb") as f:
                h.update(f.read(1 << 16))
                if st.st_size > 1 << 17:
                    f.seek(st.st_size - (1 << 16))
                    h.update(f.read(1 << 16))
            out.append({"name": s.name, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sample": h.hexdigest()})
        return out

    def total_bytes(self) -> int:
        return sum(s.path.stat().st_size for s in self.shards)

    # -- reading --------------------------------------------------------------
    def records(self, *, text_field: str = "text", id_field: str = "id",
                max_chars: int = MAX_DOC_CHARS) -> Iterator[tuple[dict[str, Any], int, tuple[str, int]]]:
        """``(record, raw bytes, (file, line or row))`` of every document, in document order."""
        for s in self.shards:
            if s.fmt == "jsonl":
                yield from self._jsonl_records(s, text_field, id_field, max_chars)
            else:
                yield from self._parquet_records(s, text_field, id_field, max_chars)

    def _jsonl_records(self, s: Shard, text_field: str, id_field: str, max_chars: int
                       ) -> Iterator[tuple[dict[str, Any], int, tuple[str, int]]]:
        try:
            f = open(s.path, "rb")
        except OSError as exc:
            raise InputError(f"{s.path}: cannot read: {exc.strerror}") from None
        with f:
            lines = _LineLengths(f)
            label = str(s.path)
            for rec in read_jsonl(lines, text_field=text_field,  # type: ignore[arg-type]
                                  id_field=id_field, max_chars=max_chars, name=label):
                yield rec.data, lines.last, (label, rec.line)

    def _parquet_records(self, s: Shard, text_field: str, id_field: str, max_chars: int
                         ) -> Iterator[tuple[dict[str, Any], int, tuple[str, int]]]:
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(s.path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise InputError(f"{s.path}: not a readable Parquet file: {str(exc).splitlines()[0]}") from None
        names = pf.schema_arrow.names
        for need in (id_field, text_field):
            if need not in names:
                raise InputError(f"{s.path}: missing column {need!r} (columns: {', '.join(names)})")
        row = 0
        for batch in pf.iter_batches(batch_size=4096):
            for data in batch.to_pylist():
                row += 1
                yield _check_row(data, str(s.path), row, text_field, id_field, max_chars)

    def shard_sizes(self) -> list[int]:
        """Documents per shard (counting the same way as :meth:`records`)."""
        sizes = []
        for s in self.shards:
            if s.fmt == "jsonl":
                n = 0
                with open(s.path, "rb") as f:
                    for raw in f:
                        if raw.strip():
                            n += 1
                sizes.append(n)
            else:
                import pyarrow.parquet as pq

                sizes.append(pq.ParquetFile(s.path).metadata.num_rows)
        return sizes


    # -- splitting, for distributed readers ----------------------------------
    def plan(self, docs_per_chunk: int = 4096) -> tuple[list[dict[str, Any]], int]:
        """Chunks of at most ``docs_per_chunk`` documents that workers read on their own.

        Each chunk is ``{path, fmt, start, end, line0, base}``: JSONL byte range
        (at line starts) and the number of lines before it, or Parquet row
        groups ``start..end``; ``base`` is the number of its first document.
        Returns ``(chunks, total documents)``.
        """
        chunks: list[dict[str, Any]] = []
        base = 0
        for s in self.shards:
            if s.fmt == "jsonl":
                pos = line = start = line0 = n = 0
                with open(s.path, "rb") as f:
                    for raw in f:
                        if raw.strip():
                            if n == docs_per_chunk:
                                chunks.append({"path": str(s.path), "fmt": "jsonl", "start": start, "end": pos,
                                               "line0": line0, "base": base})
                                base += n
                                n, start, line0 = 0, pos, line
                            n += 1
                        pos += len(raw)
                        line += 1
                if n:
                    chunks.append({"path": str(s.path), "fmt": "jsonl", "start": start, "end": pos, "line0": line0,
                                   "base": base})
                    base += n
            else:
                import pyarrow.parquet as pq

                md = pq.ParquetFile(s.path).metadata
                for rg in range(md.num_row_groups):
                    rows = md.row_group(rg).num_rows
                    if rows:
                        chunks.append({"path": str(s.path), "fmt": "parquet", "start": rg, "end": rg + 1,
                                       "line0": 0, "base": base})
                        base += rows
        return chunks, base


class _Segment:
    """Lines of ``f`` from the current position up to byte ``end``, remembering the last length."""

    def __init__(self, f: Any, end: int) -> None:
        self.f, self.left, self.last = f, end - f.tell(), 0

    def __iter__(self) -> "_Segment":
        return self

    def __next__(self) -> bytes:
        if self.left <= 0:
            raise StopIteration
        raw = self.f.readline()
        if not raw:
            raise StopIteration
        self.left -= len(raw)
        self.last = len(raw)
        return raw


def read_chunk(chunk: dict[str, Any], *, text_field: str = "text", id_field: str = "id",
               max_chars: int = MAX_DOC_CHARS) -> Iterator[tuple[dict[str, Any], int, tuple[str, int]]]:
    """The records of one :meth:`Source.plan` chunk, validated like :meth:`Source.records`."""
    path = chunk["path"]
    if chunk["fmt"] == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        row = sum(pf.metadata.row_group(i).num_rows for i in range(chunk["start"]))
        tab = pf.read_row_groups(list(range(chunk["start"], chunk["end"])))
        for data in tab.to_pylist():
            row += 1
            yield _check_row(data, path, row, text_field, id_field, max_chars)
        return
    line0 = chunk["line0"]
    with open(path, "rb") as f:
        f.seek(chunk["start"])
        seg = _Segment(f, chunk["end"])
        try:
            for rec in read_jsonl(seg, text_field=text_field,  # type: ignore[arg-type]
                                  id_field=id_field, max_chars=max_chars, name=path):
                yield rec.data, seg.last, (path, rec.line + line0)
        except InputError as exc:  # line numbers are relative to the chunk
            msg = str(exc)
            head = f"{path}:"
            if msg.startswith(head):
                num, _, rest = msg[len(head):].partition(":")
                if num.isdigit():
                    raise InputError(f"{head}{int(num) + line0}:{rest}") from None
            raise


def _check_row(data: dict[str, Any], path: str, row: int, text_field: str, id_field: str, max_chars: int
               ) -> tuple[dict[str, Any], int, tuple[str, int]]:
    rid = data.get(id_field)
    if isinstance(rid, bool) or not isinstance(rid, (str, int)):
        raise InputError(f"{path}: row {row}: column {id_field!r} must be a string or integer")
    data[id_field] = str(rid)
    text = data.get(text_field)
    if not isinstance(text, str):
        raise InputError(f"{path}: row {row}: column {text_field!r} must be a string")
    if len(text) > max_chars:
        raise InputError(f"{path}: row {row}: text has {len(text)} characters, over the limit of {max_chars}")
    return data, len(text.encode("utf-8", "surrogatepass")), (path, row)


# -- writing ----------------------------------------------------------------
def _filter_jsonl(src: Path, dst: Path, keep: np.ndarray) -> int:
    n = 0
    with open(src, "rb") as f, open(dst, "wb") as out:
        for raw in f:
            if not raw.strip():
                continue
            if n >= keep.shape[0]:
                raise InputError(f"{src} changed while deduplicating (more documents than before); rerun")
            if keep[n]:
                out.write(raw if raw.endswith(b"\n") else raw + b"\n")
            n += 1
    return n


def _filter_parquet(src: Path, dst: Path, keep: np.ndarray) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(src)
    n = 0
    with pq.ParquetWriter(dst, pf.schema_arrow) as w:
        for batch in pf.iter_batches(batch_size=4096):
            m = keep[n:n + batch.num_rows]
            n += batch.num_rows
            if m.any():
                w.write_table(pa.Table.from_batches([batch]).filter(pa.array(m)))
    return n


def output_paths(source: Source, out: str | os.PathLike) -> tuple[Path, Path]:
    """``(records output, cluster file)`` for an input of this shape."""
    o = Path(out)
    if source.is_dir:
        return o, o / CLUSTERS_NAME
    return o, o.with_name(o.name + ".clusters.jsonl")


def check_output(source: Source, out: str | os.PathLike) -> None:
    """Refuse outputs that would clobber the input or something that is not ours."""
    o = Path(out).resolve()
    for s in source.shards:
        if s.path.resolve() == o or (source.is_dir and source.path.resolve() == o):
            raise InputError(f"{out}: output would overwrite the input")
    if source.is_dir:
        if o.exists() and (not o.is_dir() or (any(o.iterdir()) and not (o / CLUSTERS_NAME).exists())):
            raise InputError(f"{out} exists and is not the output of an earlier dedup; remove it or choose "
                             f"another --out")
    elif o.is_dir():
        raise InputError(f"{out} is a directory; a JSONL input gives a JSONL file (pass a file name)")


def write_filtered(source: Source, out: str | os.PathLike, keep: np.ndarray,
                   extra: dict[str, Any] | None = None) -> None:
    """Write the documents with ``keep[doc]`` to ``out`` in the input's shape.

    ``extra`` maps file names (inside a directory output) to writer callables
    ``f(path)`` so that e.g. the cluster file lands in the same atomic rename.
    """
    o = Path(out)
    if not source.is_dir:
        tmp = o.with_name(f".{o.name}.tmp-{os.getpid()}")
        try:
            n = (_filter_jsonl if source.fmt == "jsonl" else _filter_parquet)(source.shards[0].path, tmp, keep)
            if n != keep.shape[0]:
                raise InputError(f"{source.path} changed while deduplicating ({n} documents, expected "
                                 f"{keep.shape[0]}); rerun")
            os.replace(tmp, o)
        finally:
            tmp.unlink(missing_ok=True)
        return
    tmp_dir = o.with_name(f".{o.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir(parents=True)
    try:
        start = 0
        for s in source.shards:
            fn = _filter_jsonl if s.fmt == "jsonl" else _filter_parquet
            n = fn(s.path, tmp_dir / s.name, keep[start:])
            start += n
        if start != keep.shape[0]:
            raise InputError(f"{source.path} changed while deduplicating ({start} documents, expected "
                             f"{keep.shape[0]}); rerun")
        for name, writer in (extra or {}).items():
            writer(tmp_dir / name)
        old = None
        if o.exists():
            old = o.with_name(f".{o.name}.old-{os.getpid()}")
            os.replace(o, old)
        os.replace(tmp_dir, o)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


__all__ = ["Source", "Shard", "read_chunk", "output_paths", "check_output", "write_filtered", "CLUSTERS_NAME"]
