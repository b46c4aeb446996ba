"""The compiled Python lexer gives exactly the regex lexer's tokens (hashes, raw hashes, offsets)."""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from dedupblock.featurize.code import _SPECS, CodeFeaturizer, _lex
from dedupblock.featurize.tokens import Tokens


def _regex_tokens(cf: CodeFeaturizer, text: str) -> Tokens:
    spec = _SPECS["python"]
    return cf._emit(_lex(text, spec, 0, len(text)), spec, text)


def _assert_same(cf: CodeFeaturizer, text: str) -> None:
    ref = _regex_tokens(cf, text)
    got = cf.featurize(text, "python")
    assert len(got) == len(ref), repr(text[:120])
    if len(ref):
        for name in ("hashes", "raw", "starts", "ends"):
            assert np.array_equal(getattr(got, name), getattr(ref, name)), (name, repr(text[:120]))


def _stdlib_sample(k: int = 60) -> list[str]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.glob("*.py") if p.stat().st_size < 400_000)
    out = []
    for p in files[:: max(1, len(files) // k)]:
        out.append(p.read_text(encoding="utf-8", errors="replace"))
    return out


@pytest.mark.parametrize("seed", [0, 7])
def test_same_tokens_on_real_python(seed: int, sample_records: list[dict]) -> None:
    cf = CodeFeaturizer(seed)
    texts = [r["text"] for r in sample_records if r.get("lang") == "python"]
    texts += _stdlib_sample()
    assert len(texts) > 20
    for t in texts:
        _assert_same(cf, t)
        # fragments start and end anywhere, e.g. inside a string or a docstring
        for a in range(0, len(t), max(1, len(t) // 5)):
            _assert_same(cf, t[a:a + 700])


def test_same_tokens_on_random_soup() -> None:
    rng = random.Random(5)
    alphabet = (list("abcrRbBuUfF_0123456789xXoOeEpP.+-*/%<>=!&|^~?:;,()[]{}@#$\\\"'` \t\n\r\x0b\x0c\x1c\x00")
                + list("éß٣²Ⅻ\u00a0\u2028\u3000’—日本") + ["\ud800"]
                + ["'''", '"""', "0x1F", "0b_1", "1e+5", "1e+", "1.", ".5", "..", "...", "self.", "cls.", "->",
                   "\\\n", "\\\r\n", "r'", 'b"', "rb'''", "f'{x}'", "import ", "def ", "len(", "print"])
    cf = CodeFeaturizer(3)
    for _ in range(4000):
        _assert_same(cf, "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))))


def test_fast_path_only_where_it_applies() -> None:
    """Non-ASCII text agrees; other schemes and the tree-sitter engine keep their own path."""
    text = "def f(naïve):\n    return naïve + 1  # café\n"
    cf = CodeFeaturizer(1)
    ref = _regex_tokens(cf, text)
    assert np.array_equal(cf.featurize(text, "python").hashes, ref.hashes)
    for other in (CodeFeaturizer(1, scheme="collapse"), CodeFeaturizer(1, engine="tree-sitter")):
        assert len(other.featurize(text, "python")) == len(ref)
