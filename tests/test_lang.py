"""Language names, detection and markdown fences."""

from __future__ import annotations

import time

import pytest

from dedupblock.featurize.lang import CODE_LANGS, Segment, canonical_lang, detect_lang, lang_from_path, split_markdown


@pytest.mark.parametrize(
    ("alias", "expected"),
    [("py", "python"), ("Python3", "python"), ("js", "javascript"), ("jsx", "javascript"), ("ts", "typescript"),
     ("tsx", "tsx"), ("C++", "cpp"), ("cc", "cpp"), ("golang", "go"), ("rs", "rust"), ("java", "java"),
     ("c", "c"), ("{.python}", "python"), ("python title='x.py'", "python"),
     ("text", None), ("markdown", None), ("console", None), ("", None), (None, None)],
)
def test_canonical_lang(alias: str | None, expected: str | None) -> None:
    assert canonical_lang(alias) == expected


def test_canonical_names_are_fixed_points() -> None:
    assert all(canonical_lang(name) == name for name in CODE_LANGS)


def test_lang_from_path() -> None:
    assert lang_from_path("a/b/setup.PY") == "python"
    assert lang_from_path("x.tsx") == "tsx" and lang_from_path("x.hpp") == "cpp" and lang_from_path("x.h") == "c"
    assert lang_from_path("README.md") is None and lang_from_path("Makefile") is None


SNIPPETS = {
    "python": "import os\n\ndef main(argv):\n    if not argv:\n        return None\n    for a in argv:\n"
              "        print(a)\n    return 0\n",
    "javascript": "const fs = require('fs');\nfunction main(args) {\n  if (args.length === 0) { return; }\n"
                  "  args.forEach((a) => console.log(a));\n}\n",
    "typescript": "interface Opts { name: string; n: number }\nexport function f(o: Opts): string {\n"
                  "  const x: number = o.n;\n  return o.name;\n}\n",
    "java": "package a.b;\n\npublic class Main {\n    @Override\n    public String toString() {\n"
            "        System.out.println(\"x\");\n        return \"\";\n    }\n}\n",
    "c": "#include <stdio.h>\n#include <stdlib.h>\n\nint main(void) {\n    char *p = malloc(10);\n"
         "    printf(\"%s\\n\", p);\n    free(p);\n    return 0;\n}\n",
    "cpp": "#include <vector>\n\nnamespace a {\ntemplate <typename T>\nT sum(const std::vector<T>& v) {\n"
           "    T s = nullptr;\n    return s;\n}\n}\n",
    "go": "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tx := 1\n\tif err != nil {\n\t\treturn\n\t}\n"
          "\tfmt.Println(x)\n}\n",
    "rust": "use std::io;\n\npub fn main() {\n    let mut v = Vec::new();\n    v.push(1);\n"
            "    println!(\"{:?}\", v);\n}\n",
}


@pytest.mark.parametrize("lang", sorted(SNIPPETS))
def test_detect_lang_snippets(lang: str) -> None:
    assert detect_lang(SNIPPETS[lang]) == lang


def test_detect_lang_prose_and_shebang() -> None:
    prose = (
        "The quick brown fox jumps over the lazy dog. This manual page documents the ls command (see\n"
        "also dir). Options may be given in any order; the default is to sort entries alphabetically.\n"
    ) * 20
    assert detect_lang(prose) is None
    assert detect_lang("") is None
    assert detect_lang("#!/usr/bin/env python3\nprint(1)\n") == "python"
    assert detect_lang("#!/usr/bin/env node\nx\n") == "javascript"


def test_detect_lang_is_fast() -> None:
    text = (SNIPPETS["python"] + SNIPPETS["c"] + "Some prose about it.\n") * 50
    text = text[:10_000]
    t0 = time.perf_counter()
    for _ in range(200):
        detect_lang(text)
    assert (time.perf_counter() - t0) / 200 < 0.002  # < 1 ms typical; slack for slow CI machines


def test_split_markdown_spans() -> None:
    code1 = "def f():\n    return 1"
    code2 = "x := 1"
    text = f"Intro text.\n\n```python\n{code1}\n```\nMiddle.\n~~~~\n{code2}\n~~~~\n\nEnd.\n"
    segs = split_markdown(text)
    assert [s.is_code for s in segs] == [False, True, False, True, False]
    assert text[segs[0].start:segs[0].end] == "Intro text.\n\n"
    assert text[segs[1].start:segs[1].end] == code1 and segs[1].lang == "python"
    assert text[segs[2].start:segs[2].end] == "Middle.\n"
    assert text[segs[3].start:segs[3].end] == code2
    assert text[segs[4].start:segs[4].end] == "\nEnd.\n"
    assert segs[4].lang is None


def test_split_markdown_tags_nesting_and_unclosed() -> None:
    text = "a\n````js\n```\ninner\n```\n````\n```text\nplain\n```\n```rust\nfn main() {}\n"
    segs = split_markdown(text)
    code = [s for s in segs if s.is_code]
    assert text[code[0].start:code[0].end] == "```\ninner\n```" and code[0].lang == "javascript"
    assert text[code[1].start:code[1].end] == "plain" and code[1].lang is None
    assert text[code[2].start:code[2].end] == "fn main() {}\n" and code[2].lang == "rust"  # unclosed: to the end
    assert segs[0] == Segment(0, 2, None, False)


def test_split_markdown_without_fences_and_untagged() -> None:
    assert split_markdown("just prose\n") == [Segment(0, 11, None, False)]
    assert split_markdown("") == []
    text = "```\n" + SNIPPETS["go"] + "```\n"
    (seg,) = split_markdown(text)
    assert seg.is_code and seg.lang == "go" and text[seg.start:seg.end] == SNIPPETS["go"].rstrip("\n")
    assert split_markdown("use ```inline``` code\n") == [Segment(0, 22, None, False)]


@pytest.mark.parametrize("text", ["", "a", "::::", ":::::", "))):\n):\n", "std::std::std", "let mut let mut ",
                                  "naïve café → ;\n;\n", "====", "!==!==", "err != nil", "x" * 100 + "=>"])
def test_marker_counts_are_str_count(text: str, sample_records: list[dict]) -> None:
    """The one-pass marker kernel counts exactly what ``str.count`` counts (non-overlapping, per marker)."""
    from dedupblock.featurize.lang import _COUNTED, _FIRST_IDS, _FIRST_START, _MARK_CPS, _MARK_OFF, _count_markers
    from dedupblock.featurize.tokens import codepoints

    for t in [text] + [r["text"][:5000] for r in sample_records[:6]]:
        got = _count_markers(codepoints(t), _MARK_CPS, _MARK_OFF, _FIRST_START, _FIRST_IDS).tolist()
        assert got == [t.count(m) for m in _COUNTED]
