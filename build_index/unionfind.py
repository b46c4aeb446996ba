"""Union-find (disjoint sets) and connected components in numba.

The forest is a plain ``int64[n]`` parent array, so it can be kept in memory
for hundreds of millions of nodes (8 bytes each) or memory-mapped.  The root
of every set is its *smallest* member: unions always attach the larger root
under the smaller one.  That makes :func:`components` canonical (the label of
a node is the smallest node of its component, whatever the edge order), which
is what lets the local and the Ray engines agree bit for bit.  Finds use path
halving, so long chains flatten as they are walked.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def new_forest(n: int) -> np.ndarray:
    """``n`` singletons."""
    return np.arange(n, dtype=np.int64)


@njit(cache=True, nogil=True, inline="always")
def find(parent, x):
    """Root of ``x`` (path halving)."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True, nogil=True)
def union(parent, a, b):
    """Join the sets of ``a`` and ``b``; True if they were separate."""
    ra = find(parent, a)
    rb = find(parent, b)
    if ra == rb:
        return False
    if ra < rb:
        parent[rb] = ra
    else:
        parent[ra] = rb
    return True


@njit(cache=True, nogil=True)
def union_edges(parent, a, b):
    """Union every edge ``(a[i], b[i])``; returns the number of merges."""
    merges = 0
    for i in range(a.shape[0]):
        if union(parent, a[i], b[i]):
            merges += 1
    return merges


@njit(cache=True, nogil=True)
def separate(parent, a, b):
    """``bool[m]``: edge ``i`` joins two different sets *now* (no union)."""
    out = np.empty(a.shape[0], dtype=np.bool_)
    for i in range(a.shape[0]):
        out[i] = find(parent, a[i]) != find(parent, b[i])
    return out


@njit(cache=True, nogil=True)
def labels(parent):
    """Flatten: ``label[i]`` = root of ``i`` = smallest node of its component."""
    n = parent.shape[0]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        out[i] = find(parent, i)
    return out


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of the graph on ``0..n-1`` with edges ``(a[i], b[i])``.

    Returns ``int64[n]``: the smallest node of each node's component.
    """
    parent = new_forest(n)
    union_edges(parent, np.ascontiguousarray(a, dtype=np.int64), np.ascontiguousarray(b, dtype=np.int64))
    return labels(parent)


__all__ = ["new_forest", "find", "union", "union_edges", "separate", "labels", "components"]
