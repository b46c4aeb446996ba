"""Programming-language handling: canonical names, detection, markdown fences.

Every other module speaks the canonical names in :data:`CODE_LANGS` (the names
the tree-sitter grammar packages use).  ``None`` always means "not code":
prose, markdown, or a language we have no code view for.

Detection has to be cheap because it runs on every generated output that
arrives without a language tag, so :func:`detect_lang` is a single regex pass
over (at most) the first 16 KB, scoring hand-picked markers that are typical of
one language and rare in prose.  It errs towards ``None``: a missed language
only costs the code view (the text view still applies), while calling prose
"code" would feed prose into identifier collapsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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

# (language, weight, pattern).  Patterns anchored with ^ match at line starts.
_MARKERS: list[tuple[str, float, str]] = [
    ("python", 3, r"^[ \t]*def [A-Za-z_]\w*\(.*\)[^\n]*:[ \t]*$"),
    ("python", 2, r"^[ \t]*(?:from [\w.]+ )?import [\w.]+(?:, [\w.]+)*(?: as \w+)?[ \t]*$"),
    ("python", 2, r"^[ \t]*(?:class [A-Za-z_]\w*(?:\(.*\))?|elif .*|else|try|except.*|finally|with .*)[ \t]*:[ \t]*$"),
    ("python", 1, r"\bself\.\w"),
    ("python", 1, r"\b(?:None|True|False|elif|lambda)\b"),
    ("python", 1, r"^[ \t]*(?:\"\"\"|''')"),
    ("python", 2, r"^[ \t]*@\w+(?:\.\w+)*(?:\(.*\))?[ \t]*$"),
    ("python", 2, r"\bif __name__ == "),
    ("js", 2, r"\bfunction\s*\*?\s*[\w$]*\s*\([^)]*\)\s*\{"),
    ("js", 2, r"\b(?:const|let|var) [\w$]+ ="),
    ("js", 1, r"=>"),
    ("js", 2, r"\b(?:console\.log|require\(|module\.exports|document\.|window\.)"),
    ("js", 1, r"===|!=="),
    ("js", 1, r"^[ \t]*(?:export (?:default )?|import .* from ['\"])"),
    ("ts", 2, r"[\w$)] ?: ?(?:string|number|boolean|any|void|unknown|never)\b"),
    ("ts", 2, r"^[ \t]*(?:export )?(?:interface|type|enum|declare|namespace) [\w$]+"),
    ("ts", 1, r"\b(?:readonly|private|public|protected) [\w$]+ ?[:;=(]"),
    ("jsx", 3, r"<[A-Za-z][\w.]*(?: [\w-]+=[{\"][^>\n]*)?\s*/?>[^\n]*</[A-Za-z]|<\w+[^>\n]*=\{[^>\n]*>"),
    ("java", 3, r"\b(?:public|private|protected)(?: static)?(?: final)? (?:class|interface|enum|void|[A-Z]\w*(?:<[^>\n]*>)?|int|long|boolean) \w+"),
    ("java", 2, r"\bSystem\.(?:out|err)\.|^import java\.|@Override\b|\bnew [A-Z]\w*(?:<[^>\n]*>)?\("),
    ("java", 1, r"^package [\w.]+;"),
    ("c", 3, r"^#[ \t]*(?:include|define|ifn?def|endif|pragma)\b"),
    ("c", 2, r"\b(?:printf|fprintf|malloc|free|sizeof|memcpy|strlen)\s*\("),
    ("c", 1, r"\b(?:unsigned|struct \w+|typedef|static (?:int|void|char)|const char ?\*|NULL)\b"),
    ("c", 1, r"\w->\w"),
    ("cpp", 3, r"\bstd::|\btemplate ?<|#include <(?:iostream|vector|string|map|memory|algorithm)>"),
    ("cpp", 2, r"^[ \t]*(?:namespace \w+|using namespace|class \w+ ?(?::|\{|final))|\b(?:nullptr|virtual|constexpr)\b|::\w+\("),
    ("go", 3, r"^package \w+[ \t]*$|^func (?:\([^)]*\) )?\w+\("),
    ("go", 2, r"\w :?= |:= |\bfmt\.\w+\(|\berr != nil\b|^import \($"),
    ("rust", 3, r"\b(?:pub )?fn \w+(?:<[^>\n]*>)?\(|\blet mut \w|\bimpl(?:<[^>\n]*>)? \w+"),
    ("rust", 2, r"\b(?:println|vec|format|panic|assert_eq)!\(|^use [\w:]+|&(?:mut )?self\b|\bOption<|\bResult<|::new\("),
]
_MARKER_RE = re.compile("|".join(f"(?P<g{i}>{p})" for i, (_, _, p) in enumerate(_MARKERS)), re.M)
_MARKER_INFO = [(lang, w) for lang, w, _ in _MARKERS]
_SHEBANG = re.compile(r"#![^\n]*\b(python[\d.]*|node|nodejs|deno|ts-node)\b")
_SHEBANG_LANG = {"node": "javascript", "nodejs": "javascript", "deno": "typescript", "ts-node": "typescript"}
_CODE_PUNCT = re.compile(r"[{}();=\[\]<>]")

DETECT_WINDOW = 16_384
"""Characters of the text that :func:`detect_lang` looks at."""


def detect_lang(text: str) -> str | None:
    """Guess the code language of ``text``; ``None`` for prose or unknown.

    Scores language markers (weights above) per 1000 characters and requires
    both a minimum marker score and a code-like punctuation density, which
    prose (even technical prose and man pages quoting commands) rarely has.
    TypeScript and JSX markers only refine a JavaScript-family verdict.
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
    scores: dict[str, float] = {}
    for m in _MARKER_RE.finditer(head):
        lang, weight = _MARKER_INFO[int(m.lastgroup[1:])]  # type: ignore[index]
        scores[lang] = scores.get(lang, 0.0) + weight
    js_family = scores.get("js", 0.0) + scores.get("ts", 0.0) + scores.get("jsx", 0.0)
    c_family = scores.get("c", 0.0) + scores.get("cpp", 0.0)
    families = {
        "python": scores.get("python", 0.0),
        "js": js_family,
        "java": scores.get("java", 0.0),
        "c": c_family,
        "go": scores.get("go", 0.0),
        "rust": scores.get("rust", 0.0),
    }
    best = max(families, key=families.__getitem__)
    score = families[best]
    # Short snippets need at least two markers' worth; long texts a density.
    if score < 3 or score * 1000 / size < 2:
        return None
    if best != "python" and len(_CODE_PUNCT.findall(head)) * 1000 / size < 20:
        return None
    if best == "js":
        if scores.get("jsx", 0.0) >= 3:
            return "tsx" if scores.get("ts", 0.0) >= 2 else "javascript"
        return "typescript" if scores.get("ts", 0.0) >= 2 else "javascript"
    if best == "c":
        return "cpp" if scores.get("cpp", 0.0) >= 2 else "c"
    return best


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
        pos = search = close.end()
    _add_prose(segments, text, pos, n)
    return segments


def _add_prose(segments: list[Segment], text: str, start: int, end: int) -> None:
    if start < end and not text[start:end].isspace():
        segments.append(Segment(start, end, None, False))


__all__ = ["CODE_LANGS", "Segment", "canonical_lang", "detect_lang", "lang_from_path", "split_markdown"]
