"""dedupblock: a near-duplicate output blocker for intellectual-property protection.

Data flows one way: readers -> featurizers -> shingles -> windowed MinHash ->
LSH band keys -> index (LMDB) -> candidates -> verification -> Verdict.
"""

from dedupblock.blocker import Blocker
from dedupblock.policy import Policy
from dedupblock.store import IndexReader
from dedupblock.verdict import Match, Span, Verdict

__version__ = "0.1.0"

__all__ = ["Blocker", "Policy", "IndexReader", "Match", "Span", "Verdict", "__version__"]
