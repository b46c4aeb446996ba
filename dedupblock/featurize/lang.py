"""Programming-language handling: canonical names, detection, markdown fences.

Every other module speaks the canonical names in :data:`CODE_LANGS` (the names
the tree-sitter grammar packages use).  ``None`` always means "not code":
prose, markdown, or a language we have no code view for.

Detection has to be cheap because it runs on every generated output that
arrives without a language tag, so :func:`detect_lang` looks at (at most) the
first 16 KB and only counts hand-picked markers that are typical of one
language and rare in prose: substrings, and the first word of each line.  It errs towards ``None``: a missed language
only costs the code view (the text view still applies), while calling prose
"code" would feed prose into identifier collapsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from numba import njit

from dedupblock.featurize.tokens import codepoints

CODE_LANGS: tuple[str, ...] = ("python", "javascript", "typescript", "tsx", "java", "c", "cpp", "go", "rust")

_ALIASES: dict[str, str] = {
    **{name: name for name in CODE_LANGS},
    "py": "python", "py3": "python", "python3": "python", "pyw": "python", "pyi": "python",
    "js": "javascript", "jsx": "javascript", "node": "javascript", "nodejs": "javascript",
    "mjs": "javascript", "cjs": "javascript", "ecmascript": "javascript",
    "ts": "typescript", "mts": "typescript", "cts": "typescript",
    "c++": "cpp", "cc": "cpp", "cxx": "cpp", "hpp": "cpp", "hxx": "cpp", "hh": "cpp", "h++": "cpp",
    "h": "c",
    "golang": "go",
    "rs": "rust",
}

_EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyw": "python", ".pyi": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
    ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".c++": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
    ".go": "go",
    ".rs": "rust",
}


def canonical_lang(name: str | None) -> str | None:
    """The canonical code language for a tag such as ``"py"`` or ``"C++"``.

    Markdown info strings may carry attributes (``python title="x.py"``) or
    braces (``{.python}``); only the first word counts.  Anything that is not
    one of :data:`CODE_LANGS` (``text``, ``markdown``, ``console``, ``None``)
    gives ``None``.
    """
    if not name:
        return None
    words = name.strip().strip("{}").lstrip(".").split()
    if not words:
        return None
    return _ALIASES.get(words[0].lower().lstrip("."))


def lang_from_path(path: str) -> str | None:
    """The code language of a file from its extension (case-insensitive)."""
    base = path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    dot = base.rfind(".")
    return _EXTENSIONS.get(base[dot:]) if dot >= 0 else None


# --- detection ---------------------------------------------------------------

# Markers are plain substrings (``str.count`` runs at memory speed) plus the
# first word of each line (one regex pass).  family -> {marker: weight}.
_LINE_START = re.compile(r"^[ \t]*(#[ \t]*\w+|@?\w+:?)", re.M)
_FIRST_WORDS: dict[str, dict[str, float]] = {
    "python": {"def": 3, "elif": 3, "else:": 2, "try:": 3, "except": 3, "finally:": 3, "from": 1, "import": 1,
               "raise": 2, "@property": 3, "@staticmethod": 3, "@classmethod": 3, "with": 0.5, "return": 0.5},
    "js": {"function": 2, "const": 1, "let": 1, "var": 1, "export": 1, "async": 1, "return": 0.5},
    "ts": {"interface": 2, "type": 1, "declare": 2, "enum": 1, "namespace": 1},
    "java": {"public": 2, "private": 2, "protected": 2, "package": 1, "@Override": 3, "return": 0.5},
    "c": {"#include": 3, "#define": 3, "#ifdef": 3, "#ifndef": 3, "#endif": 3, "typedef": 2, "struct": 1,
          "static": 1, "return": 0.5},
    "cpp": {"template": 3, "namespace": 3, "using": 2, "class": 0.5},
    "go": {"func": 3, "package": 3, "defer": 3, "type": 0.5},
    "rust": {"fn": 3, "pub": 2, "impl": 3, "use": 2, "mod": 2, "let": 1, "#[derive": 3},
}
_SUBSTRINGS: dict[str, dict[str, float]] = {
    "python": {"self.": 1, "):\n": 2, "None": 1, '"""': 1, "__init__": 2, "elif ": 1},
    "js": {"=>": 1, "===": 2, "!==": 2, "console.": 2, "require(": 2, "function(": 2, "});": 2},
    "ts": {": string": 3, ": number": 3, ": boolean": 3, "readonly ": 2, ": void": 2},
    "jsx": {"/>": 1, "</": 1, "className=": 3},
    "java": {"System.out": 3, "@Override": 3, "String ": 1, "void ": 1, "();\n": 1},
    "c": {"printf(": 2, "->": 1, "NULL": 1, "sizeof(": 2, "malloc(": 2, "char *": 2, ";\n": 0.3},
    "cpp": {"std::": 3, "nullptr": 3, "template<": 3, "::": 0.3},
    # "::=" is BNF (man pages, RFCs), not a Go short variable declaration
    "go": {":= ": 2, "::= ": -2, "err != nil": 3, "fmt.": 2, "func (": 3},
    "rust": {"let mut ": 3, "&self": 2, "println!": 3, "pub fn ": 3, "&mut ": 2, "fn ": 1, "::": 0.3,
             "Some(": 1, "Ok(": 1},
}
_SHEBANG = re.compile(r"#![^\n]*\b(python[\d.]*|node|nodejs|deno|ts-node)\b")
_SHEBANG_LANG = {"node": "javascript", "nodejs": "javascript", "deno": "typescript", "ts-node": "typescript"}
_CODE_PUNCT = "{}();=[]<>"

DETECT_WINDOW = 16_384
"""Characters of the text that :func:`detect_lang` looks at."""

# Every substring marker and punctuation character is counted in one numba pass
# (``str.count`` semantics: non-overlapping occurrences of each, independently);
# ~60 ``str.count`` calls were a third of the cost of checking a prose output.
_COUNTED: list[str] = sorted({m for fam in _SUBSTRINGS.values() for m in fam} | set(_CODE_PUNCT))
_COUNT_INDEX: dict[str, int] = {m: i for i, m in enumerate(_COUNTED)}
#: per family: (counted-marker index, weight) pairs and (first word, weight) pairs, in the dicts' order
_FAMILY_MARKERS: list[tuple[str, list[tuple[int, float]], list[tuple[str, float]]]] = [
    (family, [(_COUNT_INDEX[m], w) for m, w in subs.items()], list(_FIRST_WORDS.get(family, {}).items()))
    for family, subs in _SUBSTRINGS.items()
]
_MARK_CPS = np.array([ord(c) for m in _COUNTED for c in m], dtype=np.uint32)
_MARK_OFF = np.cumsum([0] + [len(m) for m in _COUNTED]).astype(np.int64)
_FIRST_IDS = np.array(sorted(range(len(_COUNTED)), key=lambda i: ord(_COUNTED[i][0])), dtype=np.int64)
_FIRST_START = np.searchsorted(np.array([ord(_COUNTED[i][0]) for i in _FIRST_IDS]), np.arange(129)).astype(np.int64)


@njit(cache=True, nogil=True)
def _count_markers(cp, mark_cps, mark_off, first_start, first_ids):
    """Non-overlapping occurrences in ``cp`` of each ASCII marker (``str.count`` of each)."""
    m_count = mark_off.shape[0] - 1
    counts = np.zeros(m_count, dtype=np.int64)
    nxt = np.zeros(m_count, dtype=np.int64)  # a marker's next match may start here
    n = cp.shape[0]
    for i in range(n):
        c = cp[i]
        if c >= 128:
            continue
        for t in range(first_start[c], first_start[c + 1]):
            m = first_ids[t]
            if i < nxt[m]:
                continue
            lo = mark_off[m]
            size = mark_off[m + 1] - lo
            if i + size > n:
                continue
            ok = True
            for j in range(1, size):
                if cp[i + j] != mark_cps[lo + j]:
                    ok = False
                    break
            if ok:
                counts[m] += 1
                nxt[m] = i + size
    return counts


def detect_lang(text: str) -> str | None:
    """Guess the code language of ``text``; ``None`` for prose or unknown.

    Sums marker weights per language family and requires the best family to
    reach both an absolute score and a density per 1000 characters, and the
    text to have a code-like density of brackets and ``=``/``;``, which prose
    (even man pages quoting a synopsis) rarely has.  TypeScript / JSX and C++
    markers only refine a JavaScript or C verdict.
    """
    head = text[:DETECT_WINDOW]
    first = head.lstrip()[:200]
    if first.startswith("#!"):
        m = _SHEBANG.match(first)
        if m:
            name = m.group(1)
            return "python" if name.startswith("python") else _SHEBANG_LANG[name]
    size = len(head.strip())
    if size == 0:
        return None
    words: dict[str, int] = {}
    for word in _LINE_START.findall(head):
        words[word] = words.get(word, 0) + 1
    counts = _count_markers(codepoints(head), _MARK_CPS, _MARK_OFF, _FIRST_START, _FIRST_IDS).tolist()
    get = words.get
    scores = {
        family: sum(w * counts[i] for i, w in subs) + sum(w * get(s, 0) for s, w in firsts)
        for family, subs, firsts in _FAMILY_MARKERS
    }
    families = {
        "python": scores["python"],
        "js": scores["js"] + scores["ts"] + scores["jsx"],
        "java": scores["java"],
        "c": scores["c"] + scores["cpp"],
        "go": scores["go"],
        "rust": scores["rust"],
    }
    best = max(families, key=families.__getitem__)
    score = families[best]
    punct = sum(counts[_COUNT_INDEX[c]] for c in _CODE_PUNCT)
    if score < MIN_SCORE or score * 1000 / size < MIN_SCORE_DENSITY:
        return None
    # Python has little punctuation (docstrings, no braces): its markers suffice.
    if best != "python" and punct * 1000 / size < MIN_PUNCT_DENSITY:
        return None
    if best == "js":
        jsx = scores["jsx"] >= 3
        if scores["ts"] >= 3:
            return "tsx" if jsx else "typescript"
        return "javascript"
    if best == "c":
        return "cpp" if scores["cpp"] >= 3 else "c"
    return best


# Calibrated on the dev corpus (Python stdlib vs man pages / docs): the
# density threshold sits between the prose 95th and the Python 10th percentile.
MIN_SCORE = 3.0
MIN_SCORE_DENSITY = 6.0
MIN_PUNCT_DENSITY = 25.0


# --- markdown ------------------------------------------------------------------

_FENCE_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n]*?)[ \t]*$", re.M)


@dataclass(frozen=True)
class Segment:
    """A span ``[start, end)`` of a markdown text.

    ``is_code`` marks the content of a fenced block (fence lines excluded);
    ``lang`` is its canonical language from the info string or, without a
    usable tag, from :func:`detect_lang` (``None`` for prose segments and for
    blocks tagged as a non-code language such as ``text`` or ``console``).
    """

    start: int
    end: int
    lang: str | None
    is_code: bool


def split_markdown(text: str) -> list[Segment]:
    """Split ``text`` into prose segments and fenced-code-block segments.

    CommonMark rules, simplified: a fence is a line of >= 3 backticks or
    tildes indented by at most 3 spaces (a backtick fence's info string may
    not contain a backtick); it is closed by a line of at least as many of the
    same character and nothing else; an unclosed fence runs to the end of the
    text.  Fence lines belong to no segment; whitespace-only prose is dropped,
    and so are empty code blocks.
    """
    segments: list[Segment] = []
    pos = 0  # start of the current prose run
    search = 0
    n = len(text)
    while True:
        m = _FENCE_OPEN.search(text, search)
        if m is None:
            break
        fence, info = m.group("fence"), m.group("info")
        if fence[0] == "`" and "`" in info:
            search = m.end()  # inline code spanning a line, not a fence
            continue
        _add_prose(segments, text, pos, m.start())
        body = m.end() + 1 if m.end() < n else n
        close = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.M).search(text, body)
        body_end = close.start() if close else n
        # The newline ending the last content line is part of the fence line.
        if close and body_end > body and text[body_end - 1] == "\n":
            body_end -= 1
        if body_end > body:
            tag = info.split()[0] if info.split() else ""
            lang = canonical_lang(tag) if tag else detect_lang(text[body:body_end])
            segments.append(Segment(body, body_end, lang, True))
        if close is None:
            return segments
        pos = search = min(close.end() + 1, n)  # past the fence line's newline
    _add_prose(segments, text, pos, n)
    return segments


def _add_prose(segments: list[Segment], text: str, start: int, end: int) -> None:
    if start < end and not text[start:end].isspace():
        segments.append(Segment(start, end, None, False))


__all__ = ["CODE_LANGS", "Segment", "canonical_lang", "detect_lang", "lang_from_path", "split_markdown"]
