"""Errors a user can cause: each carries a one-line message for the CLI."""

from __future__ import annotations


class DedupblockError(Exception):
    """Base class; ``str(err)`` is the one-line message shown to the user."""

    exit_code = 2


class InputError(DedupblockError):
    """Malformed input: bad JSONL, missing fields, invalid UTF-8, binary data."""


class BadIndexError(DedupblockError):
    """A path that is not an index, or an index that is incomplete or corrupt."""


class IncompatibleIndexError(BadIndexError):
    """An index built with other parameters or another featurizer version."""


class StorageError(DedupblockError):
    """The disk is full, the LMDB map is exhausted, or the index cannot be written."""

    exit_code = 3
