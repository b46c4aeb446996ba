"""StreamGuard: streamed decisions equal the non-streaming check; a copy leaks at most N characters.

N = ``policy.min_match_chars`` (docs/inline-filter.md): of any span that the
check attributes to a protected document, fewer characters are released than
the shortest span the policy would ever block on its own.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from dedupblock import Blocker, Policy
from dedupblock.stream import StreamGuard
from tests.fake_upstream import BENIGN, build_test_index, passage

DEV = Path("/work/shared/data/dev")

FILLER = ("The committee met on a rainy afternoon to talk about the new bicycle lanes, the library opening "
          "hours and whether the bakery on the corner should be allowed a second oven. Nobody agreed on "
          "anything, but the tea was good and the minutes were short. ")


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    return build_test_index(tmp_path_factory.mktemp("stream") / "idx")


@pytest.fixture(scope="module")
def blocker(index: tuple[Path, list[dict]]) -> Blocker:
    return Blocker(index[0])


def stream(guard: StreamGuard, text: str, rng: random.Random, max_chunk: int = 24) -> tuple[str, int | None]:
    """Feed ``text`` in random chunks; (released text, buffered length when it fired or None)."""
    out, i, fired_at = [], 0, None
    while i < len(text):
        k = rng.randint(1, max_chunk)
        out.append(guard.feed(text[i:i + k]))
        i += k
        if guard.fired and fired_at is None:
            fired_at = i
        if guard.blocked:
            break
    out.append(guard.finish())
    if guard.fired and fired_at is None:
        fired_at = len(text)
    return "".join(out), fired_at


def leaked(released: int, spans: list[tuple[int, int]]) -> int:
    return max([max(0, min(released, e) - s) for s, e in spans] or [0])


def firing_spans(verdict) -> list[tuple[int, int]]:
    return [sp.output for m in verdict.matches if m.rule for sp in m.spans]


def test_benign_text_is_released_whole(blocker: Blocker) -> None:
    rng = random.Random(0)
    text = BENIGN + " " + FILLER * 8
    g = StreamGuard(blocker)
    out, fired = stream(g, text, rng)
    assert not g.fired and fired is None and out == text
    assert g.decision is not None and not g.decision.fired and g.verdict is not None


def test_holdback_is_bounded_on_benign_text(blocker: Blocker) -> None:
    g = StreamGuard(blocker)
    text = FILLER * 10
    for i in range(0, len(text), 7):
        g.feed(text[i:i + 7])
    # only the tail is held back: at most hold_chars or hold_tokens tokens (~6 chars each here)
    assert g.held <= max(g.hold_chars, 8 * g.hold_tokens["text"])
    held = g.held
    assert g.finish() == text[len(text) - held:] and not g.fired


@pytest.mark.parametrize("seed", range(6))
def test_copy_is_blocked_like_the_full_check_and_leaks_at_most_n(blocker: Blocker, index, seed: int) -> None:
    _, docs = index
    rng = random.Random(seed)
    doc = docs[seed % len(docs)]
    p = passage(doc, rng.uniform(0.1, 0.7), rng.randint(300, 1500))
    before = FILLER[: rng.randint(0, len(FILLER))] * rng.randint(0, 3)
    text = before + p + (FILLER if seed % 2 else "")
    full = blocker.check(text)
    assert full.blocked
    g = StreamGuard(blocker)
    out, fired_at = stream(g, text, rng)
    assert g.fired == full.blocked and g.blocked
    assert text.startswith(out)
    n = g.policy.min_match_chars
    assert leaked(len(out), firing_spans(full)) <= n
    assert max(0, len(out) - len(before)) <= n  # of the passage itself
    assert g.finish() == "" and g.decision is not None and g.decision.blocked


def _edit(text: str, every: int, rng: random.Random) -> str:
    words = text.split(" ")
    for i in range(every // 2, len(words), every):
        words[i] = "".join(rng.choice("qxzjvkw") for _ in range(len(words[i]) or 3))
    return " ".join(words)


def test_fraction_rule_waits_for_the_end(blocker: Blocker, index) -> None:
    """A short edited copy fires only by fraction of the output: held until the end decides."""
    _, docs = index
    rng = random.Random(5)
    p = _edit(passage(docs[0], 0.35, 360), 12, rng)
    alone = blocker.check(p)
    assert alone.blocked and alone.rule == "near_copy"
    g = StreamGuard(blocker)
    out = "".join(g.feed(p[i:i + 5]) for i in range(0, len(p), 5))
    region = firing_spans(alone)[0]
    assert len(out) <= region[0] + 1  # nothing of the copy before the end
    assert g.finish() == "" and g.blocked
    # the same copy followed by much original text does not fire: neither does the stream
    text = p + " " + FILLER * 12
    full = blocker.check(text)
    g = StreamGuard(blocker)
    out, _ = stream(g, text, rng)
    assert g.fired == full.blocked
    if not full.blocked:
        assert out == text


def test_redact_and_annotate_streams(blocker: Blocker, index) -> None:
    _, docs = index
    rng = random.Random(3)
    p = passage(docs[2], 0.3, 800)
    text = FILLER + p + " " + FILLER
    g = StreamGuard(blocker, Policy(mode="redact"))
    out, _ = stream(g, text, rng)
    assert g.fired and not g.blocked
    assert out.startswith(FILLER[:100]) and out.endswith(FILLER[-60:])
    assert "[REDACTED: " + docs[2]["id"] in out and p[200:320] not in out
    assert g.decision.text == out
    g = StreamGuard(blocker, Policy(mode="annotate"))
    first = g.feed(text[:50])
    assert first == text[:50]  # annotate withholds nothing
    out = first + "".join(g.feed(text[i:i + 9]) for i in range(50, len(text), 9)) + g.finish()
    assert out == text and g.fired and g.decision.attributions[0].doc_id == docs[2]["id"]


def test_long_stream_uses_a_window(blocker: Blocker, index) -> None:
    _, docs = index
    rng = random.Random(9)
    text = FILLER * 60 + passage(docs[0], 0.6, 700)
    g = StreamGuard(blocker)
    out, _ = stream(g, text, rng, max_chunk=64)
    assert g.blocked and len(text) - len(out) <= 700 + g.hold_chars
    assert leaked(len(out), firing_spans(blocker.check(text))) <= g.policy.min_match_chars


@pytest.mark.skipif(not (DEV / "queries.jsonl").is_file(), reason="dev set not present")
def test_dev_sample_matches_non_streaming(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A sample of dev positives (and a few negatives) in random chunk sizes."""
    from build_index.build import build
    from dedupblock.params import IndexParams
    from dedupblock.readers import read_jsonl

    out = tmp_path_factory.mktemp("dev") / "idx"
    build(read_jsonl(DEV / "corpus.jsonl"), str(out), IndexParams())
    b = Blocker(out)
    qs = [json.loads(line) for line in open(DEV / "queries.jsonl", encoding="utf-8")]
    rng = random.Random(11)
    pos = rng.sample([q for q in qs if q["label"] == 1], 24)
    neg = rng.sample([q for q in qs if q["label"] == 0], 8)
    for q in pos + neg:
        text, lang = q["text"], q["lang"]
        full = b.check(text, lang)
        g = StreamGuard(b, lang=lang)
        released, fired_at = stream(g, text, rng)
        if g.fired and not full.blocked:
            # allowed only where the check of the prefix seen so far blocks (the check is not
            # monotone in the length of the text: more text can push a candidate out)
            assert b.check(text[:fired_at], lang).blocked, q["qid"]
        else:
            assert g.fired == full.blocked, q["qid"]
        if full.blocked:
            assert leaked(len(released), firing_spans(full)) <= g.policy.min_match_chars, q["qid"]
            if q["kind"] in ("verbatim", "embedded"):
                m = q["meta"]
                s, n = (m["passage_offset"], m["passage_len"]) if q["kind"] == "embedded" else (0, len(text))
                assert max(0, min(len(released), s + n) - s) <= g.policy.min_match_chars, q["qid"]
