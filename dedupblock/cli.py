"""``dedupblock``: check outputs against a protected index, look things up, inspect an index."""

from __future__ import annotations

import sys
from typing import Any

import click

from dedupblock.cliutil import jsonl_writer, progress_bar, user_errors
from dedupblock.errors import InputError
from dedupblock.policy import Policy
from dedupblock.readers import MAX_DOC_CHARS, read_jsonl, text_stream


def policy_options(fn: Any) -> Any:
    """The policy knobs, shared by every command that decides."""
    defaults = Policy()
    for opt in reversed([
        click.option("--threshold", type=click.FloatRange(0, 1), default=defaults.threshold, show_default=True,
                     help="Verified similarity at which a lightly edited copy fires."),
        click.option("--min-match-chars", type=click.IntRange(0), default=defaults.min_match_chars,
                     show_default=True, help="Shortest matched span (characters of the output) that can fire."),
        click.option("--min-exact-tokens", type=click.IntRange(0), default=defaults.min_exact_tokens,
                     show_default=True, help="Exactly copied run (tokens) that fires regardless of edits elsewhere."),
        click.option("--code-min-exact-tokens", type=click.IntRange(0), default=defaults.code_min_exact_tokens,
                     show_default=True, help="The same in the code view (identifier-normalised code tokens)."),
        click.option("--code-min-tokens", type=click.IntRange(0), default=defaults.code_min_tokens,
                     show_default=True, help="Code view: shortest near copy that is most of the output's code."),
        click.option("--code-min-embedded-run", type=click.IntRange(0), default=defaults.code_min_embedded_run,
                     show_default=True, help="Code view: exact run that fires inside a longer output."),
        click.option("--code-min-agreement", type=click.FloatRange(0, 1), default=defaults.code_min_agreement,
                     show_default=True, help="Code view: how consistently identifiers/literals must correspond."),
        click.option("--code-min-comment-agreement", type=click.FloatRange(0, 1),
                     default=defaults.code_min_comment_agreement, show_default=True,
                     help="Code view: share of a region's comments that must be found near the source."),
    ]):
        fn = opt(fn)
    return fn


def make_policy(**knobs: Any) -> Policy:
    return Policy(**knobs)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dedupblock")
def main() -> None:
    """Near-duplicate output blocker: is this output copied from a protected corpus?"""


@main.command()
@click.option("--index", "index_path", required=True, help="Index directory built by 'build-index build'.")
@click.option("--input", "input_path", required=True, help="JSONL of outputs to check ('-' = stdin).")
@click.option("--output", "output_path", default="-", show_default=True, help="Verdicts JSONL ('-' = stdout).")
@click.option("--id-field", default="id", show_default=True, help="Field holding each record's id.")
@click.option("--text-field", default="text", show_default=True, help="Field holding the text to check.")
@click.option("--lang-field", default="lang", show_default=True, help="Field holding an optional language hint.")
@click.option("--fail-on-block", is_flag=True, help="Exit with status 1 if any record was blocked.")
@click.option("--max-doc-chars", type=click.IntRange(1), default=MAX_DOC_CHARS, show_default=True,
              help="Refuse records whose text is longer.")
@policy_options
@user_errors
def check(index_path: str, input_path: str, output_path: str, id_field: str, text_field: str, lang_field: str,
          fail_on_block: bool, max_doc_chars: int, **policy: Any) -> None:
    """Check every record of a JSONL file; write one verdict line per record."""
    from dedupblock.blocker import Blocker

    blocker = Blocker(index_path, make_policy(**policy))
    n = blocked = 0
    bar = progress_bar(None, "checking", "outputs")
    with jsonl_writer(output_path) as write:
        for rec in read_jsonl(input_path, text_field=text_field, id_field=id_field, max_chars=max_doc_chars):
            lang = rec.data.get(lang_field)
            if lang is not None and not isinstance(lang, str):
                raise InputError(f"{input_path}:{rec.line}: field {lang_field!r} must be a string")
            verdict = blocker.check(rec.data[text_field], lang)
            write({id_field: rec.data[id_field], **verdict.to_dict()})
            n += 1
            blocked += verdict.blocked
            bar.update(1)
    bar.close()
    click.echo(f"checked {n} outputs: {blocked} blocked", err=True)
    if fail_on_block and blocked:
        sys.exit(1)


@main.command()
@click.option("--index", "index_path", required=True, help="Index directory built by 'build-index build'.")
@click.option("--text", "text", default=None, help="Text to look up.")
@click.option("--file", "file_path", default=None, type=click.Path(), help="File whose content to look up.")
@click.option("--lang", default=None, help="Language hint (python, javascript, text, ...).")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@click.option("--all", "show_all", is_flag=True, help="Also list matches below the policy.")
@click.argument("stdin", required=False, metavar="[-]")
@policy_options
@user_errors
def query(index_path: str, text: str | None, file_path: str | None, lang: str | None, as_json: bool,
          show_all: bool, stdin: str | None, **policy: Any) -> None:
    """Is this text in the protected corpus? Where, and how similar?

    Give the text with --text, --file F, or '-' to read standard input.
    """
    import orjson

    from dedupblock.blocker import Blocker

    given = [x for x in (text is not None, file_path is not None, stdin is not None) if x]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --text, --file or '-' (stdin)")
    if stdin is not None and stdin != "-":
        raise click.UsageError(f"unexpected argument {stdin!r}; use '-' to read standard input")
    if text is None:
        text = text_stream(file_path if file_path is not None else "-")
    verdict = Blocker(index_path, make_policy(**policy)).check(text, lang)
    if as_json:
        click.echo(orjson.dumps(verdict.to_dict(), option=orjson.OPT_INDENT_2).decode())
        return
    matches = [m for m in verdict.matches if show_all or m.rule]
    status = "BLOCKED" if verdict.blocked else "not blocked"
    click.echo(f"{status}: score {verdict.score:.3f}" + (f" ({verdict.rule})" if verdict.rule else ""))
    if not matches:
        hidden = len(verdict.matches)
        click.echo("no match fires the policy" + (f" ({hidden} below it; --all lists them)" if hidden else ""))
        return
    rows = [("#", "doc id", "sim", "cont", "rule", "license", "source", "output span", "source span")]
    for i, m in enumerate(matches, 1):
        for j, sp in enumerate(m.spans):
            rows.append((str(i) if j == 0 else "", m.doc_id if j == 0 else "", f"{sp.similarity:.3f}",
                         f"{sp.containment:.3f}", (m.rule or "-") if j == 0 else "",
                         str(m.license or "-") if j == 0 else "", _short(str(m.source or "-")) if j == 0 else "",
                         f"{sp.output[0]}-{sp.output[1]}", f"{sp.source[0]}-{sp.source[1]}"))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())


def _short(s: str, n: int = 48) -> str:
    return s if len(s) <= n else "..." + s[-(n - 3):]


@main.command()
@click.option("--index", "index_path", required=True, help="Index directory.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@user_errors
def info(index_path: str, as_json: bool) -> None:
    """Print an index's parameters and sizes."""
    import dataclasses

    import orjson

    from dedupblock.store import IndexReader

    with IndexReader(index_path) as idx:
        sizes = idx.sizes()
        state = idx.state
        data = {
            "path": str(idx.path),
            "params": dataclasses.asdict(idx.params),
            "documents": state["docs"],
            "removed": len(idx.tombstones),
            "windows": state["windows"],
            "tokens": state["tokens"],
            "views": state.get("views", []),
            "segments": len(idx.segments),
            **sizes,
            "bytes_per_token": round(sizes["file_bytes"] / max(1, state["tokens"]), 2),
        }
    if as_json:
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        return
    p = data.pop("params")
    for k, v in data.items():
        click.echo(f"{k:>16}: {v}")
    click.echo(f"{'parameters':>16}: shingle={p['shingle']} window={p['window']} stride={p['stride']} "
               f"num_perm={p['num_perm']} bands={p['bands']} rows={p['rows']} threshold={p['threshold']} "
               f"seed={p['seed']}")
    click.echo(f"{'featurizers':>16}: " + ", ".join(f"{k}={v}" for k, v in p["featurizers"].items()))


@main.command()
@click.option("--index", "index_path", required=True, help="Index directory built by 'build-index build'.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
              help="Worker processes (they share the index through the page cache).")
@click.option("--upstream", default=None, metavar="URL",
              help="OpenAI-compatible upstream (e.g. http://127.0.0.1:8001/v1): also serve the filtering proxy.")
@click.option("--api-key-file", default=None, type=click.Path(dir_okay=False),
              help="File whose first line is the API key clients must send (else $DEDUPBLOCK_API_KEY; "
                   "neither = no authentication).")
@click.option("--max-body-bytes", type=click.IntRange(1), default=1 << 20, show_default=True,
              help="Largest request body accepted (413 above it).")
@click.option("--mode", type=click.Choice(["block", "redact", "annotate"]), default="block", show_default=True,
              help="What the proxy does with a copied output.")
@click.option("--stream-check-every", type=click.IntRange(0), default=16, show_default=True,
              help="Characters of a streamed choice between two checks.")
@click.option("--log-level", default="info", show_default=True, help="uvicorn log level.")
@policy_options
@user_errors
def serve(index_path: str, host: str, port: int, workers: int, upstream: str | None, api_key_file: str | None,
          max_body_bytes: int, mode: str, stream_check_every: int, log_level: str, **policy: Any) -> None:
    """Serve POST /v1/check, /healthz, /metrics (and the OpenAI-compatible proxy with --upstream)."""
    from dedupblock.service import ServiceConfig, serve as run
    from dedupblock.store import IndexReader

    IndexReader(index_path).close()  # refuse a bad index before starting workers
    cfg = ServiceConfig(index=str(index_path), policy={**policy, "mode": mode}, upstream=upstream,
                        api_key_file=api_key_file, max_body_bytes=max_body_bytes,
                        stream_check_every=stream_check_every)
    run(cfg, host=host, port=port, workers=workers, log_level=log_level)


if __name__ == "__main__":
    main()
