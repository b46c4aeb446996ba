"""A deterministic sequence of index operations, shared by the crash and concurrency tests.

Operation ``j`` (``j >= 1``; the build is generation 1, so after operation
``j`` the index is at generation ``j + 1``):

* ``j % 3 == 1``: add three new documents ``d{j}-0..2``;
* ``j % 3 == 2``: remove ``d{j-1}-1``;
* ``j % 3 == 0``: compact.

Run as a script it performs operations from the index's current generation
on, so a killed run can simply be restarted.
"""

from __future__ import annotations

import random
import sys

WORDS_PER_DOC = 160


def doc_text(doc_id: str) -> str:
    rng = random.Random(doc_id)
    vocab = [f"{rng.choice('bcdfghklmnprstvz')}{rng.choice('aeiou')}{rng.choice('lmnrst')}{rng.randrange(1000)}"
             for _ in range(400)]
    return " ".join(rng.choice(vocab) for _ in range(WORDS_PER_DOC))


def initial_ids() -> list[str]:
    return [f"base-{i}" for i in range(4)]


def expected_ids(generation: int) -> set[str]:
    ids = set(initial_ids())
    for j in range(1, generation):
        if j % 3 == 1:
            ids |= {f"d{j}-{k}" for k in range(3)}
        elif j % 3 == 2:
            ids.discard(f"d{j - 1}-1")
    return ids


def removed_ids(generation: int) -> set[str]:
    return {f"d{j - 1}-1" for j in range(1, generation) if j % 3 == 2}


def run(index: str, n_ops: int) -> None:
    from build_index.update import add_documents
    from dedupblock.store import IndexUpdater

    print("ready", flush=True)
    for _ in range(n_ops):
        with IndexUpdater(index) as upd:
            with upd.env.begin() as txn:
                import json

                j = json.loads(txn.get(b"meta/state"))["generation"]
            print(f"start {j}", flush=True)
            if j % 3 == 1:
                recs = [{"id": f"d{j}-{k}", "text": doc_text(f"d{j}-{k}"), "source": f"gen/{j}/{k}"}
                        for k in range(3)]
                upd.close()
                add_documents(recs, index)
            elif j % 3 == 2:
                upd.remove(ids=[f"d{j - 1}-1"])
            else:
                upd.compact()


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]))
