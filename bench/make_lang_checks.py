"""Generate the small per-language check set in ``tests/data/lang_checks``.

Real source files found on a Debian 12 machine (see ``SOURCES``) are split
into corpus files and held-out files per source group; queries are generated
in the dev-set format (``/work/shared/data/dev/README.md``) with kinds
verbatim, whitespace_reformat, renamed, renamed_edit, embedded,
negative_unrelated and negative_boilerplate.

The generator is independent of the project's featurizer: it has its own
lexer (:func:`lex`, which skips strings, comments, Go raw strings, JS template
and regex literals, Rust raw strings / lifetimes / nested comments, C
preprocessor lines) and its own declaration heuristics for the renaming, so a
bug in ``dedupblock.featurize.code`` shows up as lost recall instead of being
reproduced on both sides.

Sources (install / fetch before running; all read-only):

* C: ``/usr/share/doc/*/examples/**/*.c`` (zlib, liblzma, nettle, libxmlsec1,
  libidn2, libtasn1, libpng, expat, linux-perf, ...) and ``/usr/share/doc/git/contrib``.
* C++: libstdc++ headers ``/usr/include/c++/12/bits/*.h`` / ``*.tcc``.
* Java: a JDK's ``lib/src.zip`` (``java.base``; here Temurin 25, the OpenJDK 17 link is dangling).
* JavaScript: npm's bundled dependencies ``/usr/lib/node_modules/npm/node_modules``.
* TypeScript: rxjs 7.8.1 sources (``npm pack rxjs@7.8.1`` and unpack; ``--ts-root``).
* Go: Debian ``golang-github-spf13-pflag-dev golang-github-google-uuid-dev
  golang-github-pkg-errors-dev`` (``/usr/share/gocode/src``) and git's contrib.
* Rust: Debian ``librust-memchr-dev librust-semver-dev librust-itoa-dev`` (pulls
  libc, compiler_builtins) in ``/usr/share/cargo/registry``.

Usage: ``python bench/make_lang_checks.py [--out tests/data/lang_checks] [--seed 11]``; a larger set
for evaluation only: ``--files 80 --per-kind 60 --out /tmp/lang_checks_large``.
Deterministic for a given seed and set of files.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import math
import os
import random
import re
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# --- sources ------------------------------------------------------------------------------------

FILE_MIN, FILE_MAX = 1200, 9000  # characters of a usable source file
N_FILES = 24  # files per language (corpus + held out)
HELD_OUT = 0.25
N_PER_KIND = 12
N_BOILER = 8


@dataclass
class SrcFile:
    lang: str
    source: str  # group, e.g. "go/spf13-pflag"
    path: str
    text: str
    license: str


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def _debian_license(pkg: str) -> str:
    txt = _read(f"/usr/share/doc/{pkg}/copyright") or ""
    m = re.search(r"^License:\s*(\S[^\n]*)", txt, re.M)
    return (m.group(1).strip() if m else "see copyright") + f" (/usr/share/doc/{pkg}/copyright)"


def _npm_license(pkg_dir: str) -> str:
    try:
        data = json.loads(_read(os.path.join(pkg_dir, "package.json")) or "{}")
    except json.JSONDecodeError:
        data = {}
    lic = data.get("license") or "unknown"
    return lic if isinstance(lic, str) else json.dumps(lic)


def collect(ts_root: str) -> dict[str, list[SrcFile]]:
    out: dict[str, list[SrcFile]] = defaultdict(list)

    def add(lang, source, path, text, lic):
        if text is not None and FILE_MIN <= len(text) <= FILE_MAX and "\x00" not in text:
            out[lang].append(SrcFile(lang, source, path, text, lic))

    # C
    for path in sorted(glob.glob("/usr/share/doc/*/examples/**/*.c", recursive=True)):
        pkg = path.split("/")[4]
        add("c", f"c/{pkg}", path, _read(path), _debian_license(pkg))
    for path in sorted(glob.glob("/usr/share/doc/git/contrib/**/*.c", recursive=True)):
        add("c", "c/git-contrib", path, _read(path), "GPL-2.0 (/usr/share/doc/git/copyright)")
    # C++
    for path in sorted(glob.glob("/usr/include/c++/12/bits/*.h") + glob.glob("/usr/include/c++/12/bits/*.tcc")):
        add("cpp", "cpp/libstdc++-12", path, _read(path), "GPL-3.0-or-later WITH GCC-exception-3.1")
    # Java
    zpath = next((p for p in sorted(glob.glob("/usr/lib/jvm/*/lib/src.zip")) if os.path.isfile(p)), None)
    if zpath:
        with zipfile.ZipFile(zpath) as z:
            for name in sorted(z.namelist()):
                m = re.match(r"java\.base/java/(util|io|text|time|net|nio)/(?:[^/]+/)?[^/]+\.java$", name)
                if m:
                    try:
                        text = z.read(name).decode("utf-8")
                    except UnicodeDecodeError:
                        continue
                    add("java", f"java/jdk-{m.group(1)}", f"{zpath}!{name}", text,
                        "GPL-2.0-only WITH Classpath-exception-2.0")
    # JavaScript
    base = "/usr/lib/node_modules/npm/node_modules"
    for pkg_dir in sorted(glob.glob(f"{base}/*") + glob.glob(f"{base}/@*/*")):
        if os.path.basename(pkg_dir).startswith("@") or not os.path.isdir(pkg_dir):
            continue
        lic = _npm_license(pkg_dir)
        name = pkg_dir[len(base) + 1:]
        files = sorted(p for p in glob.glob(f"{pkg_dir}/**/*.js", recursive=True)
                       if "/node_modules/" not in p[len(pkg_dir):] and not p.endswith(".min.js"))
        for path in files[:6]:  # a few per package: variety
            add("javascript", f"javascript/npm-{name.split('/')[0]}", path, _read(path), lic)
    # TypeScript
    for path in sorted(glob.glob(f"{ts_root}/**/*.ts", recursive=True)):
        if path.endswith(".d.ts"):
            continue
        sub = os.path.relpath(path, ts_root).split("/")[0]
        add("typescript", f"typescript/rxjs-{sub}", path, _read(path), "Apache-2.0 (rxjs 7.8.1)")
    # Go
    for path in sorted(glob.glob("/usr/share/gocode/src/github.com/*/*/**/*.go", recursive=True)):
        parts = path.split("/")
        pkg = {"pflag": "golang-github-spf13-pflag-dev", "uuid": "golang-github-google-uuid-dev",
               "errors": "golang-github-pkg-errors-dev"}.get(parts[7], "")
        add("go", f"go/{parts[6]}-{parts[7]}", path, _read(path), _debian_license(pkg) if pkg else "unknown")
    for path in sorted(glob.glob("/usr/share/doc/git/contrib/**/*.go", recursive=True)):
        add("go", "go/git-contrib", path, _read(path), "Apache-2.0 (git contrib/persistent-https)")
    # Rust
    for crate_dir in sorted(glob.glob("/usr/share/cargo/registry/*")):
        crate = os.path.basename(crate_dir)
        pkg = "librust-" + re.sub(r"-[\d.]+$", "", crate).replace("_", "-") + "-dev"
        lic = _debian_license(pkg)
        for path in sorted(glob.glob(f"{crate_dir}/src/**/*.rs", recursive=True)):
            add("rust", f"rust/{crate}", path, _read(path), lic)
    return out


def select(files: list[SrcFile], rng: random.Random) -> tuple[list[SrcFile], list[SrcFile]]:
    """``(corpus, held_out)``: up to N_FILES distinct files, about HELD_OUT of each group held out."""
    seen, uniq = set(), []
    for f in files:
        h = hashlib.sha1(f.text.encode()).hexdigest()
        if h not in seen:
            seen.add(h)
            uniq.append(f)
    groups: dict[str, list[SrcFile]] = defaultdict(list)
    for f in uniq:
        groups[f.source].append(f)
    for g in groups.values():
        rng.shuffle(g)
    # round-robin over groups so every source contributes
    picked: list[SrcFile] = []
    names = sorted(groups)
    while len(picked) < N_FILES and any(groups[n] for n in names):
        for n in names:
            if groups[n] and len(picked) < N_FILES:
                picked.append(groups[n].pop())
    by_group: dict[str, list[SrcFile]] = defaultdict(list)
    for f in picked:
        by_group[f.source].append(f)
    corpus, held = [], []
    for n in sorted(by_group):
        g = by_group[n]
        k = int(round(HELD_OUT * len(g))) if len(g) >= 3 else 0
        held += g[:k]
        corpus += g[k:]
    # every language needs held-out material
    while len(held) < max(3, int(HELD_OUT * len(picked))) and len(corpus) > 4:
        held.append(corpus.pop(rng.randrange(len(corpus))))
    return corpus, held


# --- lexer (independent of dedupblock.featurize.code) -----------------------------------------

KEYWORDS = {
    "c": "auto break case char const continue default do double else enum extern float for goto if inline int "
         "long register restrict return short signed sizeof static struct switch typedef union unsigned void "
         "volatile while _Bool bool true false NULL",
    "go": "break case chan const continue default defer else fallthrough for func go goto if import interface map "
          "package range return select struct switch type var nil true false iota",
    "java": "abstract assert boolean break byte case catch char class const continue default do double else enum "
            "extends final finally float for goto if implements import instanceof int interface long native new "
            "package private protected public return short static strictfp super switch synchronized this throw "
            "throws transient try void volatile while true false null var record yield sealed permits",
    "javascript": "break case catch class const continue debugger default delete do else export extends finally for "
                  "function if import in instanceof new return super switch this throw try typeof var void while "
                  "with yield let static await async of null true false undefined get set",
    "rust": "as async await break const continue crate dyn else enum extern false fn for if impl in let loop match "
            "mod move mut pub ref return self Self static struct super trait true type unsafe use where while",
}
KEYWORDS["cpp"] = KEYWORDS["c"] + (
    " class namespace template typename public private protected virtual override final operator new delete this "
    "using constexpr noexcept nullptr throw try catch explicit friend mutable decltype static_cast const_cast "
    "reinterpret_cast dynamic_cast")
KEYWORDS["typescript"] = KEYWORDS["javascript"] + (
    " abstract any boolean declare enum implements interface keyof namespace never number object private protected "
    "public readonly string symbol type unknown is infer asserts override satisfies")
KEYWORDS = {k: frozenset(v.split()) for k, v in KEYWORDS.items()}

#: names never renamed (builtins, stdlib, common types), besides keywords
BUILTINS = {
    "c": "printf fprintf sprintf snprintf malloc calloc realloc free memcpy memset memmove memcmp strlen strcmp "
         "strncmp strcpy strcat strchr exit abort assert errno stdin stdout stderr FILE size_t ssize_t uint8_t "
         "uint16_t uint32_t uint64_t int8_t int16_t int32_t int64_t main argc argv std",
    "go": "append cap close complex copy delete imag len make new panic print println real recover error string "
          "int int8 int16 int32 int64 uint uint8 uint16 uint32 uint64 uintptr float32 float64 byte rune bool any "
          "fmt os strings strconv errors io time sort bytes",
    "java": "System String Object Integer Long Double Boolean Character Byte Short Float Math List Map Set "
            "ArrayList HashMap Exception RuntimeException Override Deprecated main args",
    "javascript": "console window document globalThis Object Array String Number Boolean Symbol Math JSON Date "
                  "RegExp Promise Map Set WeakMap Error TypeError require module exports process Buffer",
    "rust": "Some None Ok Err Vec String Box Option Result println print format vec panic assert assert_eq "
            "bool char str i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize f32 f64 main",
}
BUILTINS["cpp"] = BUILTINS["c"]
BUILTINS["typescript"] = BUILTINS["javascript"]
BUILTINS = {k: frozenset(v.split()) for k, v in BUILTINS.items()}

OPS = sorted(set(
    ">>>= <<= >>= >>> ... <=> === !== &&= ||= ??= ** **= -> => == != <= >= && || ++ -- += -= *= /= %= &= |= ^= "
    "<< >> :: ?. ?? .. ..= := <- &^".split()), key=len, reverse=True)
_OP_RE = re.compile("|".join(re.escape(o) for o in OPS))
_WORD_RE = re.compile(r"[A-Za-z_$][\w$]*")
_NUM_RE = re.compile(r"0[xX][0-9a-fA-F_]+[uUlLiz0-9]*|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?[\w]*")
_REGEX_PREV = frozenset("( , = : [ ! & | ? { } ; + - * % < > ~ ^ == === != !== && || => return typeof case".split())


@dataclass
class Tok:
    kind: str  # ws com str num id op pp
    text: str
    start: int


def _scan_string(text: str, i: int, quote: str) -> int:
    """End of a quoted literal starting at ``i`` (escapes honoured, stops at newline)."""
    j = i + 1
    n = len(text)
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == quote:
            return j + 1
        if c == "\n":
            return j
        j += 1
    return n


def _scan_template(text: str, i: int) -> int:
    """End of a JS template literal at ``i`` (nested ``${ ... }`` with strings / templates)."""
    j, n = i + 1, len(text)
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
        elif c == "`":
            return j + 1
        elif c == "$" and text.startswith("${", j):
            depth, j = 1, j + 2
            while j < n and depth:
                c = text[j]
                if c in "'\"":
                    j = _scan_string(text, j, c)
                    continue
                if c == "`":
                    j = _scan_template(text, j)
                    continue
                depth += {"{": 1, "}": -1}.get(c, 0)
                j += 1
        else:
            j += 1
    return n


def lex(text: str, lang: str) -> list[Tok]:
    """Every character of ``text`` in exactly one token (so ``"".join`` restores it)."""
    toks: list[Tok] = []
    i, n = 0, len(text)
    last_sig = ""
    line_start = True
    while i < n:
        c = text[i]
        if c.isspace():
            j = i
            while j < n and text[j].isspace():
                j += 1
            toks.append(Tok("ws", text[i:j], i))
            if "\n" in text[i:j]:
                line_start = True
            i = j
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
        elif text.startswith("/*", i):
            if lang == "rust":  # nested block comments
                depth, j = 1, i + 2
                while j < n and depth:
                    if text.startswith("/*", j):
                        depth, j = depth + 1, j + 2
                    elif text.startswith("*/", j):
                        depth, j = depth - 1, j + 2
                    else:
                        j += 1
            else:
                j = text.find("*/", i + 2)
                j = n if j < 0 else j + 2
        else:
            j = -1
        if j >= 0:
            toks.append(Tok("com", text[i:j], i))
            i = j
            continue
        kind, j = None, i
        if lang in ("c", "cpp") and c == "#" and line_start:
            m = re.compile(r"#[ \t]*\w+").match(text, i)
            if m:
                kind, j = "pp", m.end()
        if kind is None and lang == "cpp" and re.match(r'(?:u8|[uUL])?R"', text[i:i + 4]):
            m = re.compile(r'(?:u8|[uUL])?R"([^()\\\s]{0,16})\((?:.|\n)*?\)\1"').match(text, i)
            if m:
                kind, j = "str", m.end()
        if kind is None and lang == "rust" and re.match(r'b?r#*"', text[i:i + 20]):
            m = re.compile(r'b?r(#*)"(?:.|\n)*?"\1').match(text, i)
            if m:
                kind, j = "str", m.end()
        if kind is None and lang == "java" and text.startswith('"""', i):
            e = text.find('"""', i + 3)
            kind, j = "str", (n if e < 0 else e + 3)
        if kind is None and c == '"' or (lang == "rust" and text.startswith('b"', i)):
            s = i + (1 if c == "b" else 0)
            if lang == "rust":  # Rust strings may span lines
                j = s + 1
                while j < n and text[j] != '"':
                    j += 2 if text[j] == "\\" else 1
                kind, j = "str", min(j + 1, n)
            else:
                kind, j = "str", _scan_string(text, s, '"')
        if kind is None and c == "'":
            if lang == "rust":
                m = re.compile(r"'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^'\\\n])'").match(text, i)
                if m:
                    kind, j = "str", m.end()
                else:
                    m = re.compile(r"'[A-Za-z_]\w*").match(text, i)
                    kind, j = ("id_lifetime", m.end()) if m else ("op", i + 1)
            else:
                kind, j = "str", _scan_string(text, i, "'")
        if kind is None and c == "`":
            if lang == "go":
                e = text.find("`", i + 1)
                kind, j = "str", (n if e < 0 else e + 1)
            elif lang in ("javascript", "typescript"):
                kind, j = "str", _scan_template(text, i)
        if kind is None and c == "/" and lang in ("javascript", "typescript") and last_sig in _REGEX_PREV:
            m = re.compile(r"/(?![*/])(?:\\.|\[(?:\\.|[^\]\\\n])*\]|[^/\\\n\[])+/[a-z]*").match(text, i)
            if m:
                kind, j = "str", m.end()
        if kind is None:
            m = _WORD_RE.match(text, i) if (c.isalpha() or c in "_$") else None
            if m and not (c == "$" and lang not in ("javascript", "typescript")):
                kind, j = "id", m.end()
            elif c.isdigit() or (c == "." and i + 1 < n and text[i + 1].isdigit()):
                kind, j = "num", _NUM_RE.match(text, i).end()
            else:
                m = _OP_RE.match(text, i)
                kind, j = "op", (m.end() if m else i + 1)
        if kind == "id_lifetime":
            kind = "op"
        word = text[i:j]
        if kind == "id" and word in KEYWORDS[lang]:
            kind = "kw"
        toks.append(Tok(kind, word, i))
        last_sig = word
        line_start = False
        i = j
    return toks


def sig(toks: list[Tok]) -> list[Tok]:
    return [t for t in toks if t.kind not in ("ws", "com")]


def code_token_count(text: str, lang: str) -> int:
    return len(sig(lex(text, lang)))


# --- shingles (the dev set's definition) -----------------------------------------------------

_SH_RE = re.compile(r"\w+|[^\w\s]")


def shingles(text: str, k: int = 8) -> list[int]:
    words = _SH_RE.findall(text.lower())
    return [hash(" ".join(words[i:i + k])) & 0xFFFFFFFFFFFF for i in range(max(0, len(words) - k + 1))]


class CorpusShingles:
    def __init__(self, docs: list[dict]) -> None:
        self.sets = {d["id"]: set(shingles(d["text"])) for d in docs}
        self.union = set().union(*self.sets.values()) if self.sets else set()

    def containing(self, text: str, frac: float = 0.9) -> list[str]:
        sh = set(shingles(text))
        if not sh:
            return []
        return [i for i, s in self.sets.items() if len(sh & s) >= frac * len(sh)]

    def overlap(self, text: str) -> tuple[float, float, int]:
        """(fraction shared with the union, max fraction shared with one doc, longest run of shared shingles)."""
        sh = shingles(text)
        if not sh:
            return 0.0, 0.0, 0
        st = set(sh)
        anyf = sum(1 for h in sh if h in self.union) / len(sh)
        maxd = max((len(st & s) / len(st) for s in self.sets.values()), default=0.0)
        run = best = 0
        for h in sh:
            run = run + 1 if h in self.union else 0
            best = max(best, run)
        return round(anyf, 4), round(maxd, 4), best


# --- passages ------------------------------------------------------------------------------------


def pick_passage(text: str, rng: random.Random, lo: int = 150, hi: int = 2000,
                 min_lines: int = 5, max_lines: int = 40) -> tuple[int, int] | None:
    """A span of whole lines: ``min_lines``..``max_lines`` lines, ``lo``..``hi`` characters."""
    lines = text.splitlines(keepends=True)
    if len(lines) < min_lines:
        return None
    offs = [0]
    for ln in lines:
        offs.append(offs[-1] + len(ln))
    target = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    for _ in range(20):
        a = rng.randrange(0, max(1, len(lines) - min_lines + 1))
        b = a + min_lines
        while b < len(lines) and b - a < max_lines and offs[b] - offs[a] < target:
            b += 1
        while b - a > min_lines and offs[b] - offs[a] > hi:
            b -= 1
        # drop blank lines at both ends
        while a < b and not lines[a].strip():
            a += 1
        while b > a and not lines[b - 1].strip():
            b -= 1
        size = offs[b] - offs[a]
        if b - a >= min_lines and lo <= size <= hi:
            end = offs[b] - (1 if text[offs[b] - 1:offs[b]] == "\n" else 0)
            return offs[a], end
    return None


# --- renaming --------------------------------------------------------------------------------------

_WORDS = ("value item entry node buf data count total index pos offset result tmp cur next prev acc elem key "
          "val size len limit chunk token state ctx info opts handle ref target source dest mark flag slot cell "
          "field part piece blob frame unit record block span").split()
_SHORT = "idx jdx kk pos cnt val tmp cur acc elem num ix jx nn".split()
_ATTR = frozenset((".", "->", "::", "?."))
_QUALIFIERS = frozenset(
    "static const extern inline volatile register struct union enum unsigned signed final public private protected "
    "abstract synchronized transient native default".split())
_SELF = frozenset(("this", "self"))


def _style_name(orig: str, rng: random.Random) -> str:
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", orig) or [orig.lower()]
    r = rng.random()
    if len(orig) <= 2:
        new_words = [rng.choice(_SHORT)]
    elif r < 0.35:
        new_words = [rng.choice(_WORDS)] + [w.lower() for w in words]
    elif r < 0.6:
        new_words = [w.lower() for w in words] + [rng.choice(_WORDS)]
    else:
        new_words = [rng.choice(_WORDS), rng.choice(_WORDS)]
    if orig.isupper() and len(orig) > 1:
        return "_".join(w.upper() for w in new_words)
    if "_" in orig.strip("_"):
        return orig[:len(orig) - len(orig.lstrip("_"))] + "_".join(new_words)
    if orig[:1].isupper():
        return "".join(w.capitalize() for w in new_words)
    return new_words[0] + "".join(w.capitalize() for w in new_words[1:])


def _matching(s: list[Tok], i: int, open_: str, close: str) -> int:
    depth = 0
    for j in range(i, len(s)):
        if s[j].text == open_:
            depth += 1
        elif s[j].text == close:
            depth -= 1
            if depth == 0:
                return j
    return len(s) - 1


def declared_names(toks: list[Tok], lang: str) -> tuple[set[str], set[str]]:
    """``(names, members)``: locally declared names in a passage (variables, parameters,
    functions, methods), and those of them that are functions / methods / fields (which
    are renamed after ``this.`` / ``self.`` too)."""
    s = sig(toks)
    names: set[str] = set()
    members: set[str] = set()
    kw = KEYWORDS[lang]
    n = len(s)

    def t(i: int) -> str:
        return s[i].text if 0 <= i < n else ""

    def is_id(i: int) -> bool:
        return 0 <= i < n and s[i].kind == "id"

    def params(open_i: int, close: str = ")", need_colon: bool = False) -> None:
        end = _matching(s, open_i, s[open_i].text, close)
        depth = 0
        for j in range(open_i, end):
            depth += {"(": 1, "[": 1, "{": 1, "<": 1, ")": -1, "]": -1, "}": -1, ">": -1}.get(t(j), 0)
            if lang not in ("java", "c", "cpp") and is_id(j) and depth == 1 and t(j - 1) in (
                    "(", ",", "...", "mut", "|", "&") and (
                    not need_colon or t(j + 1) in (":", "?")):
                names.add(t(j))
            elif lang in ("java", "c", "cpp") and is_id(j) and depth == 1 and t(j + 1) in (",", ")") and (
                    is_id(j - 1) or s[j - 1].kind == "kw" or t(j - 1) in ("*", "&", "]", ">")):
                names.add(t(j))

    struct_depths: set[int] = set()
    depth = 0
    for i, tok in enumerate(s):
        x = tok.text
        if x == "{":
            depth += 1
            if any(t(k) in ("struct", "union", "enum", "interface") for k in range(i - 3, i)):
                struct_depths.add(depth)
        elif x == "}":
            struct_depths.discard(depth)
            depth -= 1
        if depth in struct_depths:
            continue
        if lang in ("javascript", "typescript"):
            if x in ("let", "const", "var") and t(i + 1) in ("{", "["):
                close = "}" if t(i + 1) == "{" else "]"
                end = _matching(s, i + 1, t(i + 1), close)
                for j in range(i + 2, end):
                    if is_id(j) and t(j + 1) in (",", close, "=") and t(j - 1) in (",", "{", "[", ":", "..."):
                        names.add(t(j))
            if x in ("let", "const", "var", "function") and is_id(i + 1):
                names.add(t(i + 1))
                if x == "function":
                    members.add(t(i + 1))
            if x == "function":
                k = i + 2 if is_id(i + 1) else i + 1
                if t(k) == "*":
                    k += 1
                    if is_id(k):
                        names.add(t(k))
                        k += 1
                if t(k) == "(":
                    params(k, need_colon=False)
            if x == "=>":
                if is_id(i - 1):
                    names.add(t(i - 1))
                elif t(i - 1) == ")":
                    depth2 = 0
                    for k in range(i - 1, -1, -1):
                        depth2 += {")": 1, "(": -1}.get(t(k), 0)
                        if depth2 == 0:
                            params(k)
                            break
            if x == "catch" and t(i + 1) == "(" and is_id(i + 2):
                names.add(t(i + 2))
            # method definition: name(args) {  at statement / class-body level
            if tok.kind == "id" and t(i + 1) == "(" and t(i - 1) in ("{", "}", ";", "async", "static", "get", "set",
                                                                   "public", "private", "protected", "*", ""):
                end = _matching(s, i + 1, "(", ")")
                if t(end + 1) in ("{", ":"):
                    names.add(x)
                    members.add(x)
                    params(i + 1)
        elif lang == "go":
            if x == "func":
                k = i + 1
                if t(k) == "(":  # receiver
                    params(k)
                    k = _matching(s, k, "(", ")") + 1
                if is_id(k):
                    names.add(t(k))
                    members.add(t(k))
                    k += 1
                if t(k) == "[":  # type parameters
                    k = _matching(s, k, "[", "]") + 1
                if t(k) == "(":
                    params(k)
            if x in ("var", "const"):
                if is_id(i + 1):
                    names.add(t(i + 1))
                    k = i + 2
                    while t(k) == "," and is_id(k + 1):
                        names.add(t(k + 1))
                        k += 2
                elif t(i + 1) == "(":
                    end = _matching(s, i + 1, "(", ")")
                    for j in range(i + 2, end):
                        if is_id(j) and (t(j - 1) == "(" or _newline_before(toks, s[j])):
                            names.add(t(j))
            if x == ":=":
                k = i - 1
                while is_id(k):
                    names.add(t(k))
                    if t(k - 1) != ",":
                        break
                    k -= 2
        elif lang == "rust":
            if x == "let":
                k = i + 1
                if t(k) in ("mut", "ref"):
                    k += 1
                if is_id(k):
                    names.add(t(k))
                elif t(k) == "(":
                    params(k)
            k = i + 1 if t(i + 1) != "mut" else i + 2
            if (x == "fn" or x in ("const", "static") and t(k + 1) == ":") and is_id(k):
                names.add(t(k))
                if x == "fn":
                    members.add(t(k))
                    k += 1
                    if t(k) == "<":
                        k = _matching(s, k, "<", ">") + 1
                    if t(k) == "(":
                        params(k, need_colon=True)
            if x == "for" and is_id(i + 1) and t(i + 2) == "in":
                names.add(t(i + 1))
            if x == "|" and t(i - 1) in ("(", ",", "=", "move", "{", ";", "||", ""):
                end = next((k for k in range(i + 1, min(n, i + 30)) if t(k) == "|"), -1)
                for j in range(i + 1, end):
                    if is_id(j) and t(j - 1) in ("|", ",", "mut", "&") and t(j + 1) in (",", "|", ":"):
                        names.add(t(j))
        else:  # c, cpp, java: "TYPE name" followed by = ; , ) ( [ :
            if lang in ("c", "cpp") and tok.kind == "pp" and x.replace(" ", "") == "#define" and is_id(i + 1):
                names.add(t(i + 1))
                continue
            if tok.kind != "id" or t(i + 1) not in ("=", ";", ",", ")", "(", "[", ":"):
                continue
            if t(i - 1) in _ATTR or t(i - 2) == "@":
                continue
            k = i - 1
            while t(k) in ("*", "&", "&&", "const"):
                k -= 1
            prev = s[k] if 0 <= k < n else None
            if prev is None:
                continue
            typed = member = False
            if prev.kind == "kw" and prev.text in (
                    "int char long short float double void unsigned signed bool _Bool boolean byte var "
                    "auto".split()):
                typed = True
            elif prev.kind == "id" and t(k - 1) not in _ATTR:
                # the type must start a statement / parameter: struct X, const T, static T ...
                kk = k - 1
                while kk >= 0 and s[kk].kind == "kw" and s[kk].text in _QUALIFIERS:
                    if s[kk].text in ("private", "protected", "public", "static", "final"):
                        member = True
                    kk -= 1
                typed = kk < 0 or t(kk) in (";", "{", "}", "(", ",", ")") or s[kk].kind == "pp"
            elif prev.text == ">" and lang != "c":
                d = 0
                for kk in range(k, max(-1, k - 30), -1):
                    d += {">": 1, "<": -1, ">>": 2}.get(t(kk), 0)
                    if d == 0:
                        typed = is_id(kk - 1) and t(kk - 1)[:1].isupper()
                        break
            elif prev.text == "]" and t(k - 1) == "[":
                typed = is_id(k - 2) or s[k - 2].kind == "kw" if k >= 2 else False
            if typed and x not in kw:
                names.add(x)
                if member or t(i + 1) == "(":
                    members.add(x)
                if t(i + 1) == "(":
                    params(i + 1)
    # imported names are not local
    imported: set[str] = set()
    for i, tok in enumerate(s):
        if tok.text in ("use", "import", "package") or (tok.kind == "pp" and "include" in tok.text):
            j, d = i + 1, 0
            while j < n and t(j) != ";" and j - i < 200:
                if d == 0 and _newline_before(toks, s[j]):
                    break
                d += {"(": 1, "{": 1, ")": -1, "}": -1}.get(t(j), 0)
                if is_id(j):
                    imported.add(t(j))
                j += 1
    names = {nm for nm in names if nm not in kw and nm not in BUILTINS[lang] and nm not in imported}
    return names, members & names


def _newline_before(toks: list[Tok], tok: Tok) -> bool:
    idx = next((k for k, t in enumerate(toks) if t is tok), -1)
    return idx > 0 and toks[idx - 1].kind == "ws" and "\n" in toks[idx - 1].text


def _span_tokens(doc: str, span: tuple[int, int], lang: str) -> list[Tok]:
    """The tokens of ``doc[a:b]``, lexed in the context of the whole document (a passage
    that starts inside a comment or string keeps it a comment / string)."""
    a, b = span
    out = []
    for t in lex(doc, lang):
        end = t.start + len(t.text)
        if end <= a or t.start >= b:
            continue
        if t.start < a or end > b:
            lo, hi = max(a, t.start), min(b, end)
            kind = t.kind if t.kind in ("ws", "com", "str") else "op"
            t = Tok(kind, doc[lo:hi], lo)
        out.append(t)
    return out


def rename(doc: str, span: tuple[int, int], lang: str, rng: random.Random) -> tuple[str, dict[str, str], int]:
    """``(renamed passage doc[a:b], renames, renamed token count)``."""
    toks = _span_tokens(doc, span, lang)
    decl, members = declared_names(toks, lang)
    names = sorted(decl)
    text = doc[span[0]:span[1]]
    if not names:
        return text, {}, 0
    existing = {t.text for t in toks if t.kind in ("id", "kw")}
    renames: dict[str, str] = {}
    for nm in names:
        for _ in range(20):
            new = _style_name(nm, rng)
            if new != nm and new not in existing and new not in renames.values() and new not in KEYWORDS[lang] \
                    and new not in BUILTINS[lang]:
                renames[nm] = new
                break
    s = sig(toks)
    pos = {id(t): k for k, t in enumerate(s)}
    bracket: list[str] = []
    brk_at: dict[int, str] = {}
    for t in s:
        brk_at[id(t)] = bracket[-1] if bracket else ""
        if t.text in "([{" and t.kind == "op":
            bracket.append(t.text)
        elif t.text in ")]}" and t.kind == "op" and bracket:
            bracket.pop()
    out, count = [], 0
    for t in toks:
        new = renames.get(t.text) if t.kind == "id" else None
        if new is not None:
            k = pos[id(t)]
            prev = s[k - 1].text if k > 0 else ""
            nxt = s[k + 1].text if k + 1 < len(s) else ""
            receiver = s[k - 2].text if k > 1 else ""
            if prev in _ATTR and (receiver not in _SELF or t.text not in members):
                new = None  # attribute of another object (or not defined here)
            elif lang in ("javascript", "typescript", "go", "rust") and nxt == ":" and prev in ("{", ",") \
                    and brk_at[id(t)] == "{":
                new = None  # object literal / struct literal key
            elif lang == "rust" and nxt == "!":
                new = None  # macro invocation
        if new is not None:
            out.append(new)
            count += 1
        else:
            out.append(t.text)
    return "".join(out), {k: v for k, v in renames.items()}, count


def token_edits(text: str, lang: str, rng: random.Random, rate: float) -> tuple[str, dict[str, int], int, int]:
    """Substitute / delete / insert about ``rate`` of the code tokens."""
    toks = lex(text, lang)
    sig_idx = [k for k, t in enumerate(toks) if t.kind not in ("ws", "com")]
    n_edit = max(1, round(rate * len(sig_idx)))
    ops = Counter()
    chosen = rng.sample(sig_idx, min(n_edit, len(sig_idx)))
    pool = {kind: [t.text for t in toks if t.kind == kind] for kind in ("id", "op", "num", "kw", "str")}
    texts = [t.text for t in toks]
    for k in chosen:
        op = rng.choice(("sub", "sub", "del", "ins"))
        kind = toks[k].kind if toks[k].kind in pool else "op"
        if op == "sub":
            cands = [w for w in pool[kind] if w != texts[k]] or pool["id"]
            if not cands:
                continue
            texts[k] = rng.choice(cands)
        elif op == "del":
            texts[k] = ""
        else:
            texts[k] = texts[k] + " " + rng.choice(pool["id"] or pool["op"])
        ops[op] += 1
    return "".join(texts), dict(ops), sum(ops.values()), len(sig_idx)


# --- whitespace reformatting ----------------------------------------------------------------------------


def _line_states(toks: list[Tok]) -> tuple[list[str], set[int]]:
    """Lines of the text, and the lines that start inside a multi-line literal."""
    inside: set[int] = set()
    line = 0
    for t in toks:
        nl = t.text.count("\n")
        if nl and t.kind == "str":
            inside.update(range(line + 1, line + nl + 1))
        line += nl
    text = "".join(t.text for t in toks)
    return text.split("\n"), inside


def _op_strip_comments(text: str, lang: str, rng: random.Random) -> str:
    toks = lex(text, lang)
    if not any(t.kind == "com" for t in toks):
        return text
    out = "".join("" if t.kind == "com" else t.text for t in toks)
    lines = [ln.rstrip() for ln in out.split("\n")]
    orig_blank = {k for k, ln in enumerate(text.split("\n")) if not ln.strip()}
    kept = [ln for k, ln in enumerate(lines) if ln.strip() or k in orig_blank]
    return "\n".join(kept)


def _op_reindent(text: str, lang: str, rng: random.Random) -> str:
    lines, inside = _line_states(lex(text, lang))
    indents = [len(ln) - len(ln.lstrip(" \t")) for k, ln in enumerate(lines) if ln.strip() and k not in inside]
    if not indents:
        return text
    uses_tabs = any(ln.startswith("\t") for ln in lines)
    unit_old = 1 if uses_tabs else (min((i for i in indents if i > 0), default=4) or 4)
    base = min(indents) if rng.random() < 0.6 else 0
    unit_new = rng.choice([u for u in ("  ", "    ", "\t", "   ") if u != ("\t" if uses_tabs else " " * unit_old)])
    out = []
    for k, ln in enumerate(lines):
        if k in inside or not ln.strip():
            out.append(ln)
            continue
        ws = ln[:len(ln) - len(ln.lstrip(" \t"))]
        width = ws.count("\t") + (len(ws.replace("\t", "")) // unit_old if unit_old else 0)
        if uses_tabs:
            width = ws.count("\t")
        base_w = base if uses_tabs else base // max(unit_old, 1)
        out.append(unit_new * max(0, width - base_w) + ln.lstrip(" \t"))
    return "\n".join(out)


def _op_spacing(text: str, lang: str, rng: random.Random) -> str:
    toks = lex(text, lang)
    out = []
    for k, t in enumerate(toks):
        prev = toks[k - 1] if k else None
        nxt = toks[k + 1] if k + 1 < len(toks) else None
        if t.kind == "ws" and "\n" not in t.text and prev and nxt and prev.kind != "com" and nxt.kind != "com":
            kinds = {prev.kind, nxt.kind}
            if "op" in kinds and not kinds <= {"op"} and not (kinds & {"pp"}) and rng.random() < 0.5:
                continue  # drop the space next to an operator
        out.append(t.text)
        if t.kind == "op" and t.text in (",", "=", "==", "+", "-", "(", "&&", "||", ":", ";") and nxt is not None \
                and nxt.kind in ("id", "num", "kw") and rng.random() < 0.3:
            out.append(" ")
    return "".join(out)


def _op_blank_lines(text: str, lang: str, rng: random.Random) -> str:
    lines, inside = _line_states(lex(text, lang))
    if any(not ln.strip() for ln in lines) and rng.random() < 0.6:
        return "\n".join(ln for k, ln in enumerate(lines) if ln.strip() or k in inside)
    out = []
    for k, ln in enumerate(lines):
        out.append(ln)
        if k + 1 < len(lines) and k + 1 not in inside and ln.rstrip().endswith((";", "{", "}")) and rng.random() < 0.2:
            out.append("")
    return "\n".join(out)


def _line_ends_clean(ln: str, lang: str) -> bool:
    toks = lex(ln, lang)
    sg = [t for t in toks if t.kind != "ws"]
    return bool(sg) and sg[-1].kind not in ("com", "pp") and not any(t.kind == "pp" for t in sg)


def _op_join_lines(text: str, lang: str, rng: random.Random) -> str:
    lines, inside = _line_states(lex(text, lang))
    out: list[str] = []
    k = 0
    while k < len(lines):
        ln = lines[k]
        if k + 1 < len(lines) and k + 1 not in inside and ln.strip() and lines[k + 1].strip() \
                and len(lines[k + 1].strip()) < 40 and rng.random() < 0.35:
            nxt = lines[k + 1].strip()
            if (ln.rstrip().endswith(("{", ",", "(", ";")) or nxt.startswith(("}", ")", "."))) \
                    and _line_ends_clean(ln, lang) and _line_ends_clean(nxt, lang) and not nxt.startswith("#"):
                out.append(ln.rstrip() + " " + nxt)
                k += 2
                continue
        out.append(ln)
        k += 1
    return "\n".join(out)


def _op_split_lines(text: str, lang: str, rng: random.Random) -> str:
    toks = lex(text, lang)
    out = []
    col = 0
    indent = ""
    for k, t in enumerate(toks):
        if t.kind == "ws" and "\n" in t.text:
            out.append(t.text)
            indent = t.text.rsplit("\n", 1)[1]
            col = len(indent)
            continue
        if t.kind == "ws" and k > 0 and toks[k - 1].text == "," and col > 30 and rng.random() < 0.4:
            out.append("\n" + indent + "        ")
            col = len(indent) + 8
            continue
        out.append(t.text)
        col += len(t.text)
    return "".join(out)


def _op_brace_style(text: str, lang: str, rng: random.Random) -> str:
    lines, inside = _line_states(lex(text, lang))
    out: list[str] = []
    for k, ln in enumerate(lines):
        st = ln.strip()
        if st == "{" and out and k not in inside and _line_ends_clean(out[-1], lang):
            out[-1] = out[-1].rstrip() + " {"
            continue
        if st.endswith("{") and len(st) > 1 and k not in inside and _line_ends_clean(ln, lang) and rng.random() < 0.7:
            indent = ln[:len(ln) - len(ln.lstrip())]
            out.append(ln.rstrip()[:-1].rstrip())
            out.append(indent + "{")
            continue
        out.append(ln)
    return "\n".join(out)


REFORMAT_OPS = {
    "reindent": _op_reindent, "spacing": _op_spacing, "blank_lines": _op_blank_lines,
    "join_lines": _op_join_lines, "split_lines": _op_split_lines, "brace_style": _op_brace_style,
    "strip_comments": _op_strip_comments,
}


def reformat(text: str, lang: str, rng: random.Random) -> tuple[str, list[str]]:
    names = list(REFORMAT_OPS)
    rng.shuffle(names)
    want = rng.randint(2, 4)
    done: list[str] = []
    for name in names:
        if len(done) >= want:
            break
        new = REFORMAT_OPS[name](text, lang, rng)
        if new != text:
            text = new
            done.append(name)
    return text, done


# --- boilerplate -----------------------------------------------------------------------------------------

def boilerplate(text: str, lang: str) -> list[tuple[str, str]]:
    """``[(type, snippet)]`` of typical boilerplate in one file."""
    out = []
    toks = lex(text, lang)
    first = next((t for t in toks if t.kind != "ws"), None)
    if first is not None and first.kind == "com" and first.text.count("\n") >= 2:
        out.append(("license_header", first.text))
    lines = text.split("\n")
    imp = {"c": r"#\s*include", "cpp": r"#\s*include", "java": r"(import|package)\s", "go": r"(import|package)\b",
           "javascript": r"(import\s|const \w+ = require\(|'use strict')", "typescript": r"import\s",
           "rust": r"(pub )?(use|mod|extern crate)\s"}[lang]
    block: list[str] = []
    for ln in lines + [""]:
        if re.match(imp, ln) or (block and lang in ("go", "typescript", "javascript") and ln.strip()
                                  and (block[-1].rstrip().endswith(("(", "{", ",")) or ln.strip().startswith((")", "}", '"')))):
            block.append(ln)
        else:
            if sum(1 for b in block if b.strip()) >= 2:
                out.append(("imports", "\n".join(block).strip("\n")))
            block = []
    # short accessors / error checks
    pats = {
        "java": r"\n([ \t]*(?:public |protected |private )?(?:final )?\w+(?:<[^>]*>)? (?:get|set|is)\w*\([^)]*\)\s*\{[^{}]{0,120}\})",
        "go": r"\n([ \t]*if err != nil \{[^{}]{0,80}\})",
        "c": r"\n([ \t]*if \([^\n]{0,60}== NULL\)[^\n]*\n[^\n]*(?:\n[ \t]*\})?)",
        "cpp": r"\n([ \t]*(?:const )?\w+[&*]? (?:get|set|size|empty|begin|end)\w*\(\)[^{;]*\{[^{}]{0,80}\})",
        "rust": r"\n([ \t]*(?:pub )?fn (?:new|len|is_empty|as_\w+|get)\([^)]*\)[^{]*\{[^{}]{0,100}\})",
        "javascript": r"\n([ \t]*module\.exports = [^\n]{0,120})",
        "typescript": r"\n([ \t]*export (?:function|const) \w+[^\n]{0,80}\{[^{}]{0,80}\})",
    }
    for m in re.finditer(pats[lang], text):
        out.append(("accessor_or_check", m.group(1)))
    return out


# --- generation ----------------------------------------------------------------------------------------

FENCE_TAGS = {"c": ("c",), "cpp": ("cpp", "c++"), "java": ("java",), "javascript": ("javascript", "js"),
              "typescript": ("typescript", "ts"), "go": ("go",), "rust": ("rust", "rs")}
PROSE = [
    "Here is how the relevant part of the implementation looks:",
    "The following code shows one way to do it.",
    "Sure! Below is an example you can adapt to your project.",
    "You can use something like this:",
    "This version handles the edge cases mentioned above.",
]
PROSE_AFTER = [
    "Let me know if you need the rest of the module as well.",
    "Note that error handling is kept minimal for brevity.",
    "The key part is the loop in the middle; the rest is setup.",
    "This should compile with the default toolchain settings.",
]


def held_chunk(held: list[SrcFile], rng: random.Random, lo: int, hi: int, lang: str) -> tuple[str, str] | None:
    f = rng.choice(held)
    span = pick_passage(f.text, rng, lo, hi, 5, 120)
    if span is None:
        return None
    return f.text[span[0]:span[1]], f.source + ":" + os.path.basename(f.path)


def generate(files: dict[str, list[SrcFile]], seed: int) -> tuple[list[dict], list[dict], dict]:
    rng = random.Random(seed)
    corpus_recs: list[dict] = []
    queries: list[dict] = []
    stats: dict = {"rejections": Counter(), "langs": {}}
    did = 0
    qid = 0
    for lang in sorted(files):
        corpus, held = select(files[lang], rng)
        if len(corpus) < 4 or len(held) < 2:
            stats["rejections"][f"{lang}:too_few_files"] += 1
            continue
        docs = []
        for f in corpus:
            docs.append({"id": f"lc-{lang}-d{did:03d}", "text": f.text, "lang": lang,
                         "source": f.source + ":" + f.path.split("!")[-1].replace("/usr/share/", ""),
                         "license": f.license})
            did += 1
        corpus_recs += docs
        cs = CorpusShingles(docs)
        stats["langs"][lang] = {
            "corpus_files": len(docs), "held_out_files": len(held),
            "corpus_chars": sum(len(d["text"]) for d in docs),
            "sources": sorted({f.source for f in corpus + held}),
            "licenses": sorted({f.license for f in corpus + held}),
        }

        def add(kind: str, text: str, label: int, target: str | None, meta: dict) -> None:
            nonlocal qid
            queries.append({"qid": f"lc-q{qid:05d}", "text": text, "lang": lang, "label": label, "kind": kind,
                            "target_id": target, "meta": meta})
            qid += 1

        def positive_passage(lo=150, hi=2000):
            for _ in range(50):
                d = rng.choice(docs)
                span = pick_passage(d["text"], rng, lo, hi)
                if span is None:
                    continue
                p = d["text"][span[0]:span[1]]
                if code_token_count(p, lang) < 30:
                    stats["rejections"]["passage_few_code_tokens"] += 1
                    continue
                alt = [i for i in cs.containing(p) if i != d["id"]]
                if len(alt) > 2:
                    stats["rejections"]["passage_in_many_docs"] += 1
                    continue
                return d, span, p, alt
            return None

        for kind in ("verbatim", "whitespace_reformat", "renamed", "renamed_edit", "embedded"):
            made = tries = 0
            while made < N_PER_KIND and tries < 40 * N_PER_KIND:
                tries += 1
                got = positive_passage(150, 900 if kind == "embedded" else 2000)
                if got is None:
                    break
                d, span, p, alt = got
                meta = {"span": list(span), "alt_target_ids": alt}
                if kind == "verbatim":
                    add(kind, p, 1, d["id"], meta)
                elif kind == "whitespace_reformat":
                    t, ops = reformat(p, lang, rng)
                    if not ops:
                        stats["rejections"]["reformat_no_op"] += 1
                        continue
                    add(kind, t, 1, d["id"], {**meta, "ops": ops})
                elif kind in ("renamed", "renamed_edit"):
                    t, renames, count = rename(d["text"], span, lang, rng)
                    if len(renames) < 2 or count < 4:
                        stats["rejections"]["too_few_renames"] += 1
                        continue
                    meta = {**meta, "renames": renames, "n_renamed_tokens": count}
                    if kind == "renamed_edit":
                        rate = rng.uniform(0.03, 0.08)
                        t, ops, n_ed, n_tok = token_edits(t, lang, rng, rate)
                        meta.update(n_edits=n_ed, n_tokens=n_tok, edit_rate=round(n_ed / max(n_tok, 1), 4), ops=ops)
                    add(kind, t, 1, d["id"], meta)
                else:  # embedded
                    ratio = rng.uniform(2, 5)
                    parts, srcs, size, ok = [], [], 0, True
                    while size < ratio * len(p):
                        ch = held_chunk(held, rng, 150, 1500, lang)
                        if ch is None:
                            continue
                        parts.append(ch[0])
                        srcs.append(ch[1])
                        size += len(ch[0]) + 2
                    filler = "\n\n".join(parts)
                    ov = cs.overlap(filler)
                    if ov[1] > 0.25 or ov[2] >= 12:
                        stats["rejections"]["filler_overlap"] += 1
                        continue
                    cut_at = int(len(filler) * rng.uniform(0.3, 0.7))
                    nl = filler.find("\n", cut_at)
                    nl = len(filler) if nl < 0 else nl + 1
                    body = filler[:nl] + p + "\n" + filler[nl:]
                    offset = nl
                    markdown = rng.random() < 0.3
                    if markdown:
                        head = rng.choice(PROSE) + "\n\n```" + rng.choice(FENCE_TAGS[lang]) + "\n"
                        body = head + body + "\n```\n\n" + rng.choice(PROSE_AFTER) + "\n"
                        offset += len(head)
                    add(kind, body, 1, d["id"], {**meta, "passage_offset": offset, "passage_len": len(p),
                                                 "filler_ratio": round(len(filler) / len(p), 3),
                                                 "markdown": markdown, "filler_sources": sorted(set(srcs))})
                made += 1
            if made < N_PER_KIND:
                stats["rejections"][f"{lang}/{kind}:below_target_{N_PER_KIND - made}"] += 1

        made = tries = 0
        while made < N_PER_KIND and tries < 60 * N_PER_KIND:
            tries += 1
            f = rng.choice(held)
            long = rng.random() < 0.15
            span = pick_passage(f.text, rng, *(1500, 4000) if long else (150, 2000), 5, 120 if long else 40)
            if span is None:
                continue
            p = f.text[span[0]:span[1]]
            ov = cs.overlap(p)
            if ov[1] > 0.25 or ov[2] >= 12:
                stats["rejections"]["unrelated_overlap"] += 1
                continue
            add("negative_unrelated", p, 0, None, {"overlap_any": ov[0], "overlap_maxdoc": ov[1], "overlap_run": ov[2],
                                                   "long": long, "source": f.source + ":" + f.path.split("/")[-1],
                                                   "span": list(span)})
            made += 1
        cands = []
        for f in held:
            for bp_type, snip in boilerplate(f.text, lang):
                if len(snip) >= 40:
                    cands.append((bp_type, snip, f))
        rng.shuffle(cands)
        seen_bp = set()
        made = 0
        for bp_type, snip, f in cands:
            if made >= N_BOILER or snip in seen_bp:
                continue
            seen_bp.add(snip)
            ov = cs.overlap(snip)
            add("negative_boilerplate", snip, 0, None, {"bp_type": bp_type, "source": f.source + ":" + f.path.split("/")[-1],
                                                         "overlap_any": ov[0], "overlap_maxdoc": ov[1],
                                                         "overlap_run": ov[2]})
            made += 1
    stats["rejections"] = dict(sorted(stats["rejections"].items()))
    return corpus_recs, queries, stats


def main() -> None:
    global N_FILES, N_PER_KIND
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "tests" / "data" / "lang_checks"))
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--ts-root", default="/tmp/lang_sources/rxjs/package/src",
                    help="unpacked `npm pack rxjs@7.8.1` src/ directory")
    ap.add_argument("--files", type=int, default=N_FILES, help="files per language (corpus + held out)")
    ap.add_argument("--per-kind", type=int, default=N_PER_KIND,
                    help="queries per language and kind (the test suite's set uses the default)")
    args = ap.parse_args()
    N_FILES, N_PER_KIND = args.files, args.per_kind
    files = collect(args.ts_root)
    corpus, queries, stats = generate(files, args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as f:
        for r in corpus:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(out / "queries.jsonl", "w", encoding="utf-8") as f:
        for q in queries:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    counts = Counter((q["lang"], q["kind"]) for q in queries)
    stats["queries"] = {f"{lang}/{kind}": n for (lang, kind), n in sorted(counts.items())}
    stats["seed"] = args.seed
    with open(out / "stats.json", "w", encoding="utf-8") as f:
        json.dump(stats, f, indent=1, sort_keys=True)
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"{len(corpus)} corpus docs, {len(queries)} queries, {size / 1e6:.2f} MB in {out}")
    print(json.dumps(stats["rejections"], indent=1))


if __name__ == "__main__":
    main()
