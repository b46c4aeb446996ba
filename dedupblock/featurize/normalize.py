"""Unicode folding that defeats trivial evasion, keeping offsets into the original.

The folded text is what the tokenizer sees; ``origin[i]`` is the index in the
original string of the character that produced folded character ``i``, so every
token can be reported as a span of the text the user gave us.

Per character (only non-ASCII characters take the slow path):

* zero-width, format, control, private-use and unassigned characters are
  removed (``Cf``, ``Cc``, ``Co``, ``Cs``, ``Cn``), as are combining marks
  (``Mn``, ``Me``) so that ``e`` + U+0301 and ``é`` both fold to ``e``;
* every whitespace character becomes one ASCII space (runs are collapsed by
  :func:`normalize`; the tokenizer treats any run as one separator anyway);
* Latin homoglyphs from Cyrillic and Greek, and typographic quotes and dashes,
  are mapped to their ASCII look-alikes (before case folding, so that Cyrillic
  ``В`` still becomes ``b``);
* NFKD compatibility decomposition (full-width forms, ligatures, mathematical
  alphanumerics, superscripts) followed by case folding.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

import numpy as np

# Only characters that are visually confusable with a Latin letter or an ASCII
# punctuation mark in common fonts; the list follows Unicode's confusables.txt
# for the Cyrillic, Greek and general-punctuation blocks.
HOMOGLYPHS: dict[str, str] = {
    # Cyrillic lower case
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i",
    "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ь": "b", "п": "n",
    "г": "r", "ц": "u", "ш": "w", "д": "d",
    # Cyrillic upper case
    "А": "a", "В": "b", "Е": "e", "Ё": "e", "К": "k", "М": "m", "Н": "h", "О": "o",
    "Р": "p", "С": "c", "Т": "t", "У": "y", "Х": "x", "Ѕ": "s", "І": "i", "Ї": "i",
    "Ј": "j", "Һ": "h", "Ԁ": "d", "Ԛ": "q", "Ԝ": "w", "Ӏ": "l", "Ь": "b", "П": "n",
    # Greek
    "Α": "a", "Β": "b", "Ε": "e", "Ζ": "z", "Η": "h", "Ι": "i", "Κ": "k", "Μ": "m",
    "Ν": "n", "Ο": "o", "Ρ": "p", "Τ": "t", "Υ": "y", "Χ": "x", "α": "a", "ο": "o",
    "ρ": "p", "ι": "i", "κ": "k", "ν": "v", "υ": "u", "τ": "t", "χ": "x", "ϲ": "c",
    "ϳ": "j", "ε": "e", "η": "n", "ω": "w", "β": "b", "γ": "y", "µ": "u", "μ": "u",
    # Latin look-alikes outside ASCII that NFKD keeps
    "ı": "i", "ȷ": "j", "ɑ": "a", "ɡ": "g", "ɩ": "i", "ʏ": "y", "ø": "o", "Ø": "o",
    "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ß": "ss", "æ": "ae", "Æ": "ae",
    "œ": "oe", "Œ": "oe", "þ": "th",
    # punctuation
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"', "\u2039": "'", "\u203a": "'",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2015": "-", "\u2212": "-", "\u2043": "-", "\u00ad": "",
    "\u2026": "...", "\u2022": "*", "\u00b7": ".", "\u2024": ".", "\u02d0": ":",
    "\u2044": "/", "\u2215": "/", "\u29f8": "/", "\uff3c": "\\", "\u2216": "\\",
}

_DROP_CATEGORIES = frozenset({"Cf", "Cc", "Co", "Cs", "Cn", "Mn", "Me"})
# Characters outside printable ASCII (tab, LF, CR are kept as whitespace).
_SLOW = re.compile(r"[^\t\n\r\x20-\x7e]+")
_WS_RUN = re.compile(r"\s+")
#: bytes that are not ``_SLOW`` characters (deleted by the fast-path test)
_PLAIN_BYTES = b"\t\n\r" + bytes(range(0x20, 0x7F))


@lru_cache(maxsize=65536)
def fold_char(c: str) -> str:
    """The folded form of one character: ``""`` (dropped), ``" "`` or letters."""
    if c.isspace():
        return " "
    if c in HOMOGLYPHS:
        return HOMOGLYPHS[c]
    if unicodedata.category(c) in _DROP_CATEGORIES:
        return ""
    out = []
    for d in unicodedata.normalize("NFKD", c):
        if unicodedata.category(d) in _DROP_CATEGORIES:
            continue
        d = HOMOGLYPHS.get(d, d)
        for f in d.casefold():
            out.append(" " if f.isspace() else HOMOGLYPHS.get(f, f))
    return "".join(out)


class Folded(NamedTuple):
    text: str
    #: ``origin[i]`` = index in the original of folded char ``i``; ``None`` means identity.
    origin: np.ndarray | None


def _plain_ascii(text: str) -> bool:
    """True when every character is printable ASCII, tab, LF or CR (no ``_SLOW`` match).

    ``str.isascii`` is O(1) and ``bytes.translate`` runs at memory speed, an
    order of magnitude faster than scanning with the ``_SLOW`` regex.
    """
    return text.isascii() and not text.encode("ascii").translate(None, _PLAIN_BYTES)


def _slow_runs(text: str) -> list[tuple[int, int]]:
    """The ``[start, end)`` runs of characters outside printable ASCII / tab / LF / CR.

    Found with numpy over the UTF-32 code points: Python's ``re`` scans at
    ~100 MB/s, which made a text with a single curly quote fold 5x slower than
    a plain ASCII one.  Same runs as ``_SLOW.finditer``.
    """
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    slow = (cp > 0x7E) | ((cp < 0x20) & (cp != 9) & (cp != 10) & (cp != 13))
    idx = np.flatnonzero(slow)
    if idx.shape[0] == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = np.concatenate(([idx[0]], idx[breaks + 1]))
    ends = np.concatenate((idx[breaks], [idx[-1]])) + 1
    return list(zip(starts.tolist(), ends.tolist()))


def fold(text: str) -> Folded:
    """Fold ``text`` for tokenising; ASCII text takes a fast path (``str.lower``)."""
    if _plain_ascii(text):
        return Folded(text.lower(), None)
    parts: list[str] = []
    # Characters between ``_SLOW`` runs are plain ASCII and fold 1:1 (``lower``);
    # only slow characters can fold to 0 or several characters.
    changed: list[int] = []
    lengths: list[int] = []
    pos = 0
    for start, end in _slow_runs(text):
        if start > pos:
            parts.append(text[pos:start].lower())
        for j in range(start, end):
            f = fold_char(text[j])
            parts.append(f)
            if len(f) != 1:
                changed.append(j)
                lengths.append(len(f))
        pos = end
    if pos < len(text):
        parts.append(text[pos:].lower())
    folded = "".join(parts)
    if not changed:  # every character folded to exactly one: offsets are unchanged
        return Folded(folded, None)
    counts = np.ones(len(text), dtype=np.int64)
    if changed:
        counts[np.array(changed, dtype=np.int64)] = lengths
    return Folded(folded, np.repeat(np.arange(len(text), dtype=np.int32), counts))


def normalize(text: str) -> str:
    """Human-readable normal form: folded, whitespace runs collapsed, stripped."""
    return _WS_RUN.sub(" ", fold(text).text).strip()
