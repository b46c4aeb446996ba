"""What both command-line tools share: error reporting, JSONL output, progress bars."""

from __future__ import annotations

import functools
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterator, TypeVar

import click
import orjson

from dedupblock.errors import DedupblockError, InputError, StorageError

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def user_errors(fn: F) -> F:
    """Turn user mistakes into a one-line message and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DedupblockError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except BrokenPipeError:
            sys.stderr.close()  # reader went away (e.g. `| head`); not an error
            os._exit(0)
        except ValueError as exc:  # bad parameter values from the API layer
            fail(str(exc))
        except OSError as exc:
            if exc.errno == 28:
                fail(f"disk full: {exc.filename or ''}".strip(), StorageError.exit_code)
            fail(f"{exc.filename or ''}: {exc.strerror}" if exc.strerror else str(exc))

    return wrapper  # type: ignore[return-value]


@contextmanager
def jsonl_writer(path: str) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Write JSON lines to ``path`` (``-`` = stdout) atomically for files.

    A file is written next to its target and renamed into place at the end,
    so an interrupted run never leaves a truncated output that looks done.
    """
    if path == "-":
        out: IO[bytes] = sys.stdout.buffer

        def write(obj: dict[str, Any]) -> None:
            out.write(orjson.dumps(obj) + b"\n")

        yield write
        out.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{target} is a directory, expected an output file")
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        f = open(tmp, "wb")
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror}") from None
    try:
        with f:
            def write(obj: dict[str, Any]) -> None:
                f.write(orjson.dumps(obj) + b"\n")

            yield write
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def progress_bar(total: int | None, desc: str, unit: str = "docs") -> Any:
    """A tqdm bar on a terminal, nothing otherwise (logs stay clean)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not sys.stderr.isatty(), file=sys.stderr,
                dynamic_ncols=True)
