"""Fuzzing: featurizers and the JSONL reader never crash or hang on hostile input."""

from __future__ import annotations

import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedupblock.errors import InputError
from dedupblock.featurize.code import CodeFeaturizer
from dedupblock.featurize.lang import CODE_LANGS, detect_lang, split_markdown
from dedupblock.featurize.route import Router
from dedupblock.featurize.text import TextFeaturizer
from dedupblock.readers import read_jsonl

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = TextFeaturizer()
CODE = CodeFeaturizer()
ROUTER = Router()
hostile = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400) | st.sampled_from([
    "\x00" * 50, "(" * 5000, "{[" * 3000, '"' * 999, "/*" * 500, "'''" * 300, "\u200b" * 100, "```" * 50,
    "#" * 100 + "\n" + "#include <" * 100, "r#\"" * 200, "`${" * 300,
])


def _valid(toks, text: str) -> None:
    assert toks.hashes.dtype == np.uint64 and len(toks.starts) == len(toks.ends) == len(toks)
    if len(toks):
        assert (toks.starts >= 0).all() and (toks.ends <= len(text)).all() and (toks.starts < toks.ends).all()
        assert (np.diff(toks.starts) >= 0).all()


@FUZZ
@given(hostile)
def test_text_featurizer_total(text: str) -> None:
    _valid(TEXT.featurize(text), text)


@FUZZ
@given(hostile, st.sampled_from((None,) + CODE_LANGS))
def test_code_featurizer_total(text: str, lang: str | None) -> None:
    _valid(CODE.featurize(text, lang), text)


@FUZZ
@given(hostile)
def test_routing_and_markdown_total(text: str) -> None:
    for seg in split_markdown(text):
        assert 0 <= seg.start <= seg.end <= len(text)
    detect_lang(text)
    for view, toks in ROUTER.query_views(text).items():
        _valid(toks, text)


def test_deeply_nested_code_is_linear() -> None:
    text = "f(" * 100_000 + ")" * 100_000
    for lang in ("python", "c", "javascript"):
        _valid(CODE.featurize(text, lang), text)


@FUZZ
@given(st.binary(max_size=600))
def test_jsonl_reader_on_random_bytes(data: bytes) -> None:
    try:
        for rec in read_jsonl(io.BytesIO(data), name="fuzz"):
            assert isinstance(rec.data["text"], str) and isinstance(rec.data["id"], str)
    except InputError as exc:
        assert str(exc).startswith("fuzz")


@FUZZ
@given(st.lists(st.dictionaries(st.sampled_from(["id", "text", "lang", "x"]),
                                st.one_of(st.text(max_size=20), st.integers(), st.none(), st.booleans()),
                                max_size=4), max_size=5))
def test_jsonl_reader_on_random_records(records: list[dict]) -> None:
    import json

    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    try:
        out = list(read_jsonl(io.BytesIO(data), name="fuzz"))
        assert len(out) == len(records)
    except InputError as exc:
        assert str(exc).startswith("fuzz:")


def test_huge_line_is_refused_cleanly() -> None:
    import json

    data = (json.dumps({"id": "a", "text": "x" * 2_000_000}) + "\n").encode()
    try:
        list(read_jsonl(io.BytesIO(data), name="fuzz", max_chars=1_000_000))
    except InputError as exc:
        assert "over the limit" in str(exc)
    else:
        raise AssertionError("expected a limit error")
