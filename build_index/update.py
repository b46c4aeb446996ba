"""``build-index add``: new documents into an existing index, with the index's own parameters."""

from __future__ import annotations

from typing import Any, Iterable

from build_index.build import BATCH_DOCS, _batches, document_meta, sketch_documents
from dedupblock.errors import InputError
from dedupblock.featurize.route import Router
from dedupblock.readers import Record
from dedupblock.sketch import Sketcher
from dedupblock.store import IndexUpdater


def add_documents(records: Iterable[Record | dict[str, Any]], index: str, *, replace: bool = False,
                  progress: Any = None) -> dict[str, Any]:
    """Add records to ``index`` in one transaction (all or nothing).

    Parameters come from the index; an index built by another featurizer
    version is refused.  Returns the updater's summary (added, replaced, state).
    """
    with IndexUpdater(index) as upd:
        router = Router(seed=upd.params.seed, views=set(upd.params.featurizers), code_engine=upd.params.code_engine)
        upd.params.check_featurizers(router.versions())
        sketcher = Sketcher(upd.params)
        staged: list[tuple[dict[str, Any], dict]] = []
        skipped = 0
        for rbatch in _batches(records, BATCH_DOCS):
            batch = [r.data if isinstance(r, Record) else r for r in rbatch]
            for rec, views in zip(batch, sketch_documents(router, sketcher, batch)):
                if not views:
                    skipped += 1
                    continue
                staged.append((document_meta(rec), views))
            if progress is not None:
                progress(len(rbatch))
        if not staged:
            raise InputError("no documents to add (input empty or all texts empty)")
        summary = upd.add(staged, replace=replace)
    summary["skipped_empty"] = skipped
    return summary
