"""Text featurizer: Unicode folding, then word tokens with offsets into the original."""

from __future__ import annotations

import numpy as np

from dedupblock.featurize.normalize import fold
from dedupblock.featurize.tokens import Tokens, codepoints, word_tokens


class TextFeaturizer:
    """Word tokens (``\\w+`` runs and single punctuation marks) of folded text.

    Token hashes are XXH64 of the folded token (seeded by ``seed``), so two
    texts that differ only by case, homoglyphs, zero-width characters,
    compatibility forms or whitespace produce the same hash sequence.
    """

    name = "text"
    version = "text-1"

    def __init__(self, seed: int = 0) -> None:
        self.seed = np.uint64(seed)

    def featurize(self, text: str, lang: str | None = None) -> Tokens:
        folded = fold(text)
        hashes, starts, ends = word_tokens(codepoints(folded.text), self.seed)
        if folded.origin is not None:
            # Map folded offsets back to the original string.
            origin = folded.origin
            starts = origin[starts]
            ends = origin[ends - 1] + 1
        return Tokens(hashes, starts, ends)
