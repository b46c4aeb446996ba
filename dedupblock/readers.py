"""Readers of JSONL records, strict about what they accept and precise when they refuse.

Every refusal is an :class:`~dedupblock.errors.InputError` that names the file
and line, so that a bad record in a million-line corpus is a one-line fix.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator

import orjson

from dedupblock.errors import InputError

#: Largest document accepted by default (characters of its text).
MAX_DOC_CHARS = 32 * 1024 * 1024


@dataclass(frozen=True)
class Record:
    line: int
    data: dict[str, Any]


def _open_binary(path: str | Path) -> tuple[IO[bytes], str]:
    if str(path) == "-":
        return sys.stdin.buffer, "<stdin>"
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p} is a directory, expected a JSONL file")
    try:
        return open(p, "rb"), str(p)
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror}") from None


def read_jsonl(path: str | Path | IO[bytes], *, text_field: str = "text", id_field: str | None = "id",
               max_chars: int = MAX_DOC_CHARS, name: str | None = None) -> Iterator[Record]:
    """Yield one :class:`Record` per non-blank line.

    Each line must be a JSON object (UTF-8) with a string ``text_field`` and,
    if ``id_field`` is given, a string or integer id (integers are turned into
    strings).  Violations raise :class:`InputError` with the line number.
    """
    if isinstance(path, (str, Path)):
        stream, label = _open_binary(path)
        close = stream is not sys.stdin.buffer
    else:
        stream, label, close = path, name or "<stream>", False
    label = name or label
    try:
        for lineno, raw in enumerate(stream, 1):
            if lineno == 1 and b"\x00" in raw[:8192]:
                raise InputError(f"{label} looks like a binary file (NUL bytes), not JSONL")
            if not raw.strip():
                continue
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"{label}:{lineno}: invalid UTF-8 at byte {exc.start} of the line") from None
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"{label}:{lineno}: malformed JSON: {exc.args[0] if exc.args else exc}") from None
            if not isinstance(data, dict):
                raise InputError(f"{label}:{lineno}: expected a JSON object, got {type(data).__name__}")
            if id_field is not None:
                if id_field not in data:
                    raise InputError(f"{label}:{lineno}: missing field {id_field!r}")
                rid = data[id_field]
                if isinstance(rid, bool) or not isinstance(rid, (str, int)):
                    raise InputError(f"{label}:{lineno}: field {id_field!r} must be a string or integer")
                data[id_field] = str(rid)
            if text_field not in data:
                raise InputError(f"{label}:{lineno}: missing field {text_field!r}")
            text = data[text_field]
            if not isinstance(text, str):
                raise InputError(f"{label}:{lineno}: field {text_field!r} must be a string")
            if "\x00" in text:
                raise InputError(f"{label}:{lineno}: field {text_field!r} contains NUL characters (binary data?)")
            if len(text) > max_chars:
                raise InputError(f"{label}:{lineno}: text has {len(text)} characters, over the limit of "
                                 f"{max_chars} (raise it with --max-doc-chars)")
            yield Record(lineno, data)
    except OSError as exc:
        raise InputError(f"{label}: read failed: {exc.strerror}") from None
    finally:
        if close:
            stream.close()


def text_stream(path: str | Path) -> str:
    """The whole content of a text file (or ``-`` for stdin) as str, strictly UTF-8."""
    if str(path) == "-":
        raw = sys.stdin.buffer.read()
        label = "<stdin>"
    else:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"{p}: no such file")
        raw = p.read_bytes()
        label = str(p)
    if b"\x00" in raw[:8192]:
        raise InputError(f"{label} looks like a binary file (NUL bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{label}: invalid UTF-8 at byte {exc.start}") from None


__all__ = ["Record", "read_jsonl", "text_stream", "MAX_DOC_CHARS"]


class SourceTree:
    """Records from a directory of files: one per file, the relative path as id and source.

    Files matching ``glob`` (``fnmatch`` on the relative path, default every
    file) are read recursively in sorted order; hidden directories such as
    ``.git`` are skipped.  Binary files (NUL bytes or invalid UTF-8) and
    empty files are skipped and counted, never fatal: a source tree always
    holds some.
    """

    def __init__(self, root: str | Path, glob: str | None = None, max_chars: int = MAX_DOC_CHARS) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(f"{self.root} is not a directory")
        self.glob = glob
        self.max_chars = max_chars
        self.skipped_binary = 0
        self.skipped_large = 0
        self.files = 0

    def __iter__(self) -> Iterator[Record]:
        import fnmatch

        from dedupblock.featurize.lang import lang_from_path

        paths = sorted(p for p in self.root.rglob("*") if p.is_file()
                       and not any(part.startswith(".") for part in p.relative_to(self.root).parts[:-1]))
        for n, p in enumerate(paths, 1):
            rel = p.relative_to(self.root).as_posix()
            if self.glob and not (fnmatch.fnmatch(rel, self.glob) or fnmatch.fnmatch(p.name, self.glob)):
                continue
            try:
                raw = p.read_bytes()
            except OSError as exc:
                raise InputError(f"{p}: cannot read: {exc.strerror}") from None
            if b"\x00" in raw[:8192]:
                self.skipped_binary += 1
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.skipped_binary += 1
                continue
            if len(text) > self.max_chars:
                self.skipped_large += 1
                continue
            self.files += 1
            yield Record(n, {"id": rel, "text": text, "lang": lang_from_path(rel) or "text", "source": rel})


def read_inputs(path: str | Path, glob: str | None = None, max_chars: int = MAX_DOC_CHARS
                ) -> Iterator[Record] | SourceTree:
    """A JSONL file (or ``-``) or a directory of source files."""
    if str(path) != "-" and Path(path).is_dir():
        return SourceTree(path, glob, max_chars)
    if glob:
        raise InputError("--glob applies to a directory input only")
    return read_jsonl(path, max_chars=max_chars)
