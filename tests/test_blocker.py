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


def test_fenced_block_with_renamed_copy_names_the_block(sample_index, sample_records: list[dict]) -> None:
    """A Markdown answer whose code block is a protected function with every name changed."""
    src = next(r for r in sample_records if r["id"] == "cpython/heapq.py")["text"]
    start = src.index("def heappushpop(heap, item):")
    func = src[start:src.index("def heapify(x):", start)]
    renamed = (func.replace("heappushpop", "push_then_pop").replace("heap", "pq").replace("item", "value"))
    intro = "Sure! Here is a function that pushes and pops in one step:\n\n```python\n"
    answer = intro + renamed + "```\n\nIt runs in O(log n) time."
    v = Blocker(sample_index).check(answer)
    assert v.blocked and v.match_id == "cpython/heapq.py"
    code_matches = [m for m in v.matches if m.view == "code" and m.rule]
    assert code_matches, v.to_dict()
    block = (len(intro), len(intro) + len(renamed))
    for sp in code_matches[0].spans:
        assert block[0] <= sp.output[0] < sp.output[1] <= block[1]
    assert abs(code_matches[0].spans[0].source[0] - start) < 40
    # the text view alone does not see it: the copy is caught because of the code view
    assert not [m for m in v.matches if m.view == "text" and m.rule]


def _code_span(tokens: int, output_tokens: int, run: int, similarity: float = 1.0):
    from dedupblock.verdict import Span
    return Span(output=(0, 10 * tokens), source=(0, 10 * tokens), similarity=similarity, containment=similarity,
                tokens=tokens, exact_run=run, output_tokens=output_tokens, distinct=tokens, agreement=0.9)


def test_code_rule_length_depends_on_coverage() -> None:
    """A renamed fragment inside a long output is an idiom; the same match as the whole output is a copy."""
    p = Policy()
    fragment = _code_span(tokens=35, output_tokens=35, run=35)
    assert p.rule(fragment, "code", 8) == "exact_run"
    assert p.rule(_code_span(35, 1000, 35), "code", 8) is None  # 35 < code_min_embedded_run
    # ... unless nothing was renamed: a verbatim copy of 35 code tokens is no idiom
    import dataclasses
    assert p.rule(dataclasses.replace(_code_span(35, 1000, 35), verbatim=True), "code", 8) == "exact_run"
    assert p.rule(_code_span(50, 1000, 50), "code", 8) == "exact_run"
    # a lightly edited whole-output copy fires from code_min_tokens, not below
    assert p.rule(_code_span(22, 24, 12, similarity=0.9), "code", 8) == "near_copy"
    assert p.rule(_code_span(18, 18, 12, similarity=0.9), "code", 8) is None
    # an inconsistent renaming is no evidence at any length
    assert p.rule(dataclasses.replace(fragment, agreement=0.1), "code", 8) is None
    with pytest.raises(ValueError):
        Policy(code_min_embedded_run=-1)


_JAVA_EXCEPTION = '''package java.io;

/**
 * Signals that an I/O operation has been interrupted. An
 * InterruptedIOException is thrown to indicate that an input or output
 * transfer has been terminated because the thread performing it was interrupted.
 */
public class InterruptedIOException extends IOException {
    @java.io.Serial
    private static final long serialVersionUID = 4020568460727500567L;

    /**
     * Constructs an InterruptedIOException with null as its error detail
     * message, which the caller may inspect later through getMessage.
     */
    public InterruptedIOException() {
        super();
    }

    /**
     * Constructs an InterruptedIOException with the specified detail message.
     * The string s can be retrieved later by the getMessage method of Throwable.
     */
    public InterruptedIOException(String s) {
        super(s);
    }

    /**
     * Reports how many bytes had been transferred as part of the I/O
     * operation before it was interrupted, counted by the writer.
     */
    public int bytesTransferred = 0;
}
'''


def test_code_twin_with_other_comments_is_not_a_copy(tmp_path) -> None:
    """Same structure, other names and other comments: independently written (two JDK exception classes)."""
    from build_index.build import build
    from dedupblock.params import IndexParams

    idx = tmp_path / "java.idx"
    build([{"id": "InterruptedIOException.java", "text": _JAVA_EXCEPTION, "lang": "java"}], str(idx), IndexParams())
    b = Blocker(idx, refresh_interval=None)
    renamed = _JAVA_EXCEPTION.replace("InterruptedIOException", "StreamBrokenException").replace("(String s)", "(String why)").replace("super(s)", "super(why)").replace("bytesTransferred", "moved")
    v = b.check(renamed, "java")  # a renamed copy keeps its comments: blocked
    assert v.blocked and v.match_id == "InterruptedIOException.java"
    twin = renamed
    for old, new in [("Signals that an I/O operation has been interrupted. An", "Thrown when a character encoding is not"),
                     ("is thrown to indicate that an input or output", "supported by this Java virtual machine, so"),
                     ("transfer has been terminated because the thread performing it was interrupted.",
                      "that no reader or writer for the named charset can be constructed here."),
                     ("null as its error detail\n     * message, which the caller may inspect later through getMessage.",
                      "no detail message at all;\n     * use the other constructor to describe what failed."),
                     ("with the specified detail message.\n     * The string s can be retrieved later by the getMessage method of Throwable.",
                      "naming the encoding.\n     * @param why a short description of the reason, shown to users."),
                     ("Reports how many bytes had been transferred as part of the I/O\n     * operation before it was interrupted, counted by the writer.",
                      "The number of characters that were decoded successfully\n     * before the unsupported sequence was met in the input.")]:
        assert old in twin
        twin = twin.replace(old, new)
    v = b.check(twin, "java")
    code = [m for m in v.matches if m.view == "code"]
    assert not v.blocked, v.to_dict()
    assert code and code[0].spans[0].comments is not None and code[0].spans[0].comments < 0.3
    # without the comment evidence, the same twin is a renamed copy
    assert Blocker(idx, Policy(code_min_comment_agreement=0.0), refresh_interval=None).check(twin, "java").blocked
