"""``build-index``: offline jobs (build a protected index, ...)."""

from __future__ import annotations

from typing import Any

import click

from dedupblock.cliutil import progress_bar, user_errors
from dedupblock.params import IndexParams
from dedupblock.readers import MAX_DOC_CHARS, SourceTree, read_inputs


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dedupblock")
def main() -> None:
    """Offline jobs: build and maintain protected-corpus indexes, deduplicate corpora."""


def sketch_options(fn: Any) -> Any:
    d = IndexParams()
    for opt in reversed([
        click.option("--shingle", type=click.IntRange(1, 64), default=d.shingle, show_default=True,
                     help="Tokens per shingle."),
        click.option("--window", type=click.IntRange(1), default=d.window, show_default=True,
                     help="Shingles per MinHash window."),
        click.option("--stride", type=click.IntRange(1), default=d.stride, show_default=True,
                     help="Shingles between window starts (must divide --window)."),
        click.option("--num-perm", type=click.IntRange(8, 1024), default=d.num_perm, show_default=True,
                     help="MinHash permutations per window."),
        click.option("--lsh-threshold", type=click.FloatRange(0.01, 0.99), default=d.threshold, show_default=True,
                     help="Window Jaccard at which LSH starts to report candidates."),
        click.option("--bands", type=click.IntRange(0), default=0, help="LSH bands (default: from the threshold)."),
        click.option("--rows", type=click.IntRange(0), default=0, help="Rows per band (default: from the threshold)."),
        click.option("--seed", type=int, default=d.seed, show_default=True, help="Hash seed."),
        click.option("--code-engine", type=click.Choice(["lexer", "tree-sitter"]), default=d.code_engine,
                     show_default=True, help="Tokeniser of the code view (docs/code-normalisation.md)."),
        click.option("--common-df", type=click.IntRange(2), default=d.common_df, show_default=True,
                     help="Shingles in at least this many documents are boilerplate, never evidence."),
    ]):
        fn = opt(fn)
    return fn


def make_params(lsh_threshold: float, **knobs: Any) -> IndexParams:
    return IndexParams(threshold=lsh_threshold, **knobs)


INPUT_HELP = ("JSONL corpus ({id, text, lang?, source?, license?}) or a directory of source files "
              "(recursive; path = id and source).")


def _input_summary(records: object) -> str:
    if isinstance(records, SourceTree):
        out = f"; read {records.files} files, skipped {records.skipped_binary} binary"
        return out + (f" and {records.skipped_large} over --max-doc-chars" if records.skipped_large else "")
    return ""


@main.command()
@click.option("--input", "input_path", required=True, help=INPUT_HELP)
@click.option("--out", "out_path", required=True, help="Index directory to create.")
@click.option("--glob", default=None, help="With a directory input: only files matching this pattern.")
@click.option("--force", is_flag=True, help="Replace an existing index at --out (atomically, when done).")
@click.option("--max-doc-chars", type=click.IntRange(1), default=MAX_DOC_CHARS, show_default=True,
              help="Refuse documents whose text is longer.")
@sketch_options
@user_errors
def build(input_path: str, out_path: str, glob: str | None, force: bool, max_doc_chars: int, **sketch: Any) -> None:
    """Build an index of a protected corpus."""
    from build_index.build import build as run_build

    params = make_params(**sketch)
    records = read_inputs(input_path, glob, max_doc_chars)
    bar = progress_bar(None, "indexing")
    summary = run_build(records, out_path, params, overwrite=force, progress=bar.update)
    bar.close()
    s = summary.to_dict()
    click.echo(f"indexed {s['docs']} documents ({s['chars']} chars, {s['tokens']} tokens, {s['windows']} windows) "
               f"into {out_path} in {s['seconds']:.1f}s" + (f"; skipped {s['skipped_empty']} empty" if
                                                          s["skipped_empty"] else "") + _input_summary(records),
               err=True)


@main.command()
@click.option("--index", "index_path", required=True, help="Existing index directory.")
@click.option("--input", "input_path", required=True, help=INPUT_HELP)
@click.option("--glob", default=None, help="With a directory input: only files matching this pattern.")
@click.option("--replace", is_flag=True, help="Replace documents whose id is already in the index.")
@click.option("--max-doc-chars", type=click.IntRange(1), default=MAX_DOC_CHARS, show_default=True,
              help="Refuse documents whose text is longer.")
@user_errors
def add(index_path: str, input_path: str, glob: str | None, replace: bool, max_doc_chars: int) -> None:
    """Add documents to an existing index (one transaction; parameters from the index)."""
    from build_index.update import add_documents

    records = read_inputs(input_path, glob, max_doc_chars)
    bar = progress_bar(None, "adding")
    s = add_documents(records, index_path, replace=replace, progress=bar.update)
    bar.close()
    click.echo(f"added {s['added']} documents ({s['replaced']} replaced); index now holds {s['docs']} documents "
               f"in {len(s['segments'])} segments" + _input_summary(records), err=True)


@main.command()
@click.option("--index", "index_path", required=True, help="Existing index directory.")
@click.option("--ids", "ids_path", default=None, type=click.Path(), help="File with one document id per line.")
@click.option("--source", "source_glob", default=None, help="Remove documents whose source matches this glob.")
@user_errors
def remove(index_path: str, ids_path: str | None, source_glob: str | None) -> None:
    """Remove documents by id or by source; removed documents are never matched again."""
    from dedupblock.readers import text_stream
    from dedupblock.store import IndexUpdater

    if (ids_path is None) == (source_glob is None):
        raise click.UsageError("give exactly one of --ids FILE or --source GLOB")
    ids = None
    if ids_path is not None:
        ids = [line.strip() for line in text_stream(ids_path).splitlines() if line.strip()]
    with IndexUpdater(index_path) as upd:
        s = upd.remove(ids=ids, source_glob=source_glob)
    click.echo(f"removed {s['removed']} documents" + (f" ({s['not_found']} ids not found)" if s["not_found"] else "")
               + f"; index now holds {s['docs']} documents", err=True)


@main.command()
@click.option("--index", "index_path", required=True, help="Existing index directory.")
@user_errors
def compact(index_path: str) -> None:
    """Merge postings segments and drop removed documents' postings (readers keep answering)."""
    from dedupblock.store import IndexUpdater

    with IndexUpdater(index_path) as upd:
        s = upd.compact()
    click.echo(f"compacted {s['segments_merged']} segments into 1, dropped postings of {s['tombstones_dropped']} "
               f"removed documents", err=True)


@main.command()
@click.option("--input", "input_path", required=True,
              help="JSONL corpus file, or a directory of .jsonl / .parquet shards ({id, text, lang?, ...}).")
@click.option("--out", "out_path", required=True,
              help="Kept records, in the input's shape (file -> file, directory -> directory of shards).")
@click.option("--max-copies", type=click.IntRange(1), required=True, help="Documents kept per near-duplicate cluster.")
@click.option("--threshold", type=click.FloatRange(0.01, 0.99), default=0.8, show_default=True,
              help="Jaccard similarity (document shingle sets) at which two documents are duplicates.")
@click.option("--report", "report_path", default=None, help="Write the JSON report here (plus a cluster-size PNG).")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--against", default=None, help="Also drop documents that a protected index blocks.")
@click.option("--keep", default="first", show_default=True,
              help="Which documents of a cluster to keep: first | longest | field:NAME (numeric, highest first).")
@click.option("--seed", type=int, default=1, show_default=True, help="Hash seed (shingles, MinHash).")
@click.option("--num-perm", type=click.IntRange(16, 1024), default=128, show_default=True,
              help="MinHash entries per document (permutations, or bins with --signature oph).")
@click.option("--signature", type=click.Choice(["oph", "minhash"]), default="oph", show_default=True,
              help="Whole-document signature: one-permutation MinHash (one hash per shingle) or classic MinHash.")
@click.option("--shingle", type=click.IntRange(1, 64), default=5, show_default=True, help="Tokens per shingle.")
@click.option("--code-shingle", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Tokens per shingle in the code view (normalised code tokens).")
@click.option("--views", default="text,code", show_default=True,
              help="Featurizer views compared (a pair is a duplicate if any shared view reaches --threshold).")
@click.option("--ray-address", default=None, help="Ray cluster to join (default: a local Ray on all cores).")
@click.option("--work-dir", default=None, help="Stage outputs for resuming (default: OUT.work).")
@click.option("--memory-mb", type=click.IntRange(16), default=1024, show_default=True,
              help="Local engine: memory for grouping band keys; over it keys are bucketed on disk.")
@click.option("--workers", type=click.IntRange(0), default=0, show_default=True,
              help="Local engine: sketch processes (0 = auto: one process, whose kernels use every core; "
                   "more help corpora of code in languages other than Python).")
@click.option("--max-doc-chars", type=click.IntRange(1), default=MAX_DOC_CHARS, show_default=True,
              help="Refuse documents whose text is longer.")
@user_errors
def dedup(input_path: str, out_path: str, max_copies: int, threshold: float, report_path: str | None, engine: str,
          against: str | None, keep: str, seed: int, num_perm: int, signature: str, shingle: int,
          code_shingle: int, views: str, ray_address: str | None,
          work_dir: str | None, memory_mb: int, workers: int, max_doc_chars: int) -> None:
    """Remove near-duplicate documents (MinHash/LSH clusters, exact Jaccard verification)."""
    from build_index.dedup import DedupParams, dedup as run_local

    params = DedupParams(threshold=threshold, max_copies=max_copies, keep=keep, num_perm=num_perm,
                         signature=signature, shingle=shingle,
                         code_shingle=code_shingle, views=tuple(v.strip() for v in views.split(",") if v.strip()),
                         seed=seed, against=against, max_doc_chars=max_doc_chars)
    log = lambda msg: click.echo(msg, err=True)  # noqa: E731
    if engine == "ray":
        from build_index.dedup_ray import dedup_ray

        res = dedup_ray(input_path, out_path, params, report_path=report_path, work_dir=work_dir,
                        address=ray_address, log=log)
    else:
        res = run_local(input_path, out_path, params, report_path=report_path, work_dir=work_dir,
                        memory_mb=memory_mb, workers=workers, log=log)
    r = res.report
    click.echo(f"kept {r['docs_out']} of {r['docs_in']} documents: {r['duplicates_removed']} near-duplicates in "
               f"{r['duplicate_clusters']} clusters removed ({r['bytes_removed_duplicates']} bytes)"
               + (f", {r['decontaminated']} decontaminated" if against else "")
               + f"; {r['candidates']} candidate pairs, {r['rejected']} rejected by verification; "
               f"{r['total_seconds']:.1f}s -> {out_path}", err=True)


if __name__ == "__main__":
    main()
