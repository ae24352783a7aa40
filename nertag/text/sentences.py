"""Which line breaks end a sentence: the ``--sentences`` modes ``blank``, ``line`` and
``auto`` (in the spirit of Stanford CoreNLP's ``ssplit.newlineIsSentenceBreak``).

Whatever the mode, a sentence also ends after ``. ! ?`` and a space before a capital
(several sentences on one line are split by :mod:`nertag.text.tokenize`; ``(NWD.DE)``
is no sentence end) and at a blank line.

* ``blank`` -- a single line break never ends a sentence (text wrapped at a width);
* ``line`` -- every line break ends one (headlines, tweets, lists, CSV-ish exports,
  one sentence per line);
* ``auto`` (the default) -- decides, in each *block* (the lines between blank lines),
  which line breaks a text wrapper made and which the writer typed.

The ``auto`` rule.  In a block of lines ``0..n`` let ``L_i`` be the length of line ``i``
(trailing spaces not counted), ``W = max_i L_i`` and ``w_i`` the length of the first
word of line ``i``.  For the break after line ``i`` (``i < n``)::

    need_i   = L_i + 1 + w_(i+1)        # line i with the next line's first word on it
    filled_i = need_i > 0.85 W          # the next word would not have fitted: a wrap
    short_i  = need_i <= 0.80 W         # the line ends well before the width

and the break *continues* the sentence if the next line starts with a lowercase letter
(after opening quotes or brackets), or line ``i`` ends with a comma, with a hyphen
after a letter, or with a function word (``the``, ``of``, ``and``, ... see
:data:`FUNCTION_WORDS`).  Lines are *hard-wrapped prose* where

1. the whole block is: at least 90% of its breaks are filled, and at least one
   continues -- or ``W >= 40`` and the block's last line ends with ``. ! ?`` while
   line ``i`` does not (one sentence running over the lines); or
2. two or more consecutive breaks are filled and one of them continues (a wrapped
   paragraph inside a block that also holds a headline, a list, or other paragraphs
   separated by single line breaks).

In hard-wrapped prose a break ends a sentence only after a short line that does not
continue (a heading, the last line of a paragraph), or after a line in capitals (two or
more words and no lowercase letter: a headline) that does not continue, unless the
whole block is in capitals; everywhere else every line break ends a sentence, as in
``line`` mode.  (So a two-line paragraph with no blank line
around it, inside a block of other items, is cut at its line break: one filled break is
no evidence of wrapping in a list, where the longest item is always "filled".)

The thresholds were tuned by measurement on CoNLL-2003 training text (one sentence per
line in documents, runs of 2-6 lines, the same without final periods, with lowercased
starts, CSV-like rows; paragraphs wrapped by Python's ``textwrap``, ``fold -s`` and
``fmt`` at 30-100 columns, headlines followed by a wrapped paragraph, paragraphs
separated by single line breaks) and checked on the dev text (see
``benchmarks/sentence_modes.py``).  A sentence that ends at a line break in ``line`` or
``auto`` mode is treated as one that ends a paragraph: an abbreviation's period at its
end is split off (``Acme Inc.`` → ``Acme Inc .``), as CoNLL-2003 writes it.

Everything here looks at one piece of text at a time; tagging cuts its input at blank
lines (or, inside a paragraph longer than ``MAX_CHUNK_CHARS``, at the line ends where any
reader cuts it too), so the decisions are the same in one process, with ``--jobs`` and
on Dask.
"""

from __future__ import annotations

import itertools
import re

from nertag.errors import UsageError

__all__ = ["MODES", "DEFAULT", "check_mode", "line_breaks", "auto_breaks"]

#: The sentence modes; :data:`DEFAULT` is what ``nertag tag``, ``Tagger`` and ``serve`` use.
MODES = ("blank", "line", "auto")
DEFAULT = "auto"

#: A line is *filled* if it plus a space plus the next word would pass this share of W.
FILL = 0.85
#: In wrapped prose, a line ends a sentence only if it and the next word stay within this.
SHORT = 0.80
#: The share of filled breaks that makes a whole block wrapped prose.
BLOCK_FILLED = 0.9
#: Consecutive filled breaks that make a run wrapped prose inside any block.
RUN = 2
#: The least width at which "one sentence over all the lines" counts as evidence.
OPEN_WIDTH = 40
#: Words a sentence (or a headline) hardly ever ends with.
FUNCTION_WORDS = frozenset("""a an the of to in into for and or nor but with at by from on
    as that which who whose whom is was are were be been has have had will would its their
    his her our your my than""".split())

# (A pattern that starts with a character class is tried at every position of the text,
# ~20 ns each; one that starts with a literal "\n" is searched for in C, ~10x faster:
# text without "\r" takes the fast paths.)
_LB = re.compile(r"\r\n|\r|\n")
_LB_SPLIT = re.compile(r"(\r\n|\r|\n)")
_LF = re.compile(r"\n")
#: A line break followed by a line that holds something (a character that is not a space).
_LF_BEFORE_TEXT = re.compile(r"\n(?=[^\S\r\n]*\S)")
_CR_BEFORE_TEXT = re.compile(r"\r(?=[^\S\r\n]*\S)")
_OPENING = "\"'“‘«([{`"
_ENDS_SENTENCE = re.compile(r"[.!?…。！？][\"'”’»)\]]*\Z")


def check_mode(mode, where: str = "sentences") -> str:
    """``mode`` if it is one of :data:`MODES`; else a :class:`UsageError` naming ``where``."""
    if mode not in MODES:
        raise UsageError(f"{where}: unknown sentence mode {mode!r}; use one of "
                         f"{', '.join(MODES)}")
    return mode


def line_breaks(text: str, mode: str) -> list[int]:
    """Offsets in ``text`` of the line breaks (their first character) after which a new
    sentence starts in ``mode``, in order (``blank``: none; paragraph breaks may be
    listed too: a sentence ends there in every mode)."""
    if mode == "blank" or not _has_single_break(text):
        return []
    if mode == "line":
        return [m.start() for m in (_LB if "\r" in text else _LF).finditer(text)]
    if mode == "auto":
        return auto_breaks(text)
    check_mode(mode)
    return []


def _has_single_break(text: str) -> bool:
    """Is there a line break between two lines that both hold something (where the modes
    can differ)?"""
    for pattern in (_LF_BEFORE_TEXT, _CR_BEFORE_TEXT) if "\r" in text else (_LF_BEFORE_TEXT,):
        for m in pattern.finditer(text):
            i = m.start() - 1
            if text[i + 1] == "\n" and i >= 0 and text[i] == "\r":
                i -= 1  # a CRLF
            while i >= 0 and text[i] in " \t":
                i -= 1
            if i >= 0 and not text[i].isspace():
                return True
            if i >= 0 and text[i] not in "\r\n":  # other spaces: look at the whole line
                start = max(text.rfind("\n", 0, i), text.rfind("\r", 0, i)) + 1
                if text[start:i + 1].strip():
                    return True
    return False


def auto_breaks(text: str) -> list[int]:
    """The line breaks of ``text`` that end a sentence under the ``auto`` rule (see the
    module's docstring), as offsets of their first character."""
    if "\r" in text:
        parts = _LB_SPLIT.split(text)  # line, break, line, break, ..., line
        lines = parts[0::2]
        ends = list(itertools.accumulate(map(len, parts)))[0::2]  # where each line ends
    else:
        lines = text.split("\n")
        ends = [e - 1 for e in itertools.accumulate(len(line) + 1 for line in lines)]
    content = [bool(line) and not line.isspace() for line in lines]
    out: list[int] = []
    i, n = 0, len(lines)
    while i < n:
        if not content[i]:
            i += 1
            continue
        j = i + 1
        while j < n and content[j]:
            j += 1
        if j - i > 1:  # a block of lines i..j-1
            out.extend(e for e, hard in zip(ends[i:j - 1], block_breaks(lines[i:j])) if hard)
        i = j
    return out


def _continues(line: str, nxt: str) -> bool:
    """Does the sentence go on across the break between ``line`` and ``nxt``?"""
    if nxt.lstrip().lstrip(_OPENING)[:1].islower():
        return True
    end = line.rstrip()
    if end[-1] == "," or (end[-1] == "-" and end[-2:-1].isalpha()):
        return True
    return end[end.rfind(" ") + 1:].lower() in FUNCTION_WORDS  # (the last word, of any line)


def block_breaks(lines: list[str]) -> list[bool]:
    """For the ``n`` breaks of a block of ``n + 1`` non-blank lines: does each end a
    sentence (the ``auto`` rule)?"""
    k = len(lines) - 1
    lengths = list(map(len, map(str.rstrip, lines)))
    width = max(lengths)
    fill, short = FILL * width, SHORT * width
    need = [a + 1 + len(b.split(None, 1)[0]) for a, b in zip(lengths, lines[1:])]
    filled = [x > fill for x in need]
    cont = {}  # the continuation test, made only where it can matter

    def continues(i: int) -> bool:
        if i not in cont:
            cont[i] = _continues(lines[i], lines[i + 1])
        return cont[i]

    wrapped = [False] * k
    if sum(filled) >= BLOCK_FILLED * k and (any(map(continues, range(k)))
                                            or _one_sentence(lines, width)):
        wrapped = [True] * k
    else:
        i = 0
        while i < k:  # runs of consecutive filled breaks
            j = i
            while j < k and filled[j]:
                j += 1
            if j - i >= RUN and any(map(continues, range(i, j))):
                wrapped[i:j] = [True] * (j - i)
            i = j + 1
    out = [not (w and (need[i] > short or continues(i))) for i, w in enumerate(wrapped)]
    if not all(out) and not all(map(_capitals, lines)):
        for i in range(k):  # a headline before wrapped text
            if not out[i] and _capitals(lines[i]) and not continues(i):
                out[i] = True
    return out


def _capitals(line: str) -> bool:
    """Is ``line`` in capitals: two or more words with letters, no lowercase letter?"""
    return not any(map(str.islower, line)) and \
        sum(any(map(str.isalpha, w)) for w in line.split()) >= 2


def _one_sentence(lines: list[str], width: int) -> bool:
    """Does a sentence run over the lines: the last ends one, an earlier one does not?"""
    return width >= OPEN_WIDTH and bool(_ENDS_SENTENCE.search(lines[-1].rstrip())) and \
        not all(_ENDS_SENTENCE.search(line.rstrip()) for line in lines[:-1])
