"""Which views a document or an output gets, and their token streams."""

from __future__ import annotations

from dedupblock.featurize.text import TextFeaturizer
from dedupblock.featurize.tokens import Tokens


class Router:
    """Featurizes documents (for the index) and outputs (for checks) per view."""

    def __init__(self, seed: int = 0, views: set[str] | None = None) -> None:
        self.text = TextFeaturizer(seed)
        self.enabled = {"text"} if views is None else set(views)

    def versions(self) -> dict[str, str]:
        return {"text": self.text.version}

    def doc_views(self, text: str, lang: str | None = None) -> dict[str, Tokens]:
        return {"text": self.text.featurize(text)}

    def query_views(self, text: str, lang: str | None = None) -> dict[str, Tokens]:
        return {"text": self.text.featurize(text)}
