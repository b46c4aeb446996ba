"""Checking a generation while it streams: release only what cannot complete a copy.

>>> guard = StreamGuard(blocker)
>>> for chunk in model_stream:
...     send(guard.feed(chunk))        # text that is safe to show now
...     if guard.blocked: break
>>> send(guard.finish())               # the rest, unless the end completes a copy

How it decides what is safe (see docs/inline-filter.md for the guarantee):

* Every check scans the last ``window_chars`` characters of the output with
  the same LSH + verification as :meth:`Blocker.check`, but keeps *every*
  matched region (not only those that fire), and evaluates the policy on them
  itself.
* A region that fires a rule that cannot be undone by later text
  (``exact_run``, or ``near_copy`` by length: ``>= near_copy_chars``) blocks
  the stream at once.
* Text is released only up to the earliest of

  - the tail: the last ``hold_chars`` characters and the last ``hold_tokens``
    tokens are held back (a copy is only recognised once about one MinHash
    window of it, ``window + shingle - 1`` tokens, is buffered, and an
    exact run only fires at ``min_exact_tokens``);
  - the start of every *live* region: one that would fire if the output ended
    now (``near_copy`` by fraction of the output, which more text can undo),
    or one that is still open (ends within ``max_gap + shingle`` tokens of
    the end, so it may still grow) and could still fire (shorter than
    ``near_copy_chars`` or similarity within ``live_margin`` of the
    threshold).  A live region is held for at most ``max_hold_chars``.

* :meth:`finish` runs the ordinary :meth:`Blocker.check` on the whole output,
  so the final decision is the non-streaming one (an early block is only
  taken on rules that the full text fires as well).

Modes: ``block`` stops releasing at the first firing region; ``annotate``
releases everything at once (nothing is withheld) and attributes at the end;
``redact`` stops releasing at the first firing region and, at :meth:`finish`,
releases the rest with every copied span replaced by a marker.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import time
from typing import Any

import numpy as np

from dedupblock.apply import DEFAULT_MARKER, Decision, apply_policy, attributions, redact
from dedupblock.blocker import Blocker
from dedupblock.policy import Policy
from dedupblock.verdict import Match, Span, Verdict


class StreamGuard:
    """Incremental policy check of one streamed output (one choice)."""

    def __init__(self, blocker: Blocker, policy: Policy | None = None, lang: str | None = None, *,
                 window_chars: int = 4096, hold_chars: int | None = None, hold_tokens: int | None = None,
                 check_every: int = 0, live_margin: float = 0.1, max_hold_chars: int | None = None,
                 confirm_every: int = 1024, marker: str = DEFAULT_MARKER) -> None:
        self.blocker = blocker
        self.policy = policy or blocker.policy
        self.lang = lang
        self.marker = marker
        p, ip = self.policy, blocker.params
        self.hold_chars = p.min_match_chars if hold_chars is None else hold_chars
        self.window_chars = max(window_chars, 2 * (p.near_copy_chars + self.hold_chars))
        self.check_every = check_every
        self.confirm_every = confirm_every
        self._confirm_after = 0  # no whole-text confirmation before this length
        self.live_margin = live_margin
        self.max_hold_chars = 4 * p.near_copy_chars if max_hold_chars is None else max_hold_chars
        # per view: one MinHash window of shingles must be buffered before LSH can
        # see a copy; a region stays open while new hits may still join it
        self.hold_tokens: dict[str, int] = {}
        self.open_tokens: dict[str, int] = {}
        for view in ("text", "code"):
            k = ip.shingle_for(view) if hasattr(ip, "shingle_for") else ip.shingle
            need = getattr(p, "code_min_exact_tokens", p.min_exact_tokens) if view == "code" else p.min_exact_tokens
            self.hold_tokens[view] = (max(need, ip.window + k - 1) + 2 * k + 2
                                      if hold_tokens is None else hold_tokens)
            self.open_tokens[view] = 2 * k + 2 + k  # verify's max_gap (2k + 2) plus one shingle
        self._shingle = {v: (ip.shingle_for(v) if hasattr(ip, "shingle_for") else ip.shingle)
                         for v in ("text", "code")}
        # The scan keeps every region: a policy under which each one fires (rules are then
        # evaluated here with the real policy, per view).
        fields = {f.name for f in dataclasses.fields(p)}
        loosen = {"min_match_chars": 0, "min_exact_tokens": 0, "code_min_exact_tokens": 0,
                  "code_min_tokens": 0, "code_min_embedded_run": 0, "code_min_agreement": 0.0,
                  "code_min_comment_agreement": 0.0, "mode": "annotate"}
        self._scan_policy = dataclasses.replace(p, **{k: v for k, v in loosen.items() if k in fields})
        try:
            self._rule_per_view = len(inspect.signature(p.rule).parameters) >= 2
        except (TypeError, ValueError):
            self._rule_per_view = False
        self._buf = io.StringIO()  # O(1) appends and O(n) slices, however long the output
        self._len = 0
        self.released = 0  # characters released so far
        self.fired = False  # a rule fired (stream stopped releasing)
        self.finished = False
        self.verdict: Verdict | None = None
        self.decision: Decision | None = None
        self.checks = 0
        self.check_seconds = 0.0
        self._last_check = -1
        self._tail = ""  # what finish() released

    # -- public API ---------------------------------------------------------
    @property
    def blocked(self) -> bool:
        """The output is suppressed from here on (block mode and a rule fired)."""
        return self.fired and self.policy.mode == "block"

    @property
    def text(self) -> str:
        """Everything fed so far."""
        return self._buf.getvalue()

    def _slice(self, a: int, b: int) -> str:
        self._buf.seek(a)
        return self._buf.read(max(0, b - a))

    @property
    def held(self) -> int:
        return self._len - self.released

    def feed(self, chunk: str) -> str:
        """Add ``chunk``; return the text that may be released now (maybe ``""``)."""
        if self.finished:
            raise RuntimeError("feed() after finish()")
        if chunk:
            self._buf.seek(self._len)
            self._buf.write(chunk)
            self._len += len(chunk)
        if self.fired:
            return ""
        if self.policy.mode == "annotate":
            return self._release(self._len)
        if self._len - max(self._last_check, 0) < self.check_every and self._last_check >= 0:
            return ""
        if not chunk and self._last_check == self._len:
            return ""
        return self._release(self._check())

    def finish(self) -> str:
        """End of the output: the final (non-streaming) decision; return the rest that may be released."""
        if self.finished:
            return ""
        self.finished = True
        text = self.text
        full = self._timed_check(text, self.policy)
        if self.verdict is None or not self.fired or full.blocked:
            self.verdict = full
        if full.blocked:
            self.fired = True
        mode = self.policy.mode
        before = self.released
        if not self.fired or mode == "annotate":
            self._tail = self._release(self._len)
            self.decision = apply_policy(text, self.verdict, self.policy)
        elif mode == "block":
            self.decision = apply_policy(text, self.verdict, self.policy)
            self.decision.text = text[:before]  # what was released before the block (may be "")
        else:  # redact: the unreleased rest, with every copied span replaced by a marker
            atts = attributions(self.verdict)
            rest, done = redact(text[before:], atts, self.marker, start=before)
            self._tail = rest
            self.released = self._len
            self.decision = Decision(mode=mode, fired=True, text=text[:before] + rest, rule=self.verdict.rule,
                                     match_id=self.verdict.match_id, score=self.verdict.score,
                                     attributions=atts, redacted=done,
                                     reason=f"{len(done)} copied span(s) redacted")
        return self._tail

    def stats(self) -> dict[str, Any]:
        return {"chars": self._len, "released": self.released, "checks": self.checks,
                "check_seconds": round(self.check_seconds, 6), "fired": self.fired}

    # -- internals ----------------------------------------------------------
    def _release(self, upto: int) -> str:
        upto = min(upto, self._len)
        if upto <= self.released:
            return ""
        out = self._slice(self.released, upto)
        self.released = upto
        return out

    def _timed_check(self, text: str, policy: Policy) -> Verdict:
        """``Blocker.check`` under ``policy``."""
        b = self.blocker
        t0 = time.perf_counter()
        saved = b.policy
        b.policy = policy  # Blocker is single-threaded; the swap is restored before anyone else runs
        try:
            return b.check(text, self.lang)
        finally:
            b.policy = saved
            self.checks += 1
            self.check_seconds += time.perf_counter() - t0

    def _scan(self, text: str) -> tuple[dict[str, Any], list[Match]]:
        """Token streams per view and every matched region of every candidate, per view.

        Unlike ``check``, matches of one document under two views are both kept (the
        policy is evaluated per view, and the view that ranks first under the loose
        scan policy need not be the one that fires).
        """
        b = self.blocker
        t0 = time.perf_counter()
        saved = b.policy
        b.policy = self._scan_policy
        try:
            views = b.router.query_views(text, self.lang)
            match_view = getattr(b, "_match_view", None)
            if match_view is None:  # another Blocker: one match per document
                return views, b.check(text, self.lang).matches
            return views, [m for view, toks in views.items()
                           for m in match_view(view, toks, context=views.get("text"))]
        finally:
            b.policy = saved
            self.checks += 1
            self.check_seconds += time.perf_counter() - t0

    def _rule(self, span: Span, view: str) -> str | None:
        if self._rule_per_view:
            return self.policy.rule(span, view, self._shingle.get(view, self._shingle["text"]))  # type: ignore[call-arg]
        return self.policy.rule(span)

    def _check(self) -> int:
        """Scan the recent window; block or return how far the text may be released."""
        L = self._len
        self._last_check = L
        w0 = max(0, L - self.window_chars)
        window = self._slice(w0, L)
        if w0:  # start the window at a whitespace, so that no token is cut
            cut = next((i for i, c in enumerate(window[:64]) if c.isspace()), 0)
            w0 += cut
            window = window[cut:]
        views, scan_matches = self._scan(window)
        p = self.policy
        safe = L - self.hold_chars
        for view, toks in views.items():
            n, h = len(toks), self.hold_tokens.get(view, self.hold_tokens["text"])
            if n >= h:
                safe = min(safe, w0 + int(toks.starts[n - h]))
            else:
                safe = min(safe, w0)
        fired: list[tuple[Match, list[Span], str]] = []
        for m in scan_matches:
            toks = views.get(m.view)
            n = len(toks) if toks is not None else 0
            n_total = n if w0 == 0 else int(round(n * L / max(1, L - w0)))
            ends = toks.ends if toks is not None else None
            firing: list[tuple[Span, str]] = []
            for sp in m.spans:
                s, e = sp.output
                chars = e - s
                if chars >= p.min_match_chars:  # below that, no rule fires (Policy.rule)
                    # A rule that holds however long the output gets (exact run, near copy by
                    # length) blocks now; one that holds only by fraction of the output so far
                    # may be undone by more text: hold the region until the end decides.
                    at_end = dataclasses.replace(sp, output=(s + w0, e + w0), output_tokens=n_total)
                    rule = self._rule(dataclasses.replace(at_end, output_tokens=1 << 40), m.view)
                    if rule:
                        firing.append((at_end, rule))
                        continue
                    if self._rule(at_end, m.view):
                        safe = min(safe, s + w0)
                        continue
                after = n - int(np.searchsorted(ends, e)) if ends is not None else 0
                live = after <= self.open_tokens.get(m.view, self.open_tokens["text"]) and (
                    chars < p.near_copy_chars or sp.similarity >= p.threshold - self.live_margin)
                if live and L - (s + w0) <= self.max_hold_chars:
                    safe = min(safe, s + w0)
            if firing:
                rules = {r for _, r in firing}
                fired.append((m, [sp for sp, _ in firing], rules.pop() if len(rules) == 1 else "exact_run"))
        if fired and w0 > 0:
            # The window saw a copy; the non-streaming check of everything so far decides
            # (more text around it can change which candidates it verifies).
            if L < self._confirm_after:
                return max(self.released, min([safe] + [sp.output[0] for _, sps, _ in fired for sp in sps]))
            full = self._timed_check(self._slice(0, L), self.policy)
            if not full.blocked:
                self._confirm_after = L + self.confirm_every
                return max(self.released, min([safe] + [sp.output[0] for _, sps, _ in fired for sp in sps]))
            self.fired = True
            self.verdict = full
            return self.released if p.mode != "redact" else max(self.released, min(
                [safe] + [sp.output[0] for m in full.matches if m.rule for sp in m.spans]))
        if fired:
            self.fired = True
            matches = [dataclasses.replace(m, spans=sps, rule=rule,
                                           similarity=max(sp.similarity for sp in sps))
                       for m, sps, rule in fired]
            matches.sort(key=Match.rank_key, reverse=True)
            top = matches[0]
            self.verdict = Verdict(blocked=True, score=top.similarity, match_id=top.doc_id,
                                   matches=matches, rule=top.rule)
            if p.mode == "redact":
                first = min(sp.output[0] for m in matches for sp in m.spans)
                return max(self.released, min(safe, first))
            return self.released
        return max(safe, self.released)


__all__ = ["StreamGuard"]
