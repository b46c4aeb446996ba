"""Code featurizer: identifier-normalised leaf tokens with offsets into the original.

Design (measured in ``bench/eval_code_schemes.py``, see
``docs/code-normalisation.md``):

* **The lexer is the primary path.**  Generated copies of code are excerpts:
  cut mid-block, re-indented, lines joined or split, comments stripped.  For
  Python such copies often do not parse, and whenever one side of a
  comparison parses and the other does not, *any* difference between a parser
  path and a fallback path costs shingles.  A regex lexer whose output does
  not depend on whitespace or on the text parsing gives exactly the same
  tokens for every such copy by construction, runs in linear time (no
  recursion, no tree), and never raises.
* **tree-sitter is the measured alternative**, ``engine="tree-sitter"``:
  the official grammar's leaves (parsers created lazily, cached per process;
  the tree is walked with a cursor, so deep nesting is safe), falling back to
  the lexer when more than :data:`MAX_ERROR_FRACTION` of the text is under
  ERROR nodes.  It is not the default because its only gain, telling
  contextual keywords (Python ``match``/``case``/``type``, JavaScript
  ``get``/``set``) from names, depends on whether the excerpt parses, which
  made verbatim excerpts lose shingles against their source.  The lexer treats
  each contextual keyword the same way everywhere (listed in its keyword set
  or not).
* **Python triple-quoted strings are not one ``<STR>``**: their delimiters are
  a ``\"\"\"`` token and their content is lexed like code.  Excerpts often
  start or end inside a docstring, which inverts what is string and what is
  code for the whole excerpt; lexing both the same way makes the inversion
  harmless.

Tokens and placeholders (the text that is hashed):

* identifiers: per scheme (see :data:`SCHEMES`): verbatim, ``<ID>``, or
  ``<ID0>``, ``<ID1>``, ... in order of first appearance;
* string / character literals (including JS template and raw strings, JS regex
  literals): ``<STR>``; number literals (C/C++ digit separators included): ``<NUM>``;
* Python triple-quote delimiters: ``\"\"\"`` (both quote styles, any prefix);
* keywords, operators, punctuation: their text (C preprocessor directives as
  ``#include`` etc., whitespace removed);
* comments and whitespace: nothing.

Hashes are XXH64 of the token text as UTF-32-LE (``seed``), i.e. the same
function as :func:`dedupblock.hashing.token_hash`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter

import numpy as np
import xxhash

from dedupblock.featurize.lang import canonical_lang, detect_lang
from dedupblock.featurize.pylex import PythonTables, featurize_python
from dedupblock.featurize.tokens import Tokens, codepoints

SCHEMES: tuple[str, ...] = ("raw", "collapse", "keep_api", "ordinal")
"""Identifier normalisations.

``raw``: verbatim.  ``collapse``: every identifier is ``<ID>``.  ``keep_api``:
``<ID>`` except attribute names (after ``.``, ``->``, ``::``, ``?.``, unless the
receiver is ``self``/``this``/``cls``, whose attributes a class defines itself)
and builtins of the language, which stay verbatim.  The decision looks only at
the neighbouring tokens (not at what the text defines), so that an excerpt and
its source always agree.  ``ordinal``: consistent renaming ``<ID0>``,
``<ID1>``, ... in order of first appearance.
"""

DEFAULT_SCHEME = "keep_api"
ENGINES: tuple[str, ...] = ("lexer", "tree-sitter")

# Token kinds produced by the lexer.
_ID, _KW, _STR, _NUM, _OP, _TRIPLE = range(6)

MAX_ERROR_FRACTION = 0.25
"""A parse with more of its bytes under ERROR nodes is not trusted."""


# --- per-language lexical data ---------------------------------------------------------

_PY_KEYWORDS = (
    "False None True and as assert async await break class continue def del elif else except "
    "finally for from global if import in is lambda nonlocal not or pass raise return try while with yield"
)
_JS_KEYWORDS = (
    "break case catch class const continue debugger default delete do else export extends finally "
    "for function if import in instanceof new return super switch this throw try typeof var void while "
    "with yield let static await async of from as null true false undefined"
)
_TS_KEYWORDS = _JS_KEYWORDS + (
    " abstract any boolean declare enum implements interface keyof namespace never number object "
    "private protected public readonly string symbol type unknown is infer asserts override satisfies"
)
_C_KEYWORDS = (
    "auto break case char const continue default do double else enum extern float for goto if inline "
    "int long register restrict return short signed sizeof static struct switch typedef union unsigned "
    "void volatile while _Bool _Complex _Atomic _Alignas _Alignof _Noreturn _Static_assert _Thread_local "
    "bool true false NULL size_t ssize_t ptrdiff_t intptr_t uintptr_t int8_t int16_t int32_t int64_t "
    "uint8_t uint16_t uint32_t uint64_t char16_t char32_t wchar_t"
)
_CPP_KEYWORDS = _C_KEYWORDS + (
    " alignas alignof and and_eq asm bitand bitor catch char8_t class co_await co_return co_yield compl "
    "concept const_cast consteval constexpr constinit decltype delete dynamic_cast explicit export friend "
    "mutable namespace new noexcept not not_eq nullptr operator or or_eq private protected public "
    "reinterpret_cast requires static_assert static_cast template this thread_local throw try typeid "
    "typename using virtual xor xor_eq override final"
)
_JAVA_KEYWORDS = (
    "abstract assert boolean break byte case catch char class const continue default do double else enum "
    "extends final finally float for goto if implements import instanceof int interface long native new "
    "package private protected public return short static strictfp super switch synchronized this throw "
    "throws transient try void volatile while true false null var record yield sealed permits"
)
_GO_KEYWORDS = (
    "break case chan const continue default defer else fallthrough for func go goto if import interface "
    "map package range return select struct switch type var nil true false iota"
)
_RUST_KEYWORDS = (
    "as async await break const continue crate dyn else enum extern false fn for if impl in let loop match "
    "mod move mut pub ref return self Self static struct super trait true type unsafe use where while "
    "macro_rules bool char str i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize f32 f64"
)

_PY_BUILTINS = (
    "abs aiter all anext any ascii bin bool breakpoint bytearray bytes callable chr classmethod compile "
    "complex delattr dict dir divmod enumerate eval exec filter float format frozenset getattr globals "
    "hasattr hash help hex id input int isinstance issubclass iter len list locals map max memoryview min "
    "next object oct open ord pow print property range repr reversed round set setattr slice sorted "
    "staticmethod str sum super tuple type vars zip self cls __name__ __file__ __doc__ __init__ "
    "Exception BaseException ValueError TypeError KeyError IndexError AttributeError RuntimeError "
    "OSError IOError StopIteration NotImplementedError NotImplemented ImportError NameError"
)
_JS_BUILTINS = (
    "console window document globalThis Object Array String Number Boolean Symbol Math JSON Date RegExp "
    "Promise Map Set WeakMap WeakSet Error TypeError RangeError parseInt parseFloat isNaN require module "
    "exports setTimeout setInterval clearTimeout fetch"
)
_C_BUILTINS = (
    "printf fprintf sprintf snprintf scanf malloc calloc realloc free memcpy memset memmove memcmp strlen "
    "strcmp strncmp strcpy strncpy strcat strchr strdup fopen fclose fread fwrite fgets fputs puts exit "
    "abort assert errno stdin stdout stderr FILE std cout cerr endl string vector map"
)
_JAVA_BUILTINS = "System String Object Integer Long Double Boolean Math List Map Set ArrayList HashMap Exception"
_GO_BUILTINS = (
    "append cap close complex copy delete imag len make new panic print println real recover error string "
    "int int8 int16 int32 int64 uint uint8 uint16 uint32 uint64 uintptr float32 float64 byte rune bool any fmt"
)
_RUST_BUILTINS = "Some None Ok Err Vec String Box Option Result println print format vec panic assert assert_eq"

_ATTR_OPS = frozenset((".", "->", "::", "?."))
_SELF_WORDS = frozenset(("self", "this", "cls"))

_OPERATORS = sorted(
    set(
        ">>>= <<= >>= >>> **= //= ... <=> === !== &&= ||= ??= ->* &^= ..= :: -> => == != <= >= && || ++ -- "
        "+= -= *= /= %= &= |= ^= << >> ** // := ?. ?? .. @= <- &^".split()
    ),
    key=len,
    reverse=True,
)
_OP_RE = "|".join(re.escape(op) for op in _OPERATORS)


def _num_re(digit_separators: bool = False) -> str:
    """Number literals; ``digit_separators``: C23/C++14 ``1'000'000``, ``0x1'FF`` (a ``'`` before a digit)."""
    dec, hexa, octa = r"[\d_]*", r"[0-9a-fA-F_]+", r"[0-7_]+"  # after a first digit
    if digit_separators:
        dec += r"(?:'\d[\d_]*)*"
        hexa += r"(?:'[0-9a-fA-F][0-9a-fA-F_]*)*"
        octa += r"(?:'[0-7][0-7_]*)*"
    return (
        rf"(?:0[xX]{hexa}|0[bBoO]{octa}|(?:\d{dec}(?:\.(?![.\w])|\.\d{dec})?|\.\d{dec})"
        rf"(?:[eEpP][+-]?\d{dec})?)[A-Za-z0-9_]*"
    )


_NUM_RE = _num_re()
_C_NUM_RE = _num_re(digit_separators=True)
_SQ = r"'(?:\\.|[^'\\\n])*'"
_DQ = r'"(?:\\.|[^"\\\n])*"'


@dataclass(frozen=True)
class _LangSpec:
    keywords: frozenset[str]
    builtins: frozenset[str]
    regex: re.Pattern[str]
    grammar: str | None  # tree-sitter language, None for the generic lexer
    dropped: frozenset[str] = frozenset()  # operators that carry no structure


def _lexer_regex(
    comments: str,
    strings: str,
    word: str = r"[^\W\d]\w*",
    preproc: bool = False,
    num: str = _NUM_RE,
    nested_comments: bool = False,
    regex_literals: bool = False,
) -> re.Pattern[str]:
    """One alternation, tried left to right at each position (first match wins).

    ``nested_comments``: ``/*`` is a group of its own (``ncom``) and :func:`_lex`
    finds the end of the comment by counting nesting depth (Rust).
    ``regex_literals``: ``/`` and ``/=`` are a group of their own (``slash``),
    where :func:`_lex` tries a regex literal if one can start there (JavaScript).
    """
    parts = [
        r"(?P<ws>\s+|\\\r?\n)",
        f"(?P<com>{comments})",
    ]
    if nested_comments:
        parts.append(r"(?P<ncom>/\*)")
    parts += [strings, rf"(?P<num>{num})"]
    if preproc:
        parts.append(r"(?P<pp>\#[ \t]*[A-Za-z_]\w*)")
    parts.append(f"(?P<word>{word})")
    if regex_literals:
        parts.append(r"(?P<slash>/=?)")  # after comments: never the start of // or /*
    parts += [f"(?P<op>{_OP_RE})", r"(?P<other>\S)"]
    return re.compile("|".join(parts))


_C_COMMENTS = r"//[^\n]*|/\*(?:[^*]|\*(?!/))*(?:\*/|\Z)"
_C_STRINGS = (
    r'(?P<str>(?:u8|[uUL])?R"(?P<delim>[^()\\\s"]{0,16})\((?:.|\n)*?\)(?P=delim)"'
    rf"|(?:u8|[uUL])?{_DQ}|(?:u8|[uUL])?{_SQ})"
)
_JS_STRINGS = rf"(?P<str>{_DQ}|{_SQ}|`(?:\\[\s\S]|[^\\`])*`)"
_JS_WORD = r"(?:[^\W\d]|\$)[\w$]*|\#[^\W\d]\w*"


def _spec(grammar: str | None, keywords: str, builtins: str, regex: re.Pattern[str], dropped: str = "") -> _LangSpec:
    return _LangSpec(frozenset(keywords.split()), frozenset(builtins.split()), regex, grammar, frozenset(dropped.split()))


_PY_RE = _lexer_regex(
    r"\#[^\n]*",
    rf"(?P<tq>[rRbBuUfF]{{0,2}}(?:\"\"\"|'''))|(?P<str>[rRbBuUfF]{{0,2}}(?:{_DQ}|{_SQ}))",
)
_JS_RE = _lexer_regex(_C_COMMENTS, _JS_STRINGS, _JS_WORD, regex_literals=True)
_C_RE = _lexer_regex(_C_COMMENTS, _C_STRINGS, preproc=True, num=_C_NUM_RE)
_SPECS: dict[str | None, _LangSpec] = {
    # Python's ";" is a newline: joining lines with it must not change the tokens.
    "python": _spec("python", _PY_KEYWORDS, _PY_BUILTINS, _PY_RE, dropped=";"),
    "javascript": _spec("javascript", _JS_KEYWORDS, _JS_BUILTINS, _JS_RE),
    "typescript": _spec("typescript", _TS_KEYWORDS, _JS_BUILTINS, _JS_RE),
    "tsx": _spec("tsx", _TS_KEYWORDS, _JS_BUILTINS, _JS_RE),
    "java": _spec(
        "java", _JAVA_KEYWORDS, _JAVA_BUILTINS,
        _lexer_regex(_C_COMMENTS, rf'(?P<str>"""(?:\\[\s\S]|[^\\])*?"""|{_DQ}|{_SQ})', _JS_WORD),
    ),
    "c": _spec("c", _C_KEYWORDS, _C_BUILTINS, _C_RE),
    "cpp": _spec("cpp", _CPP_KEYWORDS, _C_BUILTINS, _C_RE),
    "go": _spec("go", _GO_KEYWORDS, _GO_BUILTINS, _lexer_regex(_C_COMMENTS, rf"(?P<str>{_DQ}|{_SQ}|`[^`]*`)")),
    "rust": _spec(
        "rust", _RUST_KEYWORDS, _RUST_BUILTINS,
        _lexer_regex(
            r"//[^\n]*",
            # A lifetime or label ('a, 'static, 'outer:) is not a char literal:
            # exactly one character (or escape) must follow before the closing quote,
            # so it lexes as "'" and a word.
            r'(?P<str>b?r(?P<hashes>\#*)"(?:.|\n)*?"(?P=hashes)|b?"(?:\\[\s\S]|[^"\\])*"'
            r"|b?'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^'\\\n])')",
            nested_comments=True,
        ),
    ),
    # Unknown language: the union of common comment and string syntaxes.
    None: _spec(
        None, _PY_KEYWORDS + " " + _CPP_KEYWORDS + " " + _JS_KEYWORDS, "",
        _lexer_regex(_C_COMMENTS + r"|\#(?![ \t]*(?:include|define|if|endif|pragma)\b)[^\n]*", _JS_STRINGS,
                     _JS_WORD, preproc=True),
    ),
}


# --- tree-sitter ---------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _parser(grammar: str):  # -> tree_sitter.Parser
    """The tree-sitter parser for ``grammar``, created on first use (per process)."""
    import importlib

    import tree_sitter

    module_name = "tree_sitter_typescript" if grammar in ("typescript", "tsx") else f"tree_sitter_{grammar}"
    module = importlib.import_module(module_name)
    entry = {"typescript": "language_typescript", "tsx": "language_tsx"}.get(grammar, "language")
    return tree_sitter.Parser(tree_sitter.Language(getattr(module, entry)()))


class _ByteMap:
    """UTF-8 byte offsets -> char offsets (identity for ASCII text)."""

    def __init__(self, text: str) -> None:
        self.data = text.encode("utf-8", "surrogatepass")
        self.byte_of: np.ndarray | None = None
        if len(self.data) != len(text):
            cp = codepoints(text)
            widths = 1 + (cp >= 0x80).astype(np.int64) + (cp >= 0x800) + (cp >= 0x10000)
            self.byte_of = np.concatenate(([0], np.cumsum(widths)))

    def to_chars(self, byte_offsets: np.ndarray) -> np.ndarray:
        if self.byte_of is None:
            return byte_offsets
        return np.searchsorted(self.byte_of, byte_offsets).astype(byte_offsets.dtype)


# --- featurizer ------------------------------------------------------------------------------

_Lexeme = tuple[int, str, int, int]  # kind, text, start, end (chars)
_STRING_NODES = frozenset(
    "string string_literal raw_string_literal char_literal character_literal template_string "
    "interpreted_string_literal rune_literal text_block regex".split()
)
_NUMBER_NODES = frozenset(
    "integer float number number_literal int_literal float_literal imaginary_literal integer_literal "
    "decimal_integer_literal hex_integer_literal octal_integer_literal binary_integer_literal "
    "decimal_floating_point_literal hex_floating_point_literal".split()
)


class CodeFeaturizer:
    """Leaf tokens of source code, whitespace- and comment-free, identifiers normalised.

    ``featurize`` never raises: an unknown language (``lang`` neither a code
    language nor detectable from the text) uses a generic lexer.
    """

    name = "code"
    version = "code-2"

    def __init__(self, seed: int = 0, scheme: str = DEFAULT_SCHEME, engine: str = "lexer") -> None:
        if scheme not in SCHEMES:
            raise ValueError(f"unknown scheme {scheme!r}, expected one of {SCHEMES}")
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}, expected one of {ENGINES}")
        self.seed = int(seed)
        self.scheme = scheme
        self.engine = engine
        self._hash_cache: dict[str, int] = {}
        self._py: PythonTables | None = None

    def _python_tables(self) -> PythonTables:
        if self._py is None:
            spec = _SPECS["python"]
            self._py = PythonTables(self.seed, spec.keywords, spec.builtins, _OPERATORS, _ATTR_OPS, _SELF_WORDS)
        return self._py

    def featurize(self, text: str, lang: str | None = None) -> Tokens:
        """Tokens of ``text``; ``lang`` is any alias :func:`canonical_lang` knows.

        Without ``lang`` the language is guessed with :func:`detect_lang`; a
        non-code or unknown language gets the generic lexer.
        """
        code_lang = canonical_lang(lang) if lang else detect_lang(text)
        if self.engine == "lexer" and code_lang == "python" and self.scheme == "keep_api":
            # the compiled lexer: the same tokens, several times faster (tests/test_pylex.py)
            hashes, raw, starts, ends = featurize_python(text, self._python_tables())
            return Tokens(hashes, starts, ends, raw) if hashes.shape[0] else Tokens.empty()
        spec = _SPECS[code_lang]
        lexemes = None
        if self.engine == "tree-sitter" and spec.grammar is not None:
            lexemes = self._tree_sitter_lexemes(text, spec)
        if lexemes is None:
            lexemes = _lex(text, spec, 0, len(text))
        return self._emit(lexemes, spec, text)

    # -- tree-sitter path --

    def _tree_sitter_lexemes(self, text: str, spec: _LangSpec) -> list[_Lexeme] | None:
        """The grammar's leaves as lexemes, or ``None`` if the parse is too broken.

        Iterates with a cursor (no recursion: deep nesting is safe).  String
        and number nodes are single leaves; Python triple-quoted strings are
        re-lexed as in the lexer path so that both paths agree.
        """
        assert spec.grammar is not None
        bytemap = _ByteMap(text)
        data = bytemap.data
        root = _parser(spec.grammar).parse(data).root_node
        raw: list[tuple[int, str, int, int]] = []  # kind, text, start byte, end byte
        # Bytes under outermost ERROR nodes (pre-order meets the outer one first).
        # Counted during the walk: an ERROR query is quadratic on deep trees.
        error_bytes, error_reach = 0, 0
        cursor = root.walk()
        while True:
            node = cursor.node
            kind_name = node.type
            if kind_name == "ERROR" and node.start_byte >= error_reach:
                error_bytes += node.end_byte - node.start_byte
                error_reach = node.end_byte
            leaf = node.child_count == 0 or kind_name in _STRING_NODES
            if leaf and node.end_byte > node.start_byte and "comment" not in kind_name:
                s, e = node.start_byte, node.end_byte
                if kind_name in _STRING_NODES:
                    raw.append((_STR, "<STR>", s, e))
                elif kind_name in _NUMBER_NODES:
                    raw.append((_NUM, "<NUM>", s, e))
                else:
                    word = data[s:e].decode("utf-8", "surrogatepass")
                    if node.is_named and kind_name.endswith("identifier"):
                        raw.append((_ID, word, s, e))
                    elif word not in spec.dropped:
                        raw.append((_KW if word.isidentifier() else _OP, "".join(word.split()), s, e))
            if not leaf and cursor.goto_first_child():
                continue
            while not cursor.goto_next_sibling():
                if not cursor.goto_parent():
                    if error_bytes > MAX_ERROR_FRACTION * len(data):
                        return None
                    return self._to_chars(text, spec, raw, bytemap)

    def _to_chars(self, text: str, spec: _LangSpec, raw: list, bytemap: _ByteMap) -> list[_Lexeme]:
        if not raw:
            return []
        offsets = bytemap.to_chars(np.array([(s, e) for _, _, s, e in raw], dtype=np.int64))
        out: list[_Lexeme] = []
        for (kind, word, _, _), (s, e) in zip(raw, offsets.tolist()):
            if kind == _STR and spec.grammar == "python":
                m = re.match(r"[rRbBuUfF]{0,2}(\"\"\"|''')", text[s:e])
                if m:
                    inner_end = e - 3 if e - 3 >= m.end() and text[e - 3:e] == m.group(1) else e
                    out.append((_TRIPLE, '"""', s + m.start(1), s + m.end()))
                    out += _lex(text, spec, s + m.end(), inner_end)
                    if inner_end < e:
                        out.append((_TRIPLE, '"""', inner_end, e))
                    continue
            out.append((kind, word, s, e))
        return out

    # -- emission --

    def _emit(self, lexemes: list[_Lexeme], spec: _LangSpec, text: str) -> Tokens:
        if not lexemes:
            return Tokens.empty()
        texts = _token_texts(lexemes, spec, self.scheme)
        # The raw spelling of every normalised token (identifier, literal):
        # verification uses it to tell a consistent renaming from a
        # coincidence of structure (dedupblock.verify.parameter_agreement).
        raws = [text[s:e] if t != w or k in (_STR, _NUM) else t
                for t, (k, w, s, e) in zip(texts, lexemes)]
        cache = self._hash_cache
        if len(cache) > _HASH_CACHE_LIMIT:
            cache.clear()
        for tok in set(texts).union(raws).difference(cache):
            cache[tok] = xxhash.xxh64_intdigest(tok.encode("utf-32-le", "surrogatepass"), self.seed)
        n = len(lexemes)
        hashes = np.fromiter(map(cache.__getitem__, texts), np.uint64, n)
        raw = np.fromiter(map(cache.__getitem__, raws), np.uint64, n)
        starts = np.fromiter(map(itemgetter(2), lexemes), np.int32, n)
        ends = np.fromiter(map(itemgetter(3), lexemes), np.int32, n)
        return Tokens(hashes, starts, ends, raw)


_HASH_CACHE_LIMIT = 1 << 20
"""Distinct token texts whose hashes a featurizer keeps (raw identifiers are unbounded)."""


# JavaScript regex literals: tried at a "/" that follows one of these (the last
# character of an operator token; "++"/"--" excepted) or one of these keywords.
# Elsewhere (after a name, a literal, ")" or "]") "/" is division.
_REGEX_LITERAL = re.compile(r"/(?![*/])(?:\\.|\[(?:\\.|[^\]\\\n])*\]|[^/\\\n\[])+/[a-z]*")
_REGEX_AFTER_CHARS = frozenset("(,=:[!&|?{};+-*%<>~^")
_REGEX_AFTER_KEYWORDS = frozenset(
    "return typeof case do else in of new delete void throw instanceof yield await".split()
)
_NESTED_COMMENT_DELIMS = re.compile(r"/\*|\*/")


def _regex_can_start(out: list[_Lexeme], text: str, pos: int) -> bool:
    """Whether the ``/`` at ``pos`` starts a regex literal, judged from the preceding lexeme."""
    if not out:
        return True  # start of the text
    kind, word, _, prev_end = out[-1]
    if kind == _OP:
        last = word[-1]
        if last not in _REGEX_AFTER_CHARS or word == "++" or word == "--":
            return False
        # JSX, not a regex: a closing tag "</div>" and a self-closing "{x}/>".
        if last == "<" and prev_end == pos:
            return False
        return not (last == "}" and text.startswith(">", pos + 1))
    if kind == _KW and word in _REGEX_AFTER_KEYWORDS:
        return len(out) < 2 or out[-2][1] not in _ATTR_OPS  # not a property: x.in / 2
    return False


def _nested_comment_end(text: str, pos: int, end: int) -> int:
    """End of the block comment whose body starts at ``pos`` (``/*``/``*/`` nest), or ``end``."""
    depth = 1
    for m in _NESTED_COMMENT_DELIMS.finditer(text, pos, end):
        if text[m.start()] == "/":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return m.end()
    return end


def _lex(text: str, spec: _LangSpec, start: int, end: int) -> list[_Lexeme]:
    """Lexemes of ``text[start:end]``: words classified, comments and whitespace skipped.

    The second field is the token text for everything but identifiers, which
    carry their name (normalised later, per scheme).

    One ``finditer`` pass over the text; a token the regex cannot delimit (a
    JavaScript regex literal, a Rust nested comment) is matched separately and
    the pass restarts after it, so every character is still scanned a bounded
    number of times.  After a failed regex-literal attempt (no closing ``/``
    on the line: the scan reached the end of the line) no other is tried on
    that line, which keeps broken text such as ``(/[(/[(/[...`` linear.
    """
    out: list[_Lexeme] = []
    append = out.append
    keywords, dropped = spec.keywords, spec.dropped
    finditer = spec.regex.finditer
    pos = start
    no_regex_before = start  # regex literals are not tried before this position
    while True:
        for m in finditer(text, pos, end):
            group = m.lastgroup
            if group == "word":
                word = m.group()
                append((_KW if word in keywords else _ID, word, m.start(), m.end()))
            elif group == "op" or group == "other":
                word = m.group()
                if word not in dropped:
                    append((_OP, word, m.start(), m.end()))
            elif group == "str":
                append((_STR, "<STR>", m.start(), m.end()))
            elif group == "num":
                append((_NUM, "<NUM>", m.start(), m.end()))
            elif group == "tq":
                append((_TRIPLE, '"""', m.start(), m.end()))
            elif group == "pp":
                append((_OP, "#" + m.group()[1:].strip(), m.start(), m.end()))
            elif group == "slash":
                s = m.start()
                if s >= no_regex_before and _regex_can_start(out, text, s):
                    lit = _REGEX_LITERAL.match(text, s, end)
                    if lit is not None:
                        pos = lit.end()
                        append((_STR, "<STR>", s, pos))
                        break
                    line_end = text.find("\n", s, end)
                    no_regex_before = end if line_end < 0 else line_end
                word = m.group()
                if word not in dropped:
                    append((_OP, word, s, m.end()))
            elif group == "ncom":
                pos = _nested_comment_end(text, m.end(), end)
                break
        else:
            return out


def _token_texts(lexemes: list[_Lexeme], spec: _LangSpec, scheme: str) -> list[str]:
    """The text to hash for each lexeme under ``scheme``."""
    if scheme == "raw":
        return [word for _, word, _, _ in lexemes]
    if scheme == "collapse":
        return ["<ID>" if kind == _ID else word for kind, word, _, _ in lexemes]
    if scheme == "ordinal":
        order: dict[str, str] = {}
        return [order.setdefault(word, f"<ID{len(order)}>") if kind == _ID else word for kind, word, _, _ in lexemes]
    # keep_api: decided from the neighbouring tokens only, never from what the
    # rest of the text defines, so an excerpt and its source agree.
    out: list[str] = []
    for i, (kind, word, _, _) in enumerate(lexemes):
        if kind == _ID:
            prev = lexemes[i - 1][1] if i > 0 else ""
            receiver = lexemes[i - 2][1] if i > 1 else ""
            attribute = prev in _ATTR_OPS and receiver not in _SELF_WORDS
            word = word if attribute or word in spec.builtins else "<ID>"
        out.append(word)
    return out


__all__ = ["CodeFeaturizer", "DEFAULT_SCHEME", "ENGINES", "SCHEMES"]
