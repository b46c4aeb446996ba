"""Policies: block, redact (merged spans, markers), annotate (attributions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dedupblock import Blocker, Policy
from dedupblock.apply import apply_policy, merge_spans, attributions
from dedupblock.verdict import Match, Span, Verdict
from tests.fake_upstream import build_test_index, passage


def _span(a: int, b: int, src: tuple[int, int] = (100, 200)) -> Span:
    return Span(output=(a, b), source=src, similarity=0.97, containment=0.97, tokens=(b - a) // 5,
                exact_run=30, output_tokens=100)


def _verdict(*matches: Match) -> Verdict:
    top = matches[0]
    return Verdict(blocked=True, score=top.similarity, match_id=top.doc_id, matches=list(matches), rule=top.rule)


TEXT = "".join(chr(ord("a") + i % 26) for i in range(400))


def test_not_fired_passes_unchanged_in_every_mode() -> None:
    v = Verdict(blocked=False, score=0.2, match_id="x", matches=[], rule=None)
    for mode in ("block", "redact", "annotate"):
        d = apply_policy(TEXT, v, Policy(mode=mode))
        assert d.text == TEXT and not d.fired and not d.blocked and d.mode == mode and d.rule is None


def test_block_suppresses_and_records_rule() -> None:
    m = Match("doc/1", 0.97, 0.97, [_span(10, 200)], "text", source="s/1", license="MIT", rule="exact_run")
    d = apply_policy(TEXT, _verdict(m), Policy(mode="block"))
    assert d.blocked and d.fired and d.text is None
    assert d.rule == "exact_run" and d.match_id == "doc/1" and "doc/1" in d.reason
    assert d.to_dict()["blocked"] is True and d.to_dict()["rule"] == "exact_run"


def test_redact_merges_overlapping_spans_and_names_documents() -> None:
    a = Match("doc/a", 0.97, 0.97, [_span(10, 100), _span(250, 300)], "text", license="MIT", rule="exact_run")
    b = Match("doc/b", 0.9, 0.9, [_span(80, 150)], "text", license="GPL-3", rule="near_copy")
    d = apply_policy(TEXT, _verdict(a, b), Policy(mode="redact"))
    assert d.fired and not d.blocked
    assert d.redacted == [(10, 150), (250, 300)]
    expect = (TEXT[:10] + "[REDACTED: doc/a, doc/b MIT, GPL-3]" + TEXT[150:250] + "[REDACTED: doc/a MIT]"
              + TEXT[300:])
    assert d.text == expect
    assert len(merge_spans(attributions(_verdict(a, b)))) == 2


def test_redact_touching_spans_and_unknown_license() -> None:
    a = Match("doc/a", 0.97, 0.97, [_span(0, 50), _span(50, 80)], "text", license=None, rule="exact_run")
    d = apply_policy(TEXT, _verdict(a), Policy(mode="redact"))
    assert d.text == "[REDACTED: doc/a unknown-license]" + TEXT[80:]


def test_annotate_passes_text_with_attributions() -> None:
    a = Match("doc/a", 0.97, 0.97, [_span(10, 100, (5, 95))], "text", source="src/a.txt", license="MIT",
              rule="exact_run")
    below = Match("doc/z", 0.5, 0.5, [_span(200, 220)], "text", rule=None)
    d = apply_policy(TEXT, _verdict(a, below), Policy(mode="annotate"))
    assert d.text == TEXT and d.fired and not d.blocked
    assert [x.to_dict() for x in d.attributions] == [{
        "doc_id": "doc/a", "source": "src/a.txt", "license": "MIT", "output": [10, 100], "source_span": [5, 95],
        "similarity": 0.97, "rule": "exact_run"}]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    return build_test_index(tmp_path_factory.mktemp("apply") / "idx")


def test_redact_real_copy_removes_the_passage(index: tuple[Path, list[dict]]) -> None:
    path, docs = index
    p = passage(docs[0], 0.4, 700)
    before = "Sure, here is what I found when I looked into the question you asked earlier today. "
    after = " I hope this helps you with your project and the documentation you are writing."
    text = before + p + after
    v = Blocker(path).check(text)
    assert v.blocked
    d = apply_policy(text, v, Policy(mode="redact"))
    assert d.text.startswith(before[:40]) and d.text.endswith(after[-40:])
    assert f"[REDACTED: {docs[0]['id']} {docs[0]['license']}]" in d.text
    assert p[100:220] not in d.text
    # annotate: the attribution points at the passage in both texts
    d = apply_policy(text, v, Policy(mode="annotate"))
    att = d.attributions[0]
    assert att.doc_id == docs[0]["id"] and abs(att.output[0] - len(before)) <= 20
    src = docs[0]["text"].index(p)
    assert abs(att.source_span[0] - src) <= 20
