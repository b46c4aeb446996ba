"""The query path: candidates (LSH) -> verification -> attribution -> Verdict.

>>> blocker = Blocker("protected.idx")
>>> verdict = blocker.check(generated_text)
>>> verdict.blocked, verdict.match_id, verdict.matches[0].spans[0].output
"""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np

from dedupblock.featurize.route import Router
from dedupblock.featurize.tokens import Tokens
from dedupblock.policy import Policy
from dedupblock.postings import lookup, top_documents
from dedupblock.sketch import Sketcher
from dedupblock.store import IndexReader
from dedupblock.verdict import Match, Span, Verdict
from dedupblock.verify import comment_agreement, comment_shingles, parameter_agreement, verify_document

#: documents taken per band key; a key shared by more is boilerplate
MAX_POSTINGS = 256
#: cap on candidate postings gathered for one query view
HIT_BUFFER = 1 << 18
#: documents up to which candidates are counted in a per-document array (64 MB of scratch)
MAX_COUNT_SLOTS = 1 << 24


class Blocker:
    """Checks outputs against one index under one :class:`Policy`.

    A ``Blocker`` is cheap to call and not thread-safe (it reuses buffers and
    refreshes its reader's snapshot between checks): give each thread its own,
    opened from the same path.  Every reader of an index, in any thread or
    process, shares one copy of it through the page cache.
    """

    def __init__(self, index: IndexReader | str | os.PathLike, policy: Policy | None = None, *,
                 refresh_interval: float | None = 1.0) -> None:
        self.index = index if isinstance(index, IndexReader) else IndexReader(index)
        #: seconds between looks for a newer snapshot (``None``: keep the first one)
        self.refresh_interval = refresh_interval
        self._last_refresh = time.monotonic()
        self.policy = policy or Policy()
        self.params = self.index.params
        self.router = Router(seed=self.params.seed, views=set(self.params.featurizers),
                             code_engine=self.params.code_engine)
        self.params.check_featurizers(self.router.versions())
        self.sketcher = Sketcher(self.params)
        self._hits = np.empty(HIT_BUFFER, dtype=np.uint32)
        # scratch of top_documents: a hit count per document number, and the documents hit
        self._doc_counts = np.zeros(0, dtype=np.uint32)
        self._touched = np.empty(HIT_BUFFER, dtype=np.uint32)

    # -- public API ---------------------------------------------------------
    def check(self, text: str, lang: str | None = None) -> Verdict:
        """Verdict for one output; ``lang`` is a hint ("python", "text", ...)."""
        if self.refresh_interval is not None:
            now = time.monotonic()
            if now - self._last_refresh >= self.refresh_interval:
                self._last_refresh = now
                self.index.refresh()
        text_view = self.router.text.featurize(text)
        found = self._match_view("text", text_view)
        # The code view costs as much as the rest of a check (lexing); an output
        # that the text view already blocks needs no second opinion.
        if not any(m.rule for m in found):
            code = self.router.query_code(text, lang)
            if code is not None:
                found += self._match_view("code", code, context=text_view)
        best: dict[str, Match] = {}
        for m in found:
            old = best.get(m.doc_id)
            if old is None or m.rank_key() > old.rank_key():
                best[m.doc_id] = m
        matches = sorted(best.values(), key=Match.rank_key, reverse=True)
        top = matches[0] if matches else None
        return Verdict(
            blocked=bool(top and top.rule),
            score=top.similarity if top else 0.0,
            match_id=top.doc_id if top else None,
            matches=matches,
            rule=top.rule if top else None,
        )

    # -- internals ----------------------------------------------------------
    def candidates(self, view: str, token_hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(candidate doc numbers, most LSH hits first; the query's shingles)``."""
        sk = self.sketcher.sketch(token_hashes, view)
        return self._candidates_from_keys(sk.keys.ravel()), sk.shingles

    def _candidates_from_keys(self, qkeys: np.ndarray) -> np.ndarray:
        n = 0
        for seg in self.index.segments:
            n = lookup(seg.keys, seg.docs, seg.dirs, qkeys, MAX_POSTINGS, self._hits, n)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        size = int(self._hits[:n].max()) + 1
        if not self.index.tombstones and size <= MAX_COUNT_SLOTS:
            if size > self._doc_counts.shape[0]:  # the index grew (or first use)
                self._doc_counts = np.zeros(min(MAX_COUNT_SLOTS, max(size, 2 * self._doc_counts.shape[0])),
                                            dtype=np.uint32)
            return top_documents(self._hits, n, self.policy.max_candidates, self._doc_counts, self._touched)
        # tombstones, or an index too large for a count per document: sort the hits
        docs, counts = np.unique(self._hits[:n], return_counts=True)
        alive = np.array([d not in self.index.tombstones for d in docs.tolist()], dtype=bool)
        docs, counts = docs[alive], counts[alive]
        order = np.argsort(-counts, kind="stable")[: self.policy.max_candidates]
        return docs[order].astype(np.int64)

    def _match_view(self, view: str, tokens: Tokens, context: Tokens | None = None) -> list[Match]:
        """Verified matches of one view of the output.

        ``context``: the output's text view, with which a code-view region that
        fires is checked for comments that disagree with its source
        (:func:`dedupblock.verify.comment_agreement`).
        """
        if len(tokens) == 0:
            return []
        docs, q_sh = self.candidates(view, tokens.hashes)
        q_order = np.argsort(q_sh) if docs.shape[0] else q_sh  # once per view, for every candidate
        k = self.params.shingle_for(view)
        max_gap = 2 * k + 2  # two nearby edits break up to 2k shingles
        common = self.index.common[view]
        comments = _CommentEvidence(self, tokens, context) if view == "code" and context is not None else None
        out = []
        for docno in docs.tolist():
            vd = self.index.view(docno, view)
            if vd is None:
                continue
            pos, rows = verify_document(q_sh, q_order, tokens.starts, tokens.ends, vd.sorted_hashes, vd.positions, k,
                                        max_gap, self.policy.min_match_chars, common)
            if rows.shape[0] == 0:
                continue
            nq, ns = len(tokens), int(vd.starts.shape[0])
            spans: list[Span] = []
            for qf, ql, sf, sl, _hits, cq, cs, longest, q_last_tok, out_start, out_end, distinct in rows.tolist():
                s_last_tok = min(sl + k - 1, ns - 1)
                q_len, s_len = q_last_tok - qf + 1, s_last_tok - sf + 1
                cq, cs = min(cq, q_len), min(cs, s_len)
                agreement = None
                verbatim = False
                if tokens.raw is not None and vd.raw is not None:
                    support, params, identical = parameter_agreement(tokens.hashes, tokens.raw, vd.raw, pos, qf, ql, k)
                    agreement = support / params if params >= 3 else 1.0
                    verbatim = identical == params
                spans.append(Span(
                    output=(out_start, out_end),
                    source=(int(vd.starts[sf]), int(vd.ends[s_last_tok])),
                    similarity=(cq + cs) / (q_len + s_len),
                    containment=cq / q_len,
                    tokens=q_len,
                    # Repetitive material (tables of literals, runs of similar
                    # lines) and boilerplate (shingles common to many protected
                    # documents) are weak evidence however long: only distinct,
                    # uncommon matched shingles count.
                    exact_run=min(longest, q_len, distinct + k - 1),
                    output_tokens=nq,
                    distinct=distinct,
                    agreement=agreement,
                    verbatim=verbatim,
                ))
            if comments is not None:
                spans = [comments.judge(sp, docno, k) for sp in spans]
            rules = [self.policy.rule(sp, view, k) for sp in spans]
            fired = [(sp, r) for sp, r in zip(spans, rules) if r]
            if fired:  # every firing region is reported, for redaction and attribution
                fired.sort(key=lambda x: x[0].output)
                spans = [sp for sp, _ in fired]
                rule = fired[0][1] if all(r == fired[0][1] for _, r in fired) else "exact_run"
                best_sp = max(spans, key=lambda sp: (sp.similarity * sp.tokens))
            else:
                best_sp = max(spans, key=lambda sp: (sp.similarity * sp.tokens))
                spans = [best_sp]
                rule = None
            meta = self.index.doc_meta(docno)
            out.append(Match(doc_id=meta["id"], similarity=best_sp.similarity,
                             containment=best_sp.containment, spans=spans, view=view,
                             source=meta.get("source"), license=meta.get("license"),
                             lang=meta.get("lang"), rule=rule))
        return out


class _CommentEvidence:
    """Comment agreement of the code-view regions of one output, computed when a region would fire."""

    def __init__(self, blocker: Blocker, code: Tokens, text: Tokens) -> None:
        self.blocker, self.code, self.text = blocker, code, text
        #: the output's comment shingles with their char spans, computed on first use
        self._comments: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def _all(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._comments is None:
            t, b = self.text, self.blocker
            sh = b.sketcher.shingles(t.hashes, "text")
            self._comments = comment_shingles(t.starts, t.ends, sh, self.code.starts, self.code.ends,
                                              b.params.shingle_for("text"))
        return self._comments

    def judge(self, sp: Span, docno: int, k_code: int) -> Span:
        """``sp`` with its comment agreement, if it would fire and holds comments."""
        b = self.blocker
        if b.policy.rule(sp, "code", k_code) is None:
            return sp  # does not fire anyway: no need to look at comments
        hashes, starts, ends = self._all()
        if hashes.shape[0] == 0:
            return sp
        s, e = sp.output
        mine = hashes[(starts >= s) & (ends <= e)]
        vd = b.index.view(docno, "text")
        if vd is None:
            return sp
        ag = comment_agreement(mine, vd.sorted_hashes, vd.positions, vd.starts, sp.source[0], sp.source[1])
        return sp if ag is None else dataclasses.replace(sp, comments=ag)
