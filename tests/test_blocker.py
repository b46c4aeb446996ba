"""End to end on the sample corpus: what must be blocked is, what must pass does, spans are right."""

import json

import pytest

from dedupblock import Blocker, Policy


def test_sample_outputs_match_expectations(blocker: Blocker, sample_outputs: list[dict]) -> None:
    for out in sample_outputs:
        v = blocker.check(out["text"], out.get("lang"))
        assert v.blocked == out["expect"].startswith("blocked"), (out["id"], v.to_dict())


def test_embedded_passage_spans(blocker: Blocker, sample_records: list[dict]) -> None:
    doc = next(r for r in sample_records if r["id"] == "license/MPL-2.0")
    start = doc["text"].index("1.1. \"Contributor\"")
    passage = doc["text"][start:start + 600]
    prefix = "Here is some context that is not from the corpus at all, written for this test. " * 3
    v = blocker.check(prefix + passage + " And some more original words to close the answer.")
    assert v.blocked and v.match_id == "license/MPL-2.0"
    sp = v.matches[0].spans[0]
    # the reported span is inside the copied passage and covers most of it
    assert len(prefix) - 2 <= sp.output[0] <= len(prefix) + 20
    assert sp.output[1] >= len(prefix) + len(passage) - 20
    assert abs(sp.source[0] - start) <= 20 and abs(sp.source[1] - (start + 600)) <= 20
    assert v.matches[0].license == "MPL-2.0"


def test_unrelated_and_short_pass(blocker: Blocker, sample_records: list[dict]) -> None:
    doc = next(r for r in sample_records if r["id"] == "license/GPL-3")
    assert not blocker.check(doc["text"][1000:1080]).blocked  # too short to be copying
    assert not blocker.check("The quick brown fox jumps over the lazy dog. " * 10).blocked
    assert not blocker.check("").blocked


def test_threshold_and_length_are_policy(sample_index, sample_records: list[dict]) -> None:
    doc = next(r for r in sample_records if r["id"] == "license/GPL-3")["text"][2000:2100]
    assert not Blocker(sample_index).check(doc).blocked
    assert Blocker(sample_index, Policy(min_match_chars=50, min_exact_tokens=10)).check(doc).blocked


def test_verdict_never_contains_protected_text(blocker: Blocker, sample_records: list[dict]) -> None:
    doc = next(r for r in sample_records if r["id"] == "license/Apache-2.0")["text"]
    passage = doc[3000:4000]
    v = blocker.check(passage)
    assert v.blocked
    blob = json.dumps(v.to_dict())
    words = passage.split()
    trigrams = {" ".join(words[i:i + 3]) for i in range(len(words) - 2)}
    assert not any(t in blob for t in trigrams)


def test_policy_validation() -> None:
    with pytest.raises(ValueError):
        Policy(threshold=1.5)
    with pytest.raises(ValueError):
        Policy(mode="nope")
