"""Ray Data engine of ``build-index dedup``: the same stages as the local engine, distributed.

    plan      driver: split the input into chunks of documents (JSONL byte
              ranges at line starts, Parquet row groups), each with the number
              of its first document
    sketch    map: read + validate a chunk, (decontaminate), featurize, shingle
              sets and MinHash signatures -> one row per unit
              ``{u = doc * 8 + slot, doc, view, sh, sig, <doc columns>}``
    bands     map: band keys -> rows ``{part, key, u}`` where ``part`` = band x
              top bits of the key; shuffle: ``groupby(part).map_groups`` sorts
              each part and emits the candidate pairs of every run of equal
              keys (the same rule as the local engine: all pairs, or star +
              chain for big runs); shuffle: ``groupby(hash(a, b))`` removes
              pairs found by several bands
    verify    two bucketed sort-merge joins (``union`` with the unit rows,
              ``groupby(unit % 64).map_groups``) attach the shingle set of
              ``a``, then of ``b``, to every pair; exact Jaccard with the same
              acceptance rule
    cluster   driver: accepted edges -> numba union-find -> connected
              components; keep at most K per cluster (:func:`dedup.select`)
    write     driver: kept records, cluster file, report (:func:`dedup.finish`)

Every choice that decides the result is made by the kernels of
:mod:`build_index.dedup` on the same inputs, and the components of a graph do
not depend on the order its edges arrive in, so for the same input, parameters
and seed the kept set is identical to the local engine's (tested).  Unlike
the local engine, every unique candidate pair is verified (there is no
"already connected" short cut across workers), so ``verified`` is larger.

The sketch output and the accepted edges are saved in the work directory with
the same stage markers as the local engine, so a rerun resumes after them.
On a multi-node cluster the input and ``--work-dir`` must be on storage all
nodes can read (a shared file system).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict
from typing import Any, Callable

import numpy as np

from build_index.dedup import (
    ALL_PAIRS_GROUP, FLAG_CONTAMINATED, FLAG_EMPTY, WORK_FORMAT, BatchSketcher, DedupParams, DedupResult, WorkDir,
    _digest, _save, accept, band_column, default_work_dir, finish, group_pairs_ab, jaccard_pairs, select)
from build_index.shards import Source, check_output, read_chunk
from dedupblock.errors import DedupblockError, InputError

#: unit number = document number * UNIT_STRIDE + index of the view among the document's units
UNIT_STRIDE = 8
DOCS_PER_CHUNK = 2048
#: ``u`` of a sketch row that carries a user error (message in ``id``) instead of a unit
ERROR_ROW = -2
#: LSH parts per band in the grouping shuffle (top bits of the band key)
PART_BITS = 4


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise InputError("the Ray engine needs Ray: pip install 'dedupblock[ray]' (or use --engine local)") from None
    return ray


def _user_error(exc: BaseException) -> DedupblockError | None:
    """The user error (bad input line, bad index) behind a Ray task failure, if any."""
    seen = set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, DedupblockError):
            return e
        stack.extend([getattr(e, "cause", None), e.__cause__, e.__context__])
    return None


# -- map / group functions (run on workers) ------------------------------------------
_SKETCHERS: dict[str, BatchSketcher] = {}


def _sketch_chunks(batch: dict[str, np.ndarray], params: dict[str, Any]) -> dict[str, Any]:
    import pyarrow as pa

    p = DedupParams(**{**params, "views": tuple(params["views"])})
    key = repr(sorted(params.items()))
    bs = _SKETCHERS.get(key)
    if bs is None:
        bs = _SKETCHERS[key] = BatchSketcher(p)
    cols: dict[str, list[Any]] = {k: [] for k in ("u", "doc", "view", "sh", "sig", "id", "chars", "nbytes", "tbytes",
                                                   "rank", "flags", "against_s")}
    for i in range(len(batch["path"])):
        chunk = {k: (v[i].item() if hasattr(v[i], "item") else v[i]) for k, v in batch.items()}
        try:
            _sketch_one(bs, p, chunk, cols)
        except DedupblockError as exc:  # reported by the driver (Ray would wrap it in a traceback)
            for k in cols:
                cols[k].append(b"" if k in ("sh", "sig") else 0)
            cols["u"][-1] = ERROR_ROW
            cols["view"][-1] = -1
            cols["doc"][-1] = int(chunk["base"])
            cols["id"][-1] = str(exc)
    return pa.table({
        "u": pa.array(cols["u"], pa.int64()), "doc": pa.array(cols["doc"], pa.int64()),
        "view": pa.array(cols["view"], pa.int64()), "sh": pa.array(cols["sh"], pa.large_binary()),
        "sig": pa.array(cols["sig"], pa.binary()), "id": pa.array(cols["id"], pa.large_string()),
        "chars": pa.array(cols["chars"], pa.int64()), "nbytes": pa.array(cols["nbytes"], pa.int64()),
        "tbytes": pa.array(cols["tbytes"], pa.int64()), "rank": pa.array(cols["rank"], pa.float64()),
        "flags": pa.array(cols["flags"], pa.uint8()), "against_s": pa.array(cols["against_s"], pa.float64()),
    })


def _sketch_one(bs: BatchSketcher, p: DedupParams, chunk: dict[str, Any], cols: dict[str, list[Any]]) -> None:
    recs = read_chunk(chunk, text_field=p.text_field, id_field=p.id_field, max_chars=p.max_doc_chars)
    for b in bs.batches(recs, base=int(chunk["base"])):
        u = b.units
        n = len(b.ids)
        # one row per unit, plus one (view -1) for a document without units
        per_doc = np.bincount(u["doc"] - b.base, minlength=n)
        slot = np.arange(u["doc"].shape[0]) - np.repeat(np.cumsum(per_doc) - per_doc, per_doc)
        off = np.zeros(u["len"].shape[0] + 1, dtype=np.int64)
        np.cumsum(u["len"], out=off[1:])
        ui = 0
        for d in range(n):
            doc = b.base + d
            rows = [(ui + s, s) for s in range(per_doc[d])] or [(-1, -1)]
            for r, s in rows:
                cols["doc"].append(doc)
                cols["id"].append(b.ids[d])
                cols["chars"].append(int(b.chars[d]))
                cols["nbytes"].append(int(b.nbytes[d]))
                cols["tbytes"].append(int(b.tbytes[d]))
                cols["rank"].append(float(b.rank[d]))
                cols["flags"].append(int(b.flags[d]))
                cols["against_s"].append(b.against_seconds if d == 0 and s <= 0 else 0.0)
                if r < 0:
                    cols["u"].append(-1)
                    cols["view"].append(-1)
                    cols["sh"].append(b"")
                    cols["sig"].append(b"")
                else:
                    assert slot[r] == s
                    cols["u"].append(doc * UNIT_STRIDE + s)
                    cols["view"].append(int(u["view"][r]))
                    cols["sh"].append(u["shingles"][off[r]:off[r + 1]].tobytes())
                    cols["sig"].append(u["sigs"][r].tobytes())
            ui += per_doc[d]


def _band_rows(batch: dict[str, np.ndarray], bands: int, rows: int, num_perm: int) -> dict[str, np.ndarray]:
    n = len(batch["u"])
    if n == 0:
        return {"part": np.zeros(0, np.int64), "key": np.zeros(0, np.uint64), "u": np.zeros(0, np.int64)}
    sigs = np.frombuffer(b"".join(batch["sig"]), dtype="<u4").reshape(n, num_perm)
    views = np.asarray(batch["view"], dtype=np.int64)
    keys, parts = [], []
    for j in range(bands):
        k = band_column(sigs, views, j, rows)
        keys.append(k)
        parts.append(j * (1 << PART_BITS) + (k >> np.uint64(64 - PART_BITS)).astype(np.int64))
    return {"part": np.concatenate(parts), "key": np.concatenate(keys),
            "u": np.tile(np.asarray(batch["u"], dtype=np.int64), bands)}


def _group_part(group: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    key = np.asarray(group["key"], dtype=np.uint64)
    u = np.asarray(group["u"], dtype=np.int64)
    order = np.lexsort((u, key))
    a, b = group_pairs_ab(key[order], u[order], ALL_PAIRS_GROUP)
    h = ((a * 1000003 + b) % 64).astype(np.int64)
    return {"a": a, "b": b, "h": h}


def _unique_pairs(group: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    ab = np.unique(np.stack([np.asarray(group["a"]), np.asarray(group["b"])], axis=1), axis=0)
    return {"a": ab[:, 0].astype(np.int64), "b": ab[:, 1].astype(np.int64)}


JOIN_BUCKETS = 64


def _unit_rows(batch: dict[str, np.ndarray]) -> dict[str, Any]:
    n = len(batch["u"])
    u = np.asarray(batch["u"], dtype=np.int64)
    return {"k": u, "o": np.full(n, -1, np.int64), "va": np.full(n, -1, np.int64),
            "sha": np.array([b""] * n, dtype=object), "view": np.asarray(batch["view"], dtype=np.int64),
            "sh": batch["sh"], "isu": np.ones(n, dtype=bool), "h": u % JOIN_BUCKETS}


def _pair_rows(batch: dict[str, np.ndarray]) -> dict[str, Any]:
    n = len(batch["a"])
    a = np.asarray(batch["a"], dtype=np.int64)
    empty = np.array([b""] * n, dtype=object)
    return {"k": a, "o": np.asarray(batch["b"], dtype=np.int64), "va": np.full(n, -1, np.int64), "sha": empty,
            "view": np.full(n, -1, np.int64), "sh": empty, "isu": np.zeros(n, dtype=bool), "h": a % JOIN_BUCKETS}


def _split(group: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pair rows of a join bucket and, for each, the row of its unit ``k`` (sort-merge join)."""
    isu = np.asarray(group["isu"], dtype=bool)
    k = np.asarray(group["k"], dtype=np.int64)
    uk = np.flatnonzero(isu)
    uk = uk[np.argsort(k[uk], kind="stable")]
    pr = np.flatnonzero(~isu)
    at = np.searchsorted(k[uk], k[pr])
    if pr.shape[0] and (at.max() >= uk.shape[0] or not np.array_equal(k[uk][at], k[pr])):
        raise RuntimeError("candidate pair refers to a unit that is not in the sketch")
    return isu, k, pr, uk[at]


def _attach_first(group: dict[str, np.ndarray]) -> dict[str, Any]:
    """Pass 1: give each pair ``(a, b)`` the view and shingle set of ``a``; re-key it by ``b``."""
    _, k, pr, ur = _split(group)
    b = np.asarray(group["o"], dtype=np.int64)[pr]
    n = pr.shape[0]
    empty = np.array([b""] * n, dtype=object)
    return {"k": b, "o": k[pr], "va": np.asarray(group["view"], dtype=np.int64)[ur],
            "sha": np.asarray(group["sh"], dtype=object)[ur], "view": np.full(n, -1, np.int64), "sh": empty,
            "isu": np.zeros(n, dtype=bool), "h": b % JOIN_BUCKETS}


def _attach_verify(group: dict[str, np.ndarray], threshold: float) -> dict[str, np.ndarray]:
    """Pass 2: attach the set of ``b`` and verify: exact Jaccard, the local engine's rule."""
    _, k, pr, ur = _split(group)
    b = k[pr]
    a = np.asarray(group["o"], dtype=np.int64)[pr]
    n = pr.shape[0]
    sha = np.asarray(group["sha"], dtype=object)[pr]
    shb = np.asarray(group["sh"], dtype=object)[ur]
    lens = np.empty(2 * n, dtype=np.int64)
    parts = []
    for i in range(n):
        x = np.frombuffer(sha[i], dtype="<u8")
        y = np.frombuffer(shb[i], dtype="<u8")
        parts += [x, y]
        lens[2 * i], lens[2 * i + 1] = x.shape[0], y.shape[0]
    off = np.zeros(2 * n + 1, dtype=np.int64)
    np.cumsum(lens, out=off[1:])
    sh = np.concatenate(parts) if parts else np.zeros(0, np.uint64)
    ok = (np.asarray(group["va"], dtype=np.int64)[pr] == np.asarray(group["view"], dtype=np.int64)[ur]) & (
        a // UNIT_STRIDE != b // UNIT_STRIDE)
    j = jaccard_pairs(sh, off, np.arange(0, 2 * n, 2, dtype=np.int64), np.arange(1, 2 * n, 2, dtype=np.int64))
    return {"a": a, "b": b, "checked": ok, "accepted": ok & accept(j, threshold)}


# -- driver ---------------------------------------------------------------------
def init_ray(address: str | None = None, num_cpus: int | None = None) -> Any:
    """Join ``address``, or start a local Ray with ``num_cpus`` (default: all cores).

    Workers run numba on one thread each (Ray supplies the parallelism).
    """
    ray = _import_ray()
    env = {"env_vars": {"NUMBA_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}}
    kw: dict[str, Any] = {"runtime_env": env, "include_dashboard": False, "log_to_driver": False,
                          "logging_level": "ERROR", "configure_logging": True}
    if address:
        ray.init(address=address, **kw)
    else:
        ray.init(num_cpus=num_cpus or os.cpu_count(), **kw)
    return ray


def dedup_ray(input_path: str, out: str, params: DedupParams, *, report_path: str | None = None,
              work_dir: str | None = None, address: str | None = None, num_cpus: int | None = None,
              log: Callable[[str], None] | None = None) -> DedupResult:
    """Run the dedup job on Ray Data (a local Ray on all cores unless ``address`` is given)."""
    ray = _import_ray()
    log = log or (lambda s: None)
    source = Source(input_path)
    check_output(source, out)
    if params.against:  # open it here once, so a bad index is a one-line error before any task starts
        from dedupblock import Blocker

        Blocker(params.against)
    started = False
    if not ray.is_initialized():
        init_ray(address, num_cpus)
        started = True
    try:
        return _run(ray, source, out, params, report_path, work_dir, log)
    except Exception as exc:
        user = _user_error(exc)
        if user is not None and user is not exc:
            raise type(user)(str(user)) from None
        raise
    finally:
        if started:
            ray.shutdown()


def _run(ray: Any, source: Source, out: str, params: DedupParams, report_path: str | None, work_dir: str | None,
         log: Callable[[str], None]) -> DedupResult:
    import pyarrow as pa

    import logging

    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = sys.stderr.isatty()
    ctx.print_on_execution_start = False
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    wd = WorkDir(work_dir or default_work_dir(out))
    from dedupblock.featurize.route import Router

    key = _digest({"format": WORK_FORMAT, "engine": "ray", "input": source.fingerprint(),
                   "featurizers": Router(views=set(params.views)).versions(), **params.sketch_key()})
    timings: dict[str, float] = {}
    resumed: list[str] = []
    pdict = asdict(params)

    # -- sketch ------------------------------------------------------------------
    sk_info = wd.done("ray-sketch", key)
    if sk_info is None:
        t = time.perf_counter()
        part = wd.begin("ray-sketch", key)
        chunks, n_docs = source.plan(DOCS_PER_CHUNK)
        plan = ray.data.from_arrow(pa.Table.from_pylist(chunks)) if chunks else None
        if plan is not None:
            plan = plan.repartition(max(1, min(len(chunks), 4 * cpus)))
            rows = plan.map_batches(_sketch_chunks, fn_kwargs={"params": pdict}, batch_size=1, batch_format="numpy")
            rows.write_parquet(str(part / "rows"))
            meta = ray.data.read_parquet(str(part / "rows")).select_columns(
                ["u", "doc", "id", "chars", "nbytes", "tbytes", "rank", "flags", "against_s"]).to_arrow_refs()
            tab = pa.concat_tables(ray.get(meta))
            err = np.flatnonzero(tab.column("u").to_numpy() == ERROR_ROW)
            if err.shape[0]:  # the first bad chunk in input order, as the local engine would report
                first = err[np.argmin(tab.column("doc").to_numpy()[err])]
                raise InputError(tab.column("id")[int(first)].as_py())
        else:
            tab = None
        docs = _doc_columns(tab, n_docs)
        np.savez(part / "docs.npz", **{k: v for k, v in docs.items() if k != "ids"})
        (part / "ids.txt").write_bytes(b"".join(i.encode("utf-8", "surrogatepass") + b"\n" for i in docs["ids"]))
        sk_info = {"seconds": time.perf_counter() - t, "docs": n_docs, "units": docs["units"].item(),
                   "against_seconds": float(docs["against_s"].item()),
                   "contaminated": int(np.count_nonzero(docs["flags"] & FLAG_CONTAMINATED)),
                   "empty": int(np.count_nonzero(docs["flags"] & FLAG_EMPTY))}
        wd.commit("ray-sketch", key, sk_info)
    else:
        resumed.append("sketch")
        log("sketch: done in an earlier run, skipped")
    sdir = wd.path("ray-sketch")
    docs = dict(np.load(sdir / "docs.npz"))
    ids = (sdir / "ids.txt").read_bytes().decode("utf-8", "surrogatepass").split("\n")[:-1]
    timings["sketch"] = float(sk_info["seconds"]) - float(sk_info.get("against_seconds", 0.0))
    if params.against:
        timings["against"] = float(sk_info.get("against_seconds", 0.0))

    # -- bands + verify -------------------------------------------------------------
    key = _digest({"prev": key, **params.bands_key(), **params.verify_key()})
    ver = wd.done("ray-verify", key)
    if ver is None:
        part = wd.begin("ray-verify", key)
        units = None
        if (sdir / "rows").exists():
            from ray.data.expressions import col

            units = ray.data.read_parquet(str(sdir / "rows")).select_columns(["u", "view", "sh", "sig"]).filter(
                expr=col("view") >= 0)
        t = time.perf_counter()
        if units is not None:
            nparts = params.bands << PART_BITS
            band_rows = units.select_columns(["u", "view", "sig"]).map_batches(
                _band_rows, fn_kwargs={"bands": params.bands, "rows": params.rows, "num_perm": params.num_perm},
                batch_format="numpy", batch_size=4096)
            cand = band_rows.groupby("part", num_partitions=min(nparts, 4 * cpus)).map_groups(
                _group_part, batch_format="numpy")
            pairs = cand.groupby("h", num_partitions=min(64, 4 * cpus)).map_groups(
                _unique_pairs, batch_format="numpy").materialize()
            n_cand = pairs.count()
            timings["bands"] = time.perf_counter() - t
            t = time.perf_counter()
            edges, n_checked, n_acc = _verify_pairs(ray, pairs, units, params.threshold, cpus, n_cand)
        else:
            timings["bands"] = time.perf_counter() - t
            t = time.perf_counter()
            n_cand = n_checked = n_acc = 0
            edges = np.zeros((0, 2), dtype=np.int64)
        timings["verify"] = time.perf_counter() - t
        _save(part / "edges.npy", edges)
        ver = {"candidates": int(n_cand), "verified": int(n_checked), "accepted": int(n_acc),
               "rejected": int(n_checked - n_acc), "skipped_connected": 0, "bands_seconds": timings["bands"],
               "verify_seconds": timings["verify"]}
        wd.commit("ray-verify", key, ver)
    else:
        resumed += ["bands", "verify"]
        log("bands, verify: done in an earlier run, skipped")
        timings["bands"] = float(ver["bands_seconds"])
        timings["verify"] = float(ver["verify_seconds"])
    edges = np.load(wd.path("ray-verify") / "edges.npy")

    # -- cluster + select (driver) --------------------------------------------------
    t = time.perf_counter()
    sel = select(len(ids), edges, docs["flags"], docs["chars"], docs["rank"], params)
    timings["select"] = time.perf_counter() - t
    return finish(source, out, params, "ray", ids, sel, sk_info, ver, docs["tbytes"], docs["nbytes"], timings,
                  resumed, report_path, {"ray_cpus": cpus, "work_dir": str(wd.root)})


def _doc_columns(tab: Any, n_docs: int) -> dict[str, Any]:
    """Per-document arrays in document order from the (unordered) sketch rows."""
    if tab is None or tab.num_rows == 0:
        z = np.zeros(0, dtype=np.int64)
        return {"ids": [], "chars": z, "nbytes": z, "tbytes": z, "rank": np.zeros(0), "flags": np.zeros(0, np.uint8),
                "units": np.array(0), "against_s": np.array(0.0)}
    doc = tab.column("doc").to_numpy()
    first = np.unique(doc, return_index=True)[1]
    order = first[np.argsort(doc[first], kind="stable")]
    if order.shape[0] != n_docs:
        raise InputError(f"the input changed while deduplicating ({order.shape[0]} documents, expected {n_docs}); "
                         f"rerun")
    col = {k: tab.column(k).to_numpy()[order] for k in ("chars", "nbytes", "tbytes", "rank", "flags")}
    col["ids"] = [tab.column("id")[int(i)].as_py() for i in order]
    col["units"] = np.array(int(np.count_nonzero(tab.column("u").to_numpy() >= 0)))
    col["against_s"] = np.array(float(tab.column("against_s").to_numpy().sum()))
    return col


def _verify_pairs(ray: Any, pairs: Any, units: Any, threshold: float, cpus: int, n_cand: int
                  ) -> tuple[np.ndarray, int, int]:
    """Hash-join both shingle sets onto every pair (two bucketed sort-merge joins) and verify."""
    if n_cand == 0:
        return np.zeros((0, 2), dtype=np.int64), 0, 0
    nparts = max(1, min(JOIN_BUCKETS, 4 * cpus))
    urows = units.select_columns(["u", "view", "sh"]).map_batches(_unit_rows, batch_format="numpy")
    first = pairs.map_batches(_pair_rows, batch_format="numpy").union(urows).groupby(
        "h", num_partitions=nparts).map_groups(_attach_first, batch_format="numpy")
    res = first.union(urows).groupby("h", num_partitions=nparts).map_groups(
        _attach_verify, fn_kwargs={"threshold": threshold}, batch_format="numpy")
    acc_a, acc_b = [], []
    checked = accepted = 0
    for batch in res.iter_batches(batch_format="numpy", batch_size=None):
        m = np.asarray(batch["accepted"], dtype=bool)
        checked += int(np.count_nonzero(batch["checked"]))
        accepted += int(np.count_nonzero(m))
        acc_a.append(np.asarray(batch["a"])[m] // UNIT_STRIDE)
        acc_b.append(np.asarray(batch["b"])[m] // UNIT_STRIDE)
    if not acc_a:
        return np.zeros((0, 2), dtype=np.int64), checked, accepted
    e = np.stack([np.concatenate(acc_a), np.concatenate(acc_b)], axis=1).astype(np.int64)
    return e, checked, accepted


__all__ = ["dedup_ray", "init_ray", "UNIT_STRIDE"]
