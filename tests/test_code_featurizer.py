"""CodeFeaturizer: normalisation invariances, offsets, robustness, languages."""

from __future__ import annotations

import textwrap
import time

import numpy as np
import pytest
import xxhash

from dedupblock.featurize.code import ENGINES, SCHEMES, CodeFeaturizer
from dedupblock.featurize.lang import CODE_LANGS
from dedupblock.featurize.tokens import Tokens

PY = '''\
import os


class Cache(Base):
    """A small cache.

    It's documented.
    """

    def lookup(self, key, default=None):  # find a key
        value = self._store.get(key, default)
        if value is None and len(key) > 0x10:
            return os.path.join("a", 'b', f"{key}")
        return value * 2.5
'''

PY_RENAMED = '''\
import os


class Store(Base):
    """A small cache.

    It's documented.
    """

    def find(self, name, fallback=None):  # find a key
        result = self._store.get(name, fallback)
        if result is None and len(name) > 0x10:
            return os.path.join("a", 'b', f"{name}")
        return result * 2.5
'''

PY_REFORMATTED = '''\
import os
class Cache( Base ):
  """A small cache.

  It's documented.
  """
  def lookup(self,key,default=None):
    value=self._store.get(key,
                          default)
    if value is None and len(key)>0x10: return os.path.join("a",'b',f"{key}")
    return value*2.5
'''

SNIPPETS = {
    "python": "def f(x):\n    return x + 1\n",
    "javascript": "function f(x) { const y = `t${x}`; return y + 1; }\n",
    "typescript": "function f(x: number): number { let y: string = 'a'; return x + 1; }\n",
    "tsx": "function f(p: Props) { return <div className=\"a\">{p.x + 1}</div>; }\n",
    "java": "class A { public int f(int x) { return x + 1; } }\n",
    "c": "#include <stdio.h>\nint f(int x) { printf(\"%d\", x); return x + 1; }\n",
    "cpp": "#include <vector>\nint f(std::vector<int> v) { return v.size() + 1; }\n",
    "go": "package main\nfunc f(x int) int { y := x + 1; return y }\n",
    "rust": "fn f(x: i32) -> i32 { let y = x + 1; println!(\"{}\", y); y }\n",
}


def texts(text: str, toks: Tokens) -> list[str]:
    return [text[s:e] for s, e in zip(toks.starts.tolist(), toks.ends.tolist())]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


def test_interface() -> None:
    fz = CodeFeaturizer()
    assert fz.name == "code" and fz.version.startswith("code-")
    toks = fz.featurize(PY, "python")
    assert toks.hashes.dtype == np.uint64 and toks.starts.dtype == np.int32 and toks.ends.dtype == np.int32
    assert len(toks) > 20
    with pytest.raises(ValueError):
        CodeFeaturizer(scheme="nope")


def test_hash_is_xxh64_of_token_text() -> None:
    toks = CodeFeaturizer(seed=7, scheme="collapse").featurize("x = 1", "python")
    expected = [xxhash.xxh64_intdigest(t.encode("utf-32-le"), 7) for t in ("<ID>", "=", "<NUM>")]
    assert toks.hashes.tolist() == expected


def test_placeholders_and_dropped_comments() -> None:
    src = "y = 'a' + 2  # comment\n"
    for scheme in SCHEMES:
        toks = CodeFeaturizer(scheme=scheme).featurize(src, "python")
        assert texts(src, toks) == ["y", "=", "'a'", "+", "2"]
    h = {s: CodeFeaturizer(scheme=s).featurize(src, "python").hashes for s in SCHEMES}
    raw_y = xxhash.xxh64_intdigest("y".encode("utf-32-le"), 0)
    assert h["raw"][0] == raw_y and h["collapse"][0] != raw_y
    assert h["ordinal"][0] == xxhash.xxh64_intdigest("<ID0>".encode("utf-32-le"), 0)


def test_renamed_identical_under_collapse(engine: str) -> None:
    fz = CodeFeaturizer(scheme="collapse", engine=engine)
    assert fz.featurize(PY, "python").hashes.tolist() == fz.featurize(PY_RENAMED, "python").hashes.tolist()
    raw = CodeFeaturizer(scheme="raw", engine=engine)
    assert raw.featurize(PY, "python").hashes.tolist() != raw.featurize(PY_RENAMED, "python").hashes.tolist()


def test_renamed_identical_under_ordinal_and_keep_api() -> None:
    for scheme in ("ordinal", "keep_api"):
        fz = CodeFeaturizer(scheme=scheme)
        assert fz.featurize(PY, "python").hashes.tolist() == fz.featurize(PY_RENAMED, "python").hashes.tolist()


def test_keep_api_keeps_attributes_and_builtins() -> None:
    src = "n = len(os.path.join(a, self.b))"
    toks = CodeFeaturizer(scheme="keep_api").featurize(src, "python")
    words = {xxhash.xxh64_intdigest(w.encode("utf-32-le"), 0): w for w in ("len", "path", "join", "self", "<ID>")}
    got = [words.get(h, "?") for h in toks.hashes.tolist()]
    assert got == ["<ID>", "?", "len", "?", "<ID>", "?", "path", "?", "join", "?", "<ID>", "?", "self", "?", "<ID>", "?", "?"]


def test_whitespace_comments_and_reindent_do_not_matter() -> None:
    """Re-indented, joined (``;``) and re-spaced Python no longer parses, and still matches."""
    fz = CodeFeaturizer(scheme="collapse")
    base = fz.featurize(PY, "python").hashes.tolist()
    assert fz.featurize(PY_REFORMATTED, "python").hashes.tolist() == base
    joined = fz.featurize("a = 1; b = 2\n", "python").hashes.tolist()
    assert joined == fz.featurize("a = 1\nb = 2\n", "python").hashes.tolist()
    assert fz.featurize(textwrap.indent(PY, "        "), "python").hashes.tolist() == base
    c_src = "int f(int x) {\n  // c\n  return x; /* d */\n}\n"
    c_knr = "int f(int x)\n{\n        return x;\n}"
    assert fz.featurize(c_src, "c").hashes.tolist() == fz.featurize(c_knr, "c").hashes.tolist()


def test_docstring_inversion_is_harmless() -> None:
    """An excerpt starting inside a docstring sees every quote the other way round."""
    fz = CodeFeaturizer(scheme="collapse")
    doc = 'def f():\n    """Doc.\n    more doc\n    """\n    return g(1)\n'
    excerpt = '    more doc\n    """\n    return g(1)\n'
    full = fz.featurize(doc, "python")
    part = fz.featurize(excerpt, "python")
    tail = full.hashes[-len(part):].tolist()
    assert tail == part.hashes.tolist()


def test_offsets_map_back_non_ascii(engine: str) -> None:
    src = "def grüße(名前, x):\n    return f'héllo {名前}' + 'ü' * 3  # ß\n"
    toks = CodeFeaturizer(scheme="raw", engine=engine).featurize(src, "python")
    assert texts(src, toks) == [
        "def", "grüße", "(", "名前", ",", "x", ")", ":", "return", "f'héllo {名前}'", "+", "'ü'", "*", "3",
    ]
    emoji = "let s = \"😀\"; let t = s;"
    toks = CodeFeaturizer(scheme="raw", engine=engine).featurize(emoji, "rust")
    assert texts(emoji, toks) == ["let", "s", "=", '"😀"', ";", "let", "t", "=", "s", ";"]


def test_engines_agree_on_well_formed_code() -> None:
    lexer, ts = CodeFeaturizer(engine="lexer"), CodeFeaturizer(engine="tree-sitter")
    for lang in ("python", "java", "go"):
        src = SNIPPETS[lang]
        assert lexer.featurize(src, lang).hashes.tolist() == ts.featurize(src, lang).hashes.tolist(), lang
    assert lexer.featurize(PY, "python").hashes.tolist() == ts.featurize(PY, "python").hashes.tolist()


@pytest.mark.parametrize("lang", CODE_LANGS)
def test_every_language_featurizes_a_snippet(lang: str, engine: str) -> None:
    src = SNIPPETS[lang]
    toks = CodeFeaturizer(scheme="raw", engine=engine).featurize(src, lang)
    got = texts(src, toks)
    assert "f" in got and "+" in got and len(got) >= 10
    assert all(t.strip() == t and t for t in got)
    assert not any(t.startswith(("//", "#", "/*")) and t not in ("#include",) for t in got)


def test_fragments_and_garbage_still_featurize(engine: str) -> None:
    fz = CodeFeaturizer(engine=engine)
    fragment = "        if x:\n            return self.y(1)\n    else:\n        pass\n"
    assert len(fz.featurize(fragment, "python")) == 13
    half_class = "class A {\n  public void f() {\n    int x = 1;\n"
    assert len(fz.featurize(half_class, "java")) == 14
    for junk in ("", "   \n", ")))(((", "\x00\ud800 'unterminated", "@@@ ### $$$", "\"\"\"never closed"):
        assert isinstance(fz.featurize(junk, "python"), Tokens)


def test_unknown_language_falls_back() -> None:
    fz = CodeFeaturizer(scheme="raw")
    src = "x := foo(bar) // hi\n"
    for lang in ("cobol", "text", None):
        assert texts(src, fz.featurize(src, lang)) == ["x", ":=", "foo", "(", "bar", ")"]


def test_huge_input_is_fast(engine: str) -> None:
    big = PY * (3_000_000 // len(PY))
    t0 = time.perf_counter()
    toks = CodeFeaturizer(engine=engine).featurize(big, "python")
    assert time.perf_counter() - t0 < 10
    assert len(toks) == len(CodeFeaturizer().featurize(PY, "python")) * (3_000_000 // len(PY))


def test_deep_nesting_does_not_crash(engine: str) -> None:
    deep = "x = " + "(" * 100_000 + "1" + ")" * 100_000
    toks = CodeFeaturizer(engine=engine).featurize(deep, "python")
    assert len(toks) == 200_003
    brackets = "[" * 50_000 + "{" * 50_000
    assert len(CodeFeaturizer(engine=engine).featurize(brackets, "javascript")) == 100_000


# --- lexer edge cases: JS regex literals, Rust nested comments and lifetimes, C/C++ digit separators ---


def tail_matches(full_src: str, excerpt: str, lang: str) -> bool:
    """``excerpt`` (a suffix of ``full_src``) gives the same tokens as the full text's tail."""
    fz = CodeFeaturizer(scheme="collapse")
    full = fz.featurize(full_src, lang).hashes.tolist()
    part = fz.featurize(excerpt, lang).hashes.tolist()
    return len(part) > 0 and full[-len(part):] == part


@pytest.mark.parametrize("lang", ["javascript", "typescript", "tsx"])
@pytest.mark.parametrize(
    "regex",
    [r"/[/*]/g", r"/https?:\/\//", r"/'/g", r'/"/', r"/`/", r"/[\]/]+/i", r"/=x/", r"/a\/b*/"],
)
def test_js_regex_literal_is_one_str(lang: str, regex: str) -> None:
    tail = "\nconst total = compute(a, b) * 2; /* note */ return total + 'x';\n"
    src = f"const re = {regex};{tail}"
    got = texts(src, CodeFeaturizer(scheme="raw").featurize(src, lang))
    assert got[:5] == ["const", "re", "=", regex, ";"]
    assert tail_matches(src, tail, lang)
    # the same regex in a call, after "return", "(" and "&&"
    for prefix in ("f(", "return ", "x && ", "x ? ", "[", "!"):
        call = f"{prefix}{regex}.test(s){tail}"
        got = texts(call, CodeFeaturizer(scheme="raw").featurize(call, lang))
        assert regex in got, (prefix, got)
        assert tail_matches(call, tail, lang)


def test_js_regex_literal_swallowed_text_regression() -> None:
    """Before code-2, ``/[/*]/`` opened a comment up to the next ``*/`` and ``//`` in a regex ate the line."""
    src = "s = s.replace(/[/*]/g, '');\nfunction f(x) { return x + 1; }\n/* c */ g(2);\n"
    toks = texts(src, CodeFeaturizer(scheme="raw").featurize(src, "javascript"))
    assert "/[/*]/g" in toks and "function" in toks and "g" in toks
    assert tail_matches(src, "\nfunction f(x) { return x + 1; }\n/* c */ g(2);\n", "javascript")
    src = "if (/^https?:\\/\\//.test(url)) { open(url, 'x'); }\nnext(1);\n"
    assert texts(src, CodeFeaturizer(scheme="raw").featurize(src, "javascript"))[:10] == [
        "if", "(", "/^https?:\\/\\//", ".", "test", "(", "url", ")", ")", "{",
    ]
    assert tail_matches(src, ".test(url)) { open(url, 'x'); }\nnext(1);\n", "javascript")
    src = "parts = line.split(/'/); name = parts[1];\n"
    assert tail_matches(src, "); name = parts[1];\n", "javascript")


def test_js_division_is_not_a_regex() -> None:
    fz = CodeFeaturizer(scheme="raw")
    for src in ("a = b / c / d;", "e = (f) / 2 / g;", "h = x[1] / y / 2;", "i = x++ / 2 / k;", "j = o.in / 2 / 3;",
                "k = 1 / 2 /* c */ / 3;", "a /= 2; b /= c;"):
        got = texts(src, fz.featurize(src, "javascript"))
        assert not any(t.startswith("/") and len(t) > 2 for t in got), got
    # comments still win where a regex could start
    src = "x = // comment /x/\n1; y = /* c */ 2;"
    assert texts(src, fz.featurize(src, "javascript")) == ["x", "=", "1", ";", "y", "=", "2", ";"]


def test_jsx_tags_are_not_regexes() -> None:
    src = "const el = <div><A b={x}/><B c={y}/>{a}</div>;\nreturn <p>{t}</p>;"
    got = texts(src, CodeFeaturizer(scheme="raw").featurize(src, "tsx"))
    assert all(t in ("/", "/=") or not t.startswith("/") for t in got), got
    assert got.count("/") == 4


def test_js_regex_literal_lexing_stays_linear() -> None:
    """Failed regex attempts (no closing ``/`` on the line) must not rescan the line."""
    for junk in ("(/[" * 100_000, "!/[a" * 100_000, ("(/[" * 1000 + "\n") * 100):
        t0 = time.perf_counter()
        toks = CodeFeaturizer().featurize(junk, "javascript")
        assert time.perf_counter() - t0 < 5
        assert len(toks) == len(junk.replace("\n", ""))
    ok = "x = f(/a/g, /b/);\n" * 20_000
    assert len(CodeFeaturizer().featurize(ok, "javascript")) == 9 * 20_000


def test_rust_nested_block_comments() -> None:
    fz = CodeFeaturizer(scheme="raw")
    src = "let a = 1; /* outer /* inner */ still comment */ let b = 2;"
    assert texts(src, fz.featurize(src, "rust")) == ["let", "a", "=", "1", ";", "let", "b", "=", "2", ";"]
    src = "/*/**/*/ x /** doc /* n1 /* n2 */ */ */ y /* unterminated /* */ z"
    assert texts(src, fz.featurize(src, "rust")) == ["x", "y"]
    # C keeps non-nesting comments
    src = "int a; /* x /* y */ int b; */"
    assert texts(src, fz.featurize(src, "c"))[:6] == ["int", "a", ";", "int", "b", ";"]
    deep = "/*" * 200_000 + "*/" * 200_000 + " x"
    t0 = time.perf_counter()
    assert texts(deep, fz.featurize(deep, "rust")) == ["x"]
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("lang", ["c", "cpp"])
def test_c_digit_separators(lang: str) -> None:
    src = "long n = 1'000'000 + 0x1'FF + 0b1010'1010 + 1'000.5e1'0 + 1'000ULL; char c = 'a';"
    got = texts(src, CodeFeaturizer(scheme="raw").featurize(src, lang))
    assert got == ["long", "n", "=", "1'000'000", "+", "0x1'FF", "+", "0b1010'1010", "+", "1'000.5e1'0", "+",
                   "1'000ULL", ";", "char", "c", "=", "'a'", ";"]
    collapsed = CodeFeaturizer(scheme="collapse").featurize("x = 1'000'000;", lang).hashes.tolist()
    assert collapsed == CodeFeaturizer(scheme="collapse").featurize("x = 1000000;", lang).hashes.tolist()
    # a separator needs a digit after it: char literals right after a number are unchanged
    src = "f(1,'a'); g(0x1F, 'b');"
    assert texts(src, CodeFeaturizer(scheme="raw").featurize(src, lang)) == [
        "f", "(", "1", ",", "'a'", ")", ";", "g", "(", "0x1F", ",", "'b'", ")", ";",
    ]


def test_rust_lifetimes_are_not_char_literals() -> None:
    src = (
        "fn f<'a, 'b: 'a>(x: &'a str, y: &'b str) -> &'static str {\n"
        "    'outer: loop { break 'outer; }\n"
        "    let c = 'x'; let n = '\\n'; let e = '\\u{1F600}'; let q = '\\''; let b = b'z';\n"
        "    x\n}\n"
    )
    got = texts(src, CodeFeaturizer(scheme="raw").featurize(src, "rust"))
    assert got[:12] == ["fn", "f", "<", "'", "a", ",", "'", "b", ":", "'", "a", ">"]
    assert ["&", "'", "static", "str"] == got[got.index("static") - 2:got.index("static") + 2]
    assert ["'", "outer", ":", "loop"] == got[got.index("loop") - 3:got.index("loop") + 1]
    for lit in ("'x'", "'\\n'", "'\\u{1F600}'", "'\\''", "b'z'"):
        assert lit in got
    assert got[-2:] == ["x", "}"]
    # keep_api: a lifetime is "'" and <ID>; 'static is kept
    words = {xxhash.xxh64_intdigest(w.encode("utf-32-le"), 0): w for w in ("'", "<ID>", "static", "<STR>")}
    lt = "&'a T; &'static U; 'x'"
    got = [words.get(h, "?") for h in CodeFeaturizer().featurize(lt, "rust").hashes.tolist()]
    assert got == ["?", "'", "<ID>", "<ID>", "?", "?", "'", "static", "<ID>", "?", "<STR>"]
    # an excerpt cut after a lifetime agrees with its source
    assert tail_matches(src, " str, y: &'b str) -> &'static str {\n    'outer: loop { break 'outer; }\n"
                        + src.split("'outer; }\n", 1)[1], "rust")


def test_version_bumped_for_lexer_changes() -> None:
    assert CodeFeaturizer.version == "code-2"
