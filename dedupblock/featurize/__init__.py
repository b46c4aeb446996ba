"""Featurizers turn text into :class:`Tokens` (hashes + character spans).

A *view* is one way of looking at a document; the index stores every document
under each view that applies to it, and a query is matched view against view.

* ``text``: folded word tokens; applies to every document.
* ``code``: identifier-normalised tokens from tree-sitter (see ``code.py``);
  applies to documents in a supported programming language.
"""

from __future__ import annotations

from dedupblock.featurize.text import TextFeaturizer
from dedupblock.featurize.tokens import Tokens

__all__ = ["TextFeaturizer", "Tokens"]
