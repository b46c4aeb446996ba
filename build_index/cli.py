"""``build-index``: offline jobs (build a protected index, ...)."""

from __future__ import annotations

from typing import Any

import click

from dedupblock.cliutil import progress_bar, user_errors
from dedupblock.params import IndexParams
from dedupblock.readers import MAX_DOC_CHARS, read_jsonl


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dedupblock")
def main() -> None:
    """Offline jobs: build protected-corpus indexes."""


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
    ]):
        fn = opt(fn)
    return fn


def make_params(shingle: int, window: int, stride: int, num_perm: int, lsh_threshold: float, bands: int,
                rows: int, seed: int) -> IndexParams:
    return IndexParams(shingle=shingle, window=window, stride=stride, num_perm=num_perm,
                       threshold=lsh_threshold, bands=bands, rows=rows, seed=seed)


@main.command()
@click.option("--input", "input_path", required=True, help="JSONL corpus ({id, text, lang?, source?, license?}).")
@click.option("--out", "out_path", required=True, help="Index directory to create.")
@click.option("--force", is_flag=True, help="Replace an existing index at --out (atomically, when done).")
@click.option("--max-doc-chars", type=click.IntRange(1), default=MAX_DOC_CHARS, show_default=True,
              help="Refuse documents whose text is longer.")
@sketch_options
@user_errors
def build(input_path: str, out_path: str, force: bool, max_doc_chars: int, **sketch: Any) -> None:
    """Build an index of a protected corpus."""
    from build_index.build import build as run_build

    params = make_params(**sketch)
    records = read_jsonl(input_path, max_chars=max_doc_chars)
    bar = progress_bar(None, "indexing")
    summary = run_build(records, out_path, params, overwrite=force, progress=bar.update)
    bar.close()
    s = summary.to_dict()
    click.echo(f"indexed {s['docs']} documents ({s['chars']} chars, {s['tokens']} tokens, {s['windows']} windows) "
               f"into {out_path} in {s['seconds']:.1f}s" + (f"; skipped {s['skipped_empty']} empty" if
                                                          s["skipped_empty"] else ""), err=True)


if __name__ == "__main__":
    main()
