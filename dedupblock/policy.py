"""Policy: when a verified match counts as copying, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass

from dedupblock.verdict import Span

MODES = ("block", "redact", "annotate")


@dataclass(frozen=True)
class Policy:
    """Thresholds of the decision, and what to do when it fires.

    A matched region (see :mod:`dedupblock.verify`) fires when it spans at
    least ``min_match_chars`` characters of the output and either

    * ``exact_run``: it contains a run of at least ``min_exact_tokens``
      tokens copied exactly (after normalisation): a verbatim copy, however
      long the output around it; or
    * ``near_copy``: its verified similarity is at least ``threshold`` and it
      makes up at least ``near_copy_fraction`` of the output's tokens or is at
      least ``near_copy_chars`` long: a lightly edited copy.

    In the ``code`` view (identifiers and literals normalised) a run is only
    evidence if the parameters correspond as a consistent renaming
    (``span.agreement >= code_min_agreement``, see
    :func:`dedupblock.verify.parameter_agreement`) and, when the region holds
    comments, they are found near the source region
    (``span.comments >= code_min_comment_agreement``, see
    :func:`dedupblock.verify.comment_agreement`: same structure with other
    comments is independently written code), and lengths are counted in
    code tokens (a string literal is one token).  How long a renaming-tolerant
    match must be depends on how much of the output's code it covers:

    * a region that is most of the output's code (``near_copy_fraction``): an
      exact run of ``code_min_exact_tokens``, or a near copy of at least
      ``code_min_tokens`` tokens and as many tokens of distinct material: the
      output *is* a (renamed, lightly edited) copy;
    * a region inside a longer output: an exact run of
      ``code_min_embedded_run`` tokens (``code_min_exact_tokens`` if every
      identifier and literal of the region is spelled as in the source:
      ``span.verbatim``), or a near copy of five times
      ``code_min_exact_tokens``.  Independent files of one project share
      renamed 4-6 line fragments (the same ``try``/``finally`` around other
      names, two fixers of one framework): as part of a longer output such a
      fragment is an idiom, not a copy.  A verbatim copy is caught by the
      text view at its own, shorter, run length as well; the verbatim
      exception here covers code whose text alignment breaks (an indexed file
      that repeats the same comment for every overload).

    Shared runs shorter than that are idioms, licence lines and boilerplate;
    the defaults are in the spirit of GitHub Copilot's public-code filter
    (about 150 characters / 65 lexemes) and were chosen on the development set
    (docs/quality.md): the span is measured from the first to the last matched
    token, so a 150-character passage usually matches over ~130 characters.
    """

    threshold: float = 0.8
    min_match_chars: int = 120
    min_exact_tokens: int = 25
    near_copy_fraction: float = 0.5
    near_copy_chars: int = 600
    code_min_exact_tokens: int = 28
    code_min_tokens: int = 20
    code_min_embedded_run: int = 45
    code_min_agreement: float = 0.3
    code_min_comment_agreement: float = 0.3
    mode: str = "block"
    #: documents verified per view and query (most LSH hits first)
    max_candidates: int = 3

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        if not 0.0 <= self.code_min_agreement <= 1.0:
            raise ValueError(f"code_min_agreement must be in [0, 1], got {self.code_min_agreement}")
        if not 0.0 <= self.code_min_comment_agreement <= 1.0:
            raise ValueError(f"code_min_comment_agreement must be in [0, 1], got {self.code_min_comment_agreement}")
        if not 0.0 <= self.near_copy_fraction <= 1.0:
            raise ValueError(f"near_copy_fraction must be in [0, 1], got {self.near_copy_fraction}")
        if min(self.min_match_chars, self.min_exact_tokens, self.near_copy_chars, self.code_min_exact_tokens,
               self.code_min_tokens, self.code_min_embedded_run) < 0:
            raise ValueError("minimum match lengths must be >= 0")
        if self.max_candidates < 1:
            raise ValueError("max_candidates must be >= 1")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")

    def rule(self, span: Span, view: str = "text", shingle: int = 5) -> str | None:
        """The rule that ``span`` fires (``"exact_run"``, ``"near_copy"``) or ``None``.

        ``shingle`` is the view's shingle size (distinct shingles -> tokens).
        """
        chars = span.output[1] - span.output[0]
        if chars < self.min_match_chars:
            return None
        near = span.similarity >= self.threshold
        if view == "code":
            if span.agreement is not None and span.agreement < self.code_min_agreement:
                return None
            if span.comments is not None and span.comments < self.code_min_comment_agreement:
                return None
            most = span.tokens >= self.near_copy_fraction * span.output_tokens
            short_run_ok = most or span.verbatim  # a verbatim copy, names included, is no idiom
            if span.exact_run >= (self.code_min_exact_tokens if short_run_ok else self.code_min_embedded_run):
                return "exact_run"
            material = min(span.tokens, span.distinct + shingle - 1)
            need = self.code_min_tokens if most else 5 * self.code_min_exact_tokens
            if near and span.tokens >= need and material >= min(need, self.code_min_exact_tokens):
                return "near_copy"
            return None
        if span.exact_run >= self.min_exact_tokens:
            return "exact_run"
        if near and (span.tokens >= self.near_copy_fraction * span.output_tokens or chars >= self.near_copy_chars):
            return "near_copy"
        return None
