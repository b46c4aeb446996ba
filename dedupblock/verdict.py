"""What a check answers: ids, scores, licences and offsets, never protected text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Span:
    """One matched region: ``output`` and ``source`` are ``[start, end)`` char offsets."""

    output: tuple[int, int]
    source: tuple[int, int]
    similarity: float
    containment: float
    tokens: int  # tokens of the output in the region
    exact_run: int = 0  # longest run of tokens copied exactly
    output_tokens: int = 0  # tokens of the whole output (or stream so far)
    distinct: int = 0  # distinct matched shingles in the region
    #: code view: how consistently the parameters (identifiers, literals) correspond
    agreement: float | None = None
    #: code view: share of the region's comment shingles found near the source
    #: region (None: too few comments to tell; see dedupblock.verify.comment_agreement)
    comments: float | None = None
    #: code view: every identifier and literal of the region is spelled as in the source
    verbatim: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"output": list(self.output), "source": list(self.source),
                "similarity": round(self.similarity, 4), "containment": round(self.containment, 4),
                "tokens": self.tokens, "exact_run": self.exact_run,
                **({} if self.agreement is None else {"agreement": round(self.agreement, 4)}),
                **({} if self.comments is None else {"comment_agreement": round(self.comments, 4)})}


@dataclass
class Match:
    """A protected document that the output copies from, with where and how much."""

    doc_id: str
    similarity: float  # best region's verified similarity
    containment: float  # best region's containment of the output passage in the source
    spans: list[Span]
    view: str  # "text" or "code": which featurization matched
    source: str | None = None
    license: str | None = None
    lang: str | None = None
    #: the policy rule this match fired ("exact_run", "near_copy"), None if below it
    rule: str | None = None

    def rank_key(self) -> tuple[bool, float, int]:
        """Firing matches first, then by similarity, then by matched length."""
        return (self.rule is not None, self.similarity, sum(s.tokens for s in self.spans))

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "similarity": round(self.similarity, 4),
            "containment": round(self.containment, 4),
            "source": self.source,
            "license": self.license,
            "lang": self.lang,
            "view": self.view,
            "rule": self.rule,
            "spans": [s.to_dict() for s in self.spans],
        }


@dataclass
class Verdict:
    """The answer to one check.  ``rule`` names the policy rule that fired, if any."""

    blocked: bool
    score: float
    match_id: str | None
    matches: list[Match] = field(default_factory=list)
    rule: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "blocked": self.blocked,
            "score": round(self.score, 4),
            "match_id": self.match_id,
            "rule": self.rule,
            "matches": [m.to_dict() for m in self.matches],
        }


__all__ = ["Span", "Match", "Verdict"]
