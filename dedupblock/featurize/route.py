"""Which views a document or an output gets, and their token streams.

* Every text gets the ``text`` view (folded word tokens): a verbatim or lightly
  edited copy is found whatever the text is.
* Code gets the ``code`` view too (identifiers and literals normalised, comments
  dropped), which catches copies with renamed variables.  A corpus document is
  code when its ``lang`` (or file extension, for directory inputs) names a
  supported language, or, without a ``lang``, when its content looks like code.
  An output is code when the caller says so, when it looks like code, or in the
  parts that are fenced Markdown code blocks; each block is featurized on its
  own, with its offsets mapped back to the full output.
"""

from __future__ import annotations

from dedupblock.featurize.code import CodeFeaturizer
from dedupblock.featurize.lang import CODE_LANGS, canonical_lang, detect_lang, split_markdown
from dedupblock.featurize.text import TextFeaturizer
from dedupblock.featurize.tokens import Tokens

ALL_VIEWS = ("text", "code")
_NOT_CODE = {"text", "prose", "markdown", "md", "plain", "plaintext", "txt"}


class Router:
    """Featurizes documents (for the index) and outputs (for checks) per view."""

    def __init__(self, seed: int = 0, views: set[str] | None = None, code_engine: str = "lexer") -> None:
        self.enabled = set(ALL_VIEWS) if views is None else set(views) & set(ALL_VIEWS)
        self.text = TextFeaturizer(seed)
        self.code = CodeFeaturizer(seed, engine=code_engine)

    def versions(self) -> dict[str, str]:
        """Featurizer versions of the enabled views (stored in and checked against the index)."""
        code = self.code.version + ("" if self.code.engine == "lexer" else f"+{self.code.engine}")
        have = {"text": self.text.version, "code": code}
        return {v: have[v] for v in sorted(self.enabled)}

    @staticmethod
    def code_lang(text: str, lang: str | None) -> str | None:
        """The code language of a whole text: from the hint, else from its content."""
        if lang is not None:
            if lang.strip().lower() in _NOT_CODE:
                return None
            known = canonical_lang(lang)
            if known is not None:
                return known
        return detect_lang(text)

    def doc_views(self, text: str, lang: str | None = None) -> dict[str, Tokens]:
        views = {"text": self.text.featurize(text)}
        code = self.doc_code(text, lang)
        if code is not None:
            views["code"] = code
        return views

    def doc_code(self, text: str, lang: str | None = None) -> Tokens | None:
        """The code view of a corpus document, or ``None`` when it is not code (or the view is off)."""
        if "code" not in self.enabled:
            return None
        code_lang = self.code_lang(text, lang)
        return self.code.featurize(text, code_lang) if code_lang in CODE_LANGS else None

    def query_views(self, text: str, lang: str | None = None) -> dict[str, Tokens]:
        views = {"text": self.text.featurize(text)}
        code = self.query_code(text, lang)
        if code is not None:
            views["code"] = code
        return views

    def query_code(self, text: str, lang: str | None = None) -> Tokens | None:
        """The code view of an output, or ``None`` when it holds no code."""
        if "code" not in self.enabled:
            return None
        code: Tokens | None = None
        if "```" in text or "~~~" in text:
            blocks = [s for s in split_markdown(text) if s.is_code]
            if blocks:
                hint = canonical_lang(lang) if lang else None
                parts = []
                for seg in blocks:
                    body = text[seg.start:seg.end]
                    seg_lang = seg.lang or hint or detect_lang(body)
                    if seg_lang in CODE_LANGS:
                        parts.append(self.code.featurize(body, seg_lang).shifted(seg.start))
                code = Tokens.concat(parts) if parts else None
        if code is None:
            code_lang = self.code_lang(text, lang)
            if code_lang in CODE_LANGS:
                code = self.code.featurize(text, code_lang)
        return code if code is not None and len(code) else None
