"""Index parameters: everything that must agree between build and query.

They are stored in the index (``meta/params``) and checked on open: an index
built by another featurizer version or another format is refused with a clear
message instead of silently matching nothing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from dedupblock.errors import IncompatibleIndexError
from dedupblock.lsh import resolve_bands

#: Bumped whenever the on-disk layout changes.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class IndexParams:
    """Sketching parameters of an index.

    ``shingle`` / ``code_shingle``: tokens per shingle (k) in the text and the
    code view (code tokens are denser and, with identifiers collapsed, far
    less distinctive: docs/code-normalisation.md).  ``window`` / ``stride``: shingles per
    MinHash window and the step between windows (``window % stride == 0``).
    ``num_perm``: signature length.  ``threshold``: Jaccard similarity of two
    windows at which LSH should start reporting them; ``bands`` x ``rows`` are
    derived from it unless given.
    """

    shingle: int = 5
    code_shingle: int = 8
    #: how the code view tokenises: "lexer" (default) or "tree-sitter" (docs/code-normalisation.md)
    code_engine: str = "lexer"
    window: int = 32
    stride: int = 8
    num_perm: int = 64
    threshold: float = 0.3
    bands: int = 0
    rows: int = 0
    seed: int = 1
    #: a shingle found in at least this many documents is boilerplate: it is
    #: never evidence of copying (MOSS's -m, Dolos' fingerprint filter)
    common_df: int = 40
    featurizers: dict[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.shingle < 1 or self.code_shingle < 1:
            raise ValueError("shingle size must be >= 1")
        if self.code_engine not in ("lexer", "tree-sitter"):
            raise ValueError(f"code engine must be 'lexer' or 'tree-sitter', got {self.code_engine!r}")
        if self.stride < 1 or self.window < self.stride or self.window % self.stride:
            raise ValueError("window must be a positive multiple of stride")
        b, r = resolve_bands(self.threshold, self.num_perm, self.bands, self.rows, fn_weight=0.7)
        object.__setattr__(self, "bands", b)
        object.__setattr__(self, "rows", r)

    def shingle_for(self, view: str) -> int:
        return self.code_shingle if view == "code" else self.shingle

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @staticmethod
    def from_json(raw: bytes) -> "IndexParams":
        data = json.loads(raw)
        if data.get("format_version") != FORMAT_VERSION:
            raise IncompatibleIndexError(
                f"index format {data.get('format_version')} is not supported by this dedupblock "
                f"(format {FORMAT_VERSION}); rebuild the index with 'build-index build'")
        known = set(IndexParams.__dataclass_fields__)
        return IndexParams(**{k: v for k, v in data.items() if k in known})

    def check_featurizers(self, available: dict[str, str]) -> None:
        """Refuse an index whose featurizer versions differ from the running code."""
        for view, version in self.featurizers.items():
            have = available.get(view)
            if have != version:
                raise IncompatibleIndexError(
                    f"index was built with featurizer {version!r} for view {view!r}, "
                    f"this dedupblock has {have!r}; rebuild the index")
