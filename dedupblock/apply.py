"""Turning a :class:`~dedupblock.verdict.Verdict` into what the caller may release.

``apply_policy(text, verdict, policy)`` returns a :class:`Decision` according
to ``policy.mode``:

* ``block``: a firing verdict suppresses the output (``text`` is ``None``,
  ``reason`` says why);
* ``redact``: every copied span of every firing match is replaced by a marker
  (default ``"[REDACTED: <doc_id> <license>]"``); overlapping or touching
  spans are merged into one marker that names every document involved;
* ``annotate``: the text passes unchanged, with an attribution per copied span
  (document id, source, licence, output span, source span).

A verdict that does not fire passes the text unchanged in every mode.  The
decision only ever carries ids, licences, scores and offsets of the protected
documents, never their text (the index does not hold it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dedupblock.policy import MODES, Policy
from dedupblock.verdict import Verdict

DEFAULT_MARKER = "[REDACTED: {doc_id} {license}]"


@dataclass(frozen=True)
class Attribution:
    """One copied span: where it is in the output and where it comes from."""

    doc_id: str
    source: str | None
    license: str | None
    output: tuple[int, int]  # [start, end) chars of the output
    source_span: tuple[int, int]  # [start, end) chars of the protected document
    similarity: float
    rule: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "source": self.source, "license": self.license,
                "output": list(self.output), "source_span": list(self.source_span),
                "similarity": round(self.similarity, 4), "rule": self.rule}


@dataclass
class Decision:
    """What to do with one output.

    ``fired``: the policy fired (some match is a copy).  ``blocked``: the
    output is suppressed (``mode == "block"`` and fired).  ``text``: what may
    be released (``None`` when blocked).  ``rule``: the rule that fired
    (``"exact_run"`` / ``"near_copy"``).
    """

    mode: str
    fired: bool
    text: str | None
    rule: str | None = None
    match_id: str | None = None
    score: float = 0.0
    reason: str | None = None
    attributions: list[Attribution] = field(default_factory=list)
    #: merged ``[start, end)`` output ranges replaced in redact mode
    redacted: list[tuple[int, int]] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return self.fired and self.mode == "block"

    def to_dict(self) -> dict[str, Any]:
        """The decision without the released text (for headers, logs, response fields)."""
        d: dict[str, Any] = {"mode": self.mode, "fired": self.fired, "blocked": self.blocked,
                             "rule": self.rule, "match_id": self.match_id, "score": round(self.score, 4)}
        if self.reason:
            d["reason"] = self.reason
        if self.attributions:
            d["attributions"] = [a.to_dict() for a in self.attributions]
        if self.redacted:
            d["redacted"] = [list(r) for r in self.redacted]
        return d


def attributions(verdict: Verdict) -> list[Attribution]:
    """One attribution per span of every firing match, in output order."""
    out = [Attribution(m.doc_id, m.source, m.license, sp.output, sp.source, sp.similarity, m.rule)
           for m in verdict.matches if m.rule for sp in m.spans]
    out.sort(key=lambda a: (a.output, a.doc_id))
    return out


def merge_spans(atts: list[Attribution], text_len: int | None = None
                ) -> list[tuple[int, int, list[Attribution]]]:
    """Merge overlapping or touching output spans: ``(start, end, contributors)``."""
    merged: list[tuple[int, int, list[Attribution]]] = []
    for a in sorted(atts, key=lambda a: a.output):
        s, e = a.output
        if text_len is not None:
            s, e = max(0, min(s, text_len)), max(0, min(e, text_len))
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            ps, pe, who = merged[-1]
            merged[-1] = (ps, max(pe, e), who + [a])
        else:
            merged.append((s, e, [a]))
    return merged


def _marker(who: list[Attribution], marker: str) -> str:
    """One marker for a merged span, naming every document (and licence) involved."""
    ids: list[str] = []
    lics: list[str] = []
    for a in who:
        if a.doc_id not in ids:
            ids.append(a.doc_id)
        lic = a.license or "unknown-license"
        if lic not in lics:
            lics.append(lic)
    return marker.format(doc_id=", ".join(ids), license=", ".join(lics))


def redact(text: str, atts: list[Attribution], marker: str = DEFAULT_MARKER, start: int = 0
           ) -> tuple[str, list[tuple[int, int]]]:
    """``text`` with every (merged) attributed span replaced by a marker.

    ``start`` is the offset of ``text`` in the output the spans refer to (for
    redacting the unreleased tail of a stream); spans are clipped to it.
    """
    parts: list[str] = []
    done: list[tuple[int, int]] = []
    pos = 0
    for s, e, who in merge_spans(atts):
        s, e = max(s - start, 0), min(e - start, len(text))
        if e <= s or s < pos:
            continue
        parts.append(text[pos:s])
        parts.append(_marker(who, marker))
        done.append((s + start, e + start))
        pos = e
    parts.append(text[pos:])
    return "".join(parts), done


def apply_policy(text: str, verdict: Verdict, policy: Policy | None = None, *,
                 marker: str = DEFAULT_MARKER) -> Decision:
    """The :class:`Decision` for ``text`` given its ``verdict``, by ``policy.mode``."""
    mode = (policy or Policy()).mode
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    base = dict(mode=mode, fired=bool(verdict.blocked), rule=verdict.rule, match_id=verdict.match_id,
                score=verdict.score)
    if not verdict.blocked:
        return Decision(text=text, **base)
    atts = attributions(verdict)
    if mode == "block":
        return Decision(text=None, reason=f"output copies protected document {verdict.match_id!r} "
                                          f"(rule {verdict.rule})", attributions=atts, **base)
    if mode == "redact":
        out, done = redact(text, atts, marker)
        return Decision(text=out, attributions=atts, redacted=done,
                        reason=f"{len(done)} copied span(s) redacted", **base)
    return Decision(text=text, attributions=atts, **base)


__all__ = ["Attribution", "Decision", "apply_policy", "attributions", "merge_spans", "redact", "DEFAULT_MARKER"]
