"""Tokenizer and sentence splitter for raw English text (CoNLL-2003 / PTB style).

Every token carries character offsets into the original input, and
``input[token.start:token.end] == token.text`` always holds: the tokenizer
never normalises, it only cuts.  The tokens are found by one compiled regular
expression (``findall``, all in C) whose alternatives are ordered by priority and
written so that no input can trigger catastrophic backtracking; their offsets follow
from the separators between them (:func:`token_arrays`).

Main rules (see ``tests/text/test_tokenize.py`` for the exhaustive list):

* punctuation is split off; quotes and brackets are separate tokens;
* abbreviations (``U.S.``, ``Inc.``, ``Mr.``, initials ``J.``) keep their
  period -- except at the very end of a paragraph, where CoNLL-2003 writes
  ``Inc .`` and so do we;
* numbers (``1,000``, ``3.5``, ``1996-08-22``, ``10:30``, ``1/2``, ``+44``),
  hyphenated words (``well-known``, ``6-2``), URLs and e-mail addresses stay
  whole; ``50%`` -> ``50 %`` and ``$5`` -> ``$ 5``;
* words joined by a period with no space (``NWD.DE``, ``example.com``, ``Govt.Fcast``)
  stay one token, as CoNLL-2003 writes them (not after an abbreviation: ``St.Louis``
  -> ``St. Louis``);
* clitics are split: ``Paris's`` -> ``Paris 's``, ``don't`` -> ``do n't``,
  ``players'`` -> ``players '`` (curly apostrophes too);
* any Unicode whitespace (plus BOM and zero-width space) separates tokens.

Sentences end after ``. ! ? ...`` (plus any closing quotes/brackets glued to
them) when the next token starts with a capital letter, a digit or an opening
quote/bracket after a space (``Yahoo!Inc``, ``(NWD.)DE`` do not end one; the full-width
``。！？`` need no space), and always at a paragraph break (a blank line); which single line
breaks end one too depends on the sentence mode (``blank``, ``line``, ``auto``: see
:mod:`nertag.text.sentences`).
"""

from __future__ import annotations

import gc
import re
import unicodedata
from bisect import bisect_right
from operator import itemgetter

import numpy as np

from nertag.text.sentences import check_mode, line_breaks
from nertag.text.tokens import Sentences, Token, TokenSpans

__all__ = ["tokenize", "token_arrays", "split_flat", "sentence_tokens", "split_sentences"]


def _mark_class() -> str:
    """Regex class body covering the combining marks (``\\w`` misses them).

    Runs of marks are merged across word characters and unassigned code
    points (harmless inside a ``[\\w...]`` class) to keep the regex small.
    """
    spans = [(0x300, 0x2000), (0x20D0, 0x2100), (0x2CEF, 0x2E00), (0x3000, 0x3100),
             (0xA600, 0xAC00), (0xFB1E, 0xFB1F), (0xFE00, 0xFE30)]
    out = []
    for lo, hi in spans:
        start = last = None
        for cp in range(lo, hi):
            cat = unicodedata.category(chr(cp))
            if cat[0] == "M":
                start, last = (cp if start is None else start), cp
            elif start is not None and cat[0] not in "LN" and cat != "Cn":
                out.append(f"\\u{start:04x}-\\u{last:04x}")
                start = None
        if start is not None:
            out.append(f"\\u{start:04x}-\\u{last:04x}")
    return "".join(out) + "\\U000e0100-\\U000e01ef"


def _trie(words: list[str]) -> str:
    """Compile literal words into a prefix-tree regex (fast: one branch per letter)."""
    root: dict = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        alts = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if "" in node:
            body = (body if len(alts) == 1 and len(alts[0]) == 1 else f"(?:{body})") + "?"
        return body

    return "(?:" + emit(root) + ")"


# Abbreviations that keep their period ("No." only before a number, see below).
_ABBREV_TITLE = """Mr Mrs Ms Messrs Mme Mlle Dr Prof Sr Jr St Mt Ft Rev Hon Gen Lt Col Maj Capt
    Cmdr Adm Sgt Cpl Pvt Gov Sen Rep Pres Supt Insp Det Fr Esq Jan Feb Mar Apr Jun Jul Aug
    Sep Sept Oct Nov Dec Inc Corp Ltd Co Cos Bros Plc Bhd Pty Mfg Dept Univ Assn Ave Blvd Rd
    Ala Ariz Ark Calif Colo Conn Del Fla Ga Ill Ind Kan Ky La Md Mass Mich Minn Miss Mo Mont
    Neb Nev Okla Ore Pa Tenn Tex Va Vt Wash Wis Wyo Ph.D""".split()
_ABBREV_LOWER = "vs v etc cf al approx esp est fig vol pp".split()
_ABBREVS = sorted({w for a in _ABBREV_TITLE for w in (a, a.upper())} | set(_ABBREV_LOWER)
                  | {a.capitalize() for a in _ABBREV_LOWER})
#: Abbreviations after which a sentence may still end (if a capital follows).
_MAY_END = {"etc.", "Etc.", "ETC."}

_M = _mark_class()
_W = rf"[\w{_M}\u00ad\u200c\u200d]"               # word-internal character
_WORD = rf"\w{_W}*"                                 # a run of word characters
_LB = r"(?:\r\n|\r(?!\n)|\n)"                       # one line break (as io sees it)
_HS = r"[^\S\r\n]"                                  # horizontal whitespace
_SEP = r"\s\u200b\ufeff"                            # token separators
_CLOSE = "\"'”’»"                                    # closing quotes
# After an abbreviation's period: only closing quotes, then the paragraph ends
# (the period is then split off, as CoNLL-2003 does: "Acme Inc ." / "the U.S .").
_CH = rf"(?:[{_CLOSE}]|{_HS})*"                     # closing quotes, spaces
_PEND = rf"(?={_CH}(?:\Z|{_LB}{_CH}(?:{_LB}|\Z)))"
_CLITIC = r"(?i:s|m|d|re|ve|ll)(?!\w)"
_NT = r"[nN]['’][tT](?!\w)"
_UPPER = "A-ZÀ-ÖØ-Þ"
_SEG = (rf"(?:[A-Z]{{1,5}}&[A-Z]{{1,5}}(?!\w)"             # AT&T, S&P
        rf"|\d+(?:/\d+)+(?!\d|[.,:]\d){_W}*"                # 1/2 11/1/96
        rf"|\d+(?:[.,:]\d+)+{_W}*"                          # 1,000 3.5 10:30 3.5m
        rf"|{_WORD}(?:(?:['’](?!{_CLITIC})|\.){_WORD})*)")  # O'Brien, NWD.DE, example.com
_ABBR_SEG = rf"[^\W\d_](?:\.[^\W\d_])+(?=\.)(?:\.(?!{_PEND})(?!\w))?"  # aid-U.N.
_TAIL = rf"(?:[-\u2010\u2011](?:{_ABBR_SEG}|{_SEG}))*"       # hyphenated continuation
_URL_END = rf"[^{_SEP}<>\"]*[^{_SEP}<>\".,;:!?'“”‘’»(){{}}\[\]]"

_ALTERNATIVES = [
    # fast paths, for speed only: plain words and punctuation no later rule wants
    rf"[^\W\d_]+(?=[\s,;)\]}}\"!?]|:(?!//)|\Z)",
    rf"[,;:()\[\]{{}}\"%/&][{_M}]*|\.(?![.\d])",
    rf"(?i:https?|ftp)://{_URL_END}",
    rf"(?i:www)\.[\w-]+(?:\.[\w-]+)+(?:[/?#]{_URL_END})?",
    r"\w[\w.+-]{0,63}@\w[\w-]{0,62}(?:\.\w[\w-]{0,62}){1,8}",   # e-mail (bounded)
    rf"\d(?<![^\r\n]\d)\d?[.=](?={_HS}+\S)",                  # "3. Name", "1= Name"
    rf"[+\-−](?<![^{_SEP}(\[{{\"'“‘].)(?=\d){_SEG}{_TAIL}",   # +44, -3.5
    r"\.(?<![\w.]\.)\d+",                                      # .496
    r"[A-Z]{1,3}\$",                                           # US$ C$ HK$
    rf"[Nn][Oo][sS]?\.(?:\d+|(?={_HS}{{0,2}}\d))",               # No. 1, No.2
    rf"{_trie(_ABBREVS)}\.(?!{_PEND})\d*{_TAIL}",              # Mr. Inc. Mo.-based
    rf"[^\W\d_](?:\.[^\W\d_])+(?:\.(?!{_PEND})(?!\w){_TAIL}|(?=\.{_PEND})|(?![\w.'’]))",  # U.S.
    rf"[{_UPPER}]\.(?!{_PEND})",                               # initials: J.
    rf"['’](?<=[\w.].){_CLITIC}",                              # 's 'm 're 've 'll 'd
    rf"[nN](?<=\w.)['’][tT](?!\w)",                            # n't
    rf"\w{_W}*?(?={_NT})",                                     # do|n't  ca|n't
    r"[A-D]{1,3}\+{1,2}(?![\w+])",                              # AA+ C++
    rf"{_SEG}{_TAIL}(?:-(?![\w\-−]))?",                        # words, numbers, "multi- "
    r"\.{2,}|-{2,}|\*{2,}|={2,}|~{2,}|#{2,}|!{2,}|\?{2,}|``",
    rf"[^{_SEP}][{_M}]*",                                      # any other character
]
_TOKEN_RE = re.compile(rf"(?=[^{_SEP}])(?:" + "|".join(_ALTERNATIVES) + ")")
_TERMINATOR_RE = re.compile("[.!?…。！？]")
_PARA_BREAK_RE = re.compile(rf"{_LB}(?:{_HS}*{_LB})+")

# The code points that separate tokens (_SEP: ``\s``, which is str.isspace(), all below
# U+3001, and U+200B, U+FEFF) as a table indexed by code point; higher code points are
# looked up at its last entry, U+FF00, which is not a separator.
_SEP_TABLE = np.zeros(0xFF01, dtype=bool)
_SEP_TABLE[[c for c in range(0x3001) if chr(c).isspace()] + [0x200B, 0xFEFF]] = True

_TERMINATORS = frozenset(".!?…。！？")
#: Terminators that end a sentence with no space after them (CJK text has none).
_WIDE_TERMINATORS = frozenset("。！？")
_CLOSERS = frozenset("”’»)]}")
_AMBIGUOUS_QUOTES = frozenset(['"', "'"])
_OPENERS = frozenset("\"'“‘«([{`")
_CLOSE_TOKENS = frozenset(_CLOSE)


def tokenize(text: str, offset: int = 0) -> list[Token]:
    """Split ``text`` into tokens whose offsets are shifted by ``offset``."""
    return tokenize_from(*token_arrays(text, offset))


def token_arrays(text: str, offset: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The tokens of ``text`` as ``(texts, starts, ends)``: N strings and two (N,) int64
    arrays of offsets (shifted by ``offset``).

    The regex only finds the strings (``findall``, all in C); the offsets follow from
    the fact that the tokens cover every non-separator character, in order, and
    nothing else: token i starts at the ``(len(texts[0]) + ... + len(texts[i-1]))``-th
    non-separator character of the text.
    """
    texts = _TOKEN_RE.findall(text)
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    sep = _SEP_TABLE[np.minimum(cp, len(_SEP_TABLE) - 1)]
    solid = np.flatnonzero(~sep)                 # positions of non-separator characters
    if int(lens.sum()) != len(solid):            # cannot happen; the slow way to be sure
        spans = np.array([m.span() for m in _TOKEN_RE.finditer(text)], dtype=np.int64)
        spans = spans.reshape(-1, 2) + offset
        return texts, spans[:, 0].copy(), spans[:, 1].copy()
    starts = solid[np.cumsum(lens) - lens].astype(np.int64) + offset
    return texts, starts, starts + lens


def tokenize_from(texts: list[str], starts: np.ndarray, ends: np.ndarray) -> list[Token]:
    """``Token`` objects from the arrays of :func:`token_arrays`."""
    # Tokens hold only str and int, so they cannot form reference cycles; pausing
    # the cyclic GC while hundreds of thousands of them are built saves ~25%.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return list(TokenSpans(texts, starts.tolist(), ends.tolist()))
    finally:
        if paused:
            gc.enable()


def _is_terminator(tok: str) -> bool:
    """True for ``.``, ``!``, ``?``, ``...`` and runs of them."""
    return tok[0] in _TERMINATORS and (len(tok) == 1 or tok.strip(".!?…") == "") \
        or tok in _MAY_END


def _starts_sentence(tok: str) -> bool:
    """True if a token can open a new sentence (capital, digit, opening quote/bracket)."""
    c = tok[0]
    return (c.isalpha() and not c.islower()) or c.isdigit() or c in _OPENERS


def split_sentences(text: str, offset: int = 0, sentences: str = "blank"
                    ) -> list[list[Token]]:
    """Tokenize ``text`` and group the tokens into sentences.

    Offsets are shifted by ``offset``.  Blank lines always end a sentence; which single
    line breaks do is set by ``sentences`` (see :mod:`nertag.text.sentences`; ``blank``:
    none).  Splitting ``text`` at its blank lines first gives the same sentences
    (tagging reads its input in chunks cut at blank lines).
    """
    return sentence_tokens(split_flat(text, offset, sentences))


def sentence_tokens(flat: Sentences) -> list[list[Token]]:
    """The sentences of :func:`split_flat`'s arrays as lists of ``Token``."""
    tokens = tokenize_from(flat.texts, flat.starts, flat.ends)
    return [tokens[a:b] for a, b in zip(flat.cuts, flat.cuts[1:])]


def split_flat(text: str, offset: int = 0, sentences: str = "blank") -> Sentences:
    """:func:`split_sentences` as flat arrays (see :class:`Sentences`): no Token objects."""
    texts, starts, ends = token_arrays(text, offset)
    breaks = line_breaks(text, check_mode(sentences))
    if breaks:
        breaks = np.array(breaks, dtype=np.int64) + offset
        texts, starts, ends = _split_final_periods(texts, starts, ends, breaks)
    return Sentences(texts, starts, ends, _sentence_cuts(text, texts, starts, ends, offset,
                                                         breaks))


def _split_final_periods(texts: list[str], starts: np.ndarray, ends: np.ndarray,
                         breaks: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The tokens with the period of an abbreviation that ends a line before one of
    ``breaks`` (offsets of line breaks that end a sentence) split off, as the regex does
    at the end of a paragraph: ``Inc.`` -> ``Inc .`` (closing quotes may follow)."""
    split = []
    for j in np.searchsorted(starts, breaks).tolist():  # the first token after the break
        k = j - 1
        while k > 0 and texts[k] in _CLOSE_TOKENS:
            k -= 1
        t = texts[k] if k >= 0 else ""
        if len(t) > 1 and t[-1] == "." and t[-2] != "." and (not split or split[-1] != k):
            split.append(k)
    if not split:
        return texts, starts, ends
    texts = list(texts)
    for k in reversed(split):
        texts[k:k + 1] = [texts[k][:-1], "."]
    at = np.array(split, dtype=np.int64)
    dot = ends[at] - 1
    starts = np.insert(starts, at + 1, dot)
    ends = np.insert(ends, at + 1, ends[at])
    ends[at + np.arange(len(at))] = dot
    return texts, starts, ends


def _sentence_cuts(text: str, texts: list[str], starts: np.ndarray, ends: np.ndarray,
                   offset: int, breaks=()) -> list[int]:
    """Indices of the tokens that start a sentence, with 0 first and ``len(texts)`` last;
    ``breaks``: offsets of line breaks after which a sentence starts, besides blank lines."""
    n = len(texts)
    paras: list[int] = []  # indices of tokens that start a paragraph (except the first)
    if n and ("\n" in text or "\r" in text):
        found = [m.end() + offset for m in _PARA_BREAK_RE.finditer(text)]
        found.extend(breaks)
        paras = sorted(set(np.searchsorted(starts, np.array(found, dtype=np.int64)).tolist())
                       - {0, n})
    paras.append(n)
    # candidate terminators, found in C: one character per token
    candidates = [m.start() for m in _TERMINATOR_RE.finditer("".join(map(itemgetter(0), texts)))]
    if "etc." in text or "Etc." in text or "ETC." in text:
        candidates = sorted(set(candidates).union(
            i for i, tok in enumerate(texts) if tok in _MAY_END))
    cuts = set(paras)  # indices of tokens that start a new sentence
    for i in candidates:
        if not _is_terminator(texts[i]):
            continue
        limit = paras[bisect_right(paras, i)]  # end of this paragraph
        j = i + 1
        while j < limit and (texts[j] in _CLOSERS or (
                texts[j] in _AMBIGUOUS_QUOTES and starts[j] == ends[j - 1])):
            j += 1
        if j < limit and _starts_sentence(texts[j]) and (
                starts[j] > ends[j - 1] or texts[i][-1] in _WIDE_TERMINATORS):
            cuts.add(j)
    cuts.discard(0)
    return [0] + sorted(cuts) if n else [0]
