"""``build-index build``: protected corpus -> index directory.

Records flow in batches: featurize each document under each view that
applies (text always, code for source in a supported language), sketch the
batch in parallel (numba), store verification data per document, and sort all
band keys into the postings at the end.  The index appears at ``out`` only
once complete (see :class:`dedupblock.store.IndexWriter`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import numpy as np

from dedupblock.errors import InputError
from dedupblock.featurize.route import Router
from dedupblock.featurize.tokens import Tokens
from dedupblock.params import IndexParams
from dedupblock.readers import Record
from dedupblock.sketch import VIEWS, Sketcher
from dedupblock.store import IndexWriter, ViewData
from dedupblock.verify import sorted_shingles

BATCH_DOCS = 256


@dataclass
class BuildSummary:
    docs: int = 0
    skipped_empty: int = 0
    chars: int = 0
    windows: int = 0
    tokens: int = 0
    by_view: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"docs": self.docs, "skipped_empty": self.skipped_empty, "chars": self.chars,
                "windows": self.windows, "tokens": self.tokens, "docs_by_view": self.by_view,
                "seconds": round(self.seconds, 3), **self.extra}


def _batches(items: Iterable[Any], n: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for it in items:
        batch.append(it)
        if len(batch) >= n:
            yield batch
            batch = []
    if batch:
        yield batch


def document_meta(rec: dict[str, Any]) -> dict[str, Any]:
    """Everything but the text is kept as metadata (id, source, license, extra fields)."""
    meta = {k: v for k, v in rec.items() if k != "text"}
    meta["chars"] = len(rec["text"])
    return meta


class DocumentFrequency:
    """Counts in how many documents each shingle occurs, per view, to find boilerplate.

    Per-document unique shingles are kept as sorted runs and merged at the
    end: memory is 8 bytes per distinct (document, shingle) pair.
    """

    def __init__(self) -> None:
        self.runs: dict[str, list[np.ndarray]] = {}

    def add(self, view: str, sorted_hashes: np.ndarray) -> None:
        if sorted_hashes.shape[0]:
            keep = np.ones(sorted_hashes.shape[0], dtype=bool)
            keep[1:] = sorted_hashes[1:] != sorted_hashes[:-1]
            self.runs.setdefault(view, []).append(sorted_hashes[keep])

    def common(self, min_df: int) -> dict[str, np.ndarray]:
        out = {}
        for view, runs in self.runs.items():
            values, counts = np.unique(np.concatenate(runs), return_counts=True)
            out[view] = values[counts >= min_df]
        return out


def sketch_documents(router: Router, sketcher: Sketcher, batch: list[dict[str, Any]]
                     ) -> list[dict[str, tuple[ViewData, np.ndarray]]]:
    """Per document of ``batch``: ``{view: (verification data, band keys)}``."""
    per_doc: list[dict[str, Tokens]] = [router.doc_views(r["text"], r.get("lang")) for r in batch]
    out: list[dict[str, tuple[ViewData, np.ndarray]]] = [{} for _ in batch]
    for view in VIEWS:
        members = [i for i, v in enumerate(per_doc) if view in v and len(v[view])]
        if not members:
            continue
        toks = [per_doc[i][view] for i in members]
        offsets = np.zeros(len(toks) + 1, dtype=np.int64)
        np.cumsum([len(t) for t in toks], out=offsets[1:])
        hashes = np.concatenate([t.hashes for t in toks])
        sh_off, sh, win_off, keys = sketcher.sketch_batch(hashes, offsets, view)
        for j, i in enumerate(members):
            srt, pos = sorted_shingles(sh[sh_off[j]:sh_off[j + 1]])
            data = ViewData(srt, pos, toks[j].starts, toks[j].ends, toks[j].raw)
            out[i][view] = (data, keys[win_off[j]:win_off[j + 1]])
    return out


def build(records: Iterable[Record | dict[str, Any]], out: str, params: IndexParams, *, overwrite: bool = False,
          progress: Any = None) -> BuildSummary:
    """Build an index at ``out`` from records with ``id`` and ``text``.

    ``progress`` is an optional callable taking the number of records done.
    Raises :class:`~dedupblock.errors.DedupblockError` on bad input or a
    storage failure; nothing is left at ``out`` in that case.
    """
    t0 = time.perf_counter()
    router = Router(seed=params.seed, code_engine=params.code_engine)
    params = IndexParams(**{**params.__dict__, "featurizers": router.versions()})
    sketcher = Sketcher(params)
    writer = IndexWriter(out, params, overwrite=overwrite)
    df = DocumentFrequency()
    summary = BuildSummary()
    try:
        for rbatch in _batches(records, BATCH_DOCS):
            lines = [r.line if isinstance(r, Record) else None for r in rbatch]
            batch = [r.data if isinstance(r, Record) else r for r in rbatch]
            sketched = sketch_documents(router, sketcher, batch)
            for rec, views, line in zip(batch, sketched, lines):
                if not views:
                    summary.skipped_empty += 1
                    continue
                if writer.has_id(rec["id"]):
                    where = f"line {line}: " if line else ""
                    raise InputError(f"{where}duplicate id {rec['id']!r}; ids must be unique in an index")
                writer.add(document_meta(rec), views)
                for view, (data, _keys) in views.items():
                    df.add(view, data.sorted_hashes)
                summary.docs += 1
                summary.chars += len(rec["text"])
                for v in views:
                    summary.by_view[v] = summary.by_view.get(v, 0) + 1
            if progress is not None:
                progress(len(batch))
        common = df.common(params.common_df)
        state = writer.commit(common)
        summary.extra["common_shingles"] = {v: int(c.shape[0]) for v, c in common.items()}
    except BaseException:
        writer.abort()
        raise
    summary.windows = state["windows"]
    summary.tokens = state["tokens"]
    summary.seconds = time.perf_counter() - t0
    return summary
