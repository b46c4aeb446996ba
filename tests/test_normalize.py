"""The text featurizer must not be fooled by trivial Unicode evasion, and keep offsets."""

import numpy as np
import pytest

from dedupblock.featurize.normalize import fold, normalize
from dedupblock.featurize.text import TextFeaturizer

BASE = "Permission is hereby granted, free of charge, to any person obtaining a copy"

EVASIONS = {
    "upper case": BASE.upper(),
    "cyrillic homoglyphs": BASE.replace("a", "\u0430").replace("e", "\u0435").replace("o", "\u043e")
    .replace("p", "\u0440").replace("c", "\u0441"),
    "greek homoglyphs": BASE.replace("o", "\u03bf").replace("i", "\u03b9"),
    "zero-width inside words": "\u200b".join(BASE[i:i + 3] for i in range(0, len(BASE), 3)),
    "zero-width joiners and BOM": BASE.replace("r", "r\u200d").replace(" ", " \ufeff"),
    "full-width forms": "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in BASE),
    "odd whitespace": BASE.replace(" ", "\u00a0\u2003 \t\n"),
    "combining accents": BASE.replace("e", "e\u0301"),
    "control characters": BASE.replace("a", "a\x07"),
    "math alphanumerics": BASE.replace("P", "\U0001d40f"),
    "soft hyphens": BASE.replace("ission", "is\u00adsion"),
}


@pytest.mark.parametrize("name", sorted(EVASIONS))
def test_evasion_gives_same_tokens(name: str) -> None:
    f = TextFeaturizer()
    assert np.array_equal(f.featurize(EVASIONS[name]).hashes, f.featurize(BASE).hashes), name


def test_typographic_punctuation() -> None:
    f = TextFeaturizer()
    assert np.array_equal(f.featurize("it\u2019s \u201cquoted\u201d \u2014 done").hashes,
                          f.featurize("it's \"quoted\" - done").hashes)


@pytest.mark.parametrize("name", sorted(EVASIONS))
def test_offsets_point_into_original(name: str) -> None:
    text = EVASIONS[name]
    toks = TextFeaturizer().featurize(text)
    words = [normalize(text[s:e]) for s, e in zip(toks.starts, toks.ends)]
    plain = [normalize(BASE[s:e]) for s, e in zip(*(lambda t: (t.starts, t.ends))(TextFeaturizer().featurize(BASE)))]
    assert words == plain


def test_normalize_collapses_whitespace() -> None:
    assert normalize("  A\t\tb \u2003\n c  ") == "a b c"


def test_ascii_fast_path_is_identity_offsets() -> None:
    assert fold("Hello World").origin is None


def test_ideographs_are_single_tokens() -> None:
    toks = TextFeaturizer().featurize("日本語abc")
    assert len(toks) == 4


def test_empty_and_whitespace_only() -> None:
    f = TextFeaturizer()
    assert len(f.featurize("")) == 0
    assert len(f.featurize(" \n\t\u200b ")) == 0
