"""The entity patterns file (:mod:`nertag.text.patterns`): reading and checking it.

Every bad line is a :class:`~nertag.errors.NertagError` (exit code 2) naming the file and
line (``FILE:LINE``; given as dicts, ``patterns[i]``) and what is wrong.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from json.decoder import WHITESPACE
from json.scanner import make_scanner
from pathlib import Path
from typing import Iterable, NamedTuple

import numpy as np

from nertag.errors import NertagError, json_type
from nertag.text.tokenize import token_arrays

EXAMPLE = '{"label": "PRODUCT", "pattern": "iPhone 15"}'
_KEYS = ("label", "pattern", "id")
_TOKEN_KEYS = ("text", "orth", "lower", "shape", "regex")
_CLOSE_SPACE = "\"'”’» \t\r\n"  # closing quotes and spaces the tokenizer looks past


@dataclass(frozen=True)
class Spec:
    """One key of a token object: ``kind`` (text, lower, shape, regex) and its value (a
    compiled regex for ``regex``; ``on_lower``: the regex sees the lower-cased text);
    tested on words by :func:`nertag.text.patterns._holds`."""

    kind: str
    value: object
    on_lower: bool = False


class Entry(NamedTuple):
    label: str
    id: str | None
    phrases: tuple[tuple[str, ...], ...]  # a phrase pattern: its token texts (1 or 2 ways)
    tokens: tuple[tuple[Spec, ...], ...]   # a token pattern: per token, the keys it holds
    phrase: str | None = None  # a phrase pattern's text, until :func:`_cut_phrases` cuts it


def read_bytes(path: str | os.PathLike) -> bytes:
    """A patterns file's bytes (a missing or unreadable file: a one-line error)."""
    p = Path(path)
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise _error(f"{p}: patterns file not found; give a JSONL file of patterns, one a "
                     f"line, e.g. {EXAMPLE}") from None
    except IsADirectoryError:
        raise _error(f"{p}: a directory, not a patterns file (JSONL, one pattern a line)") \
            from None
    except OSError as e:
        raise _error(f"{p}: cannot read the patterns file ({e.strerror})") from None


def _error(message: str) -> NertagError:
    return NertagError(message, exit_code=2, inputs=("patterns",))


def parse_entries(data: bytes, source: str) -> list[Entry]:
    """The patterns in a file's bytes, checked (``source``: its name, for messages)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise _error(f"{source}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x}); save "
                     f"the patterns file as UTF-8") from None
    entries, wheres = [], []
    for lineno, line in enumerate(text.removeprefix("\ufeff").split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = _json_line(line)
        except ValueError as e:
            raise _error(f"{source}:{lineno}: not JSON ({getattr(e, 'msg', e)}); each line "
                         f"is one object, e.g. {EXAMPLE}") from None
        wheres.append(f"{source}:{lineno}")
        entries.append(_entry(obj, wheres[-1]))
    if not entries:
        raise _error(f"{source}: no patterns in the file; write one a line, e.g. {EXAMPLE}")
    return _cut_phrases(entries, wheres)


_SCAN = make_scanner(json.JSONDecoder())


def _json_line(line: str):
    """``json.loads(line)``, through the decoder's scanner directly (a third of the time for
    10,000 short lines); anything but one value between JSON whitespace goes to
    ``json.loads`` for its error."""
    try:
        obj, end = _SCAN(line, WHITESPACE.match(line, 0).end())
    except StopIteration:
        return json.loads(line)
    if WHITESPACE.match(line, end).end() != len(line):
        return json.loads(line)
    return obj


def entries_from(items: Iterable[dict], source: str = "patterns") -> tuple[list[Entry], bytes]:
    """Patterns given as dicts (a file's lines, decoded), checked (errors name
    ``source[i]``), and the bytes of the file that holds them."""
    items = list(items)
    wheres = [f"{source}[{i}]" for i in range(len(items))]
    entries = _cut_phrases([_entry(obj, w) for obj, w in zip(items, wheres)], wheres)
    data = "".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj in items)
    return entries, data.encode("utf-8")


def _entry(obj, where: str) -> Entry:
    """One pattern, checked: ``where`` (``FILE:LINE``) starts every message."""
    def bad(message: str) -> NertagError:
        return _error(f"{where}: {message}")

    if not isinstance(obj, dict):
        raise bad(f"{json_type(obj)}, not a pattern object; write e.g. {EXAMPLE}")
    for key in obj:
        if key not in _KEYS:
            raise bad(f"unknown key {key!r}; a pattern has 'label', 'pattern' and "
                      f"optionally 'id'")
    label = obj.get("label")
    if label is None:
        raise bad(f"no 'label' (the entity type the pattern gives); write e.g. {EXAMPLE}")
    if not isinstance(label, str) or len(label.split()) != 1 or label.strip() != label:
        raise bad(f"'label' must be a non-empty string without spaces, e.g. \"PRODUCT\", "
                  f"got {json.dumps(label, ensure_ascii=False)}")
    pid = obj.get("id")
    if pid is not None and not isinstance(pid, str):
        raise bad(f"'id' must be a string, got {json_type(pid)}")
    if "pattern" not in obj:
        raise bad(f"no 'pattern' (a phrase, or a list of token objects); write e.g. {EXAMPLE}")
    pattern = obj["pattern"]
    if isinstance(pattern, str):
        return Entry(label, pid, (), (), pattern)
    if isinstance(pattern, list):
        if not pattern:
            raise bad("'pattern' is an empty list; give one object per token, e.g. "
                      "[{\"lower\": \"python\"}, {\"shape\": \"d.d\"}]")
        return Entry(label, pid, (), tuple(_token(t, k, bad) for k, t in
                                           enumerate(pattern, 1)))
    raise bad(f"'pattern' must be a string (a phrase) or a list of token objects, got "
              f"{json_type(pattern)}")


def _cut_phrases(entries: list[Entry], wheres: list[str]) -> list[Entry]:
    """The entries with their phrases cut into tokens as the tokenizer cuts them at the end
    of a text and inside one (``Acme Inc .`` / ``Acme Inc.``; both kept if they differ).
    All phrases go through the tokenizer at once, each followed by a blank line (which
    ends a text for every rule of the tokenizer: ``tests/text/test_patterns.py`` checks)."""
    todo = [k for k, e in enumerate(entries) if e.phrase is not None]
    alone = _cut_all([entries[k].phrase for k in todo])
    # (the cut differs only after a final period: the tokenizer's "end of text" rules)
    dot = [k for k in todo if entries[k].phrase.rstrip(_CLOSE_SPACE).endswith(".")]
    inside = dict(zip(dot, _cut_all([entries[k].phrase + " x" for k in dot])))
    out = list(entries)
    for k, a in zip(todo, alone):
        if not a:
            raise _error(f"{wheres[k]}: 'pattern' {entries[k].phrase!r} is an empty phrase "
                         f"(no tokens)")
        b = inside.get(k, ())
        ways = (a, b[:-1]) if b[-1:] == ("x",) and b[:-1] and b[:-1] != a else (a,)
        out[k] = Entry(entries[k].label, entries[k].id, ways, ())
    return out


#: Words of word characters only (letters, digits, ``_``), one space apart: every rule of
#: the tokenizer that could cut such a word needs a character it lacks (a period, an
#: apostrophe, a sign...), so the tokenizer takes each whole and they are cut at the spaces.
_PLAIN = re.compile(r"\w+(?: \w+)*")


def _cut_all(phrases: list[str]) -> list[tuple[str, ...]]:
    """Each phrase's tokens (one tokenizer call for them all, a blank line after each;
    phrases of plain words are cut at their spaces, as the tokenizer cuts them)."""
    out: list = [tuple(p.split(" ")) if _PLAIN.fullmatch(p) else None for p in phrases]
    rest = [p for p, cut in zip(phrases, out) if cut is None]
    if not rest:
        return out
    words, starts, _ = token_arrays("\n\n".join(rest))
    bounds = np.cumsum([0] + [len(p) + 2 for p in rest[:-1]])
    owner = np.searchsorted(bounds, starts, side="right") - 1
    cuts = iter(np.searchsorted(owner, np.arange(len(rest) + 1)).tolist())
    a = next(cuts)
    for k in (k for k, cut in enumerate(out) if cut is None):
        b = next(cuts)
        out[k], a = tuple(words[a:b]), b
    return out


def _token(obj, k: int, bad) -> tuple[Spec, ...]:
    """Token object number ``k`` of a token pattern, as its specs."""
    if not isinstance(obj, dict) or not obj:
        what = "an empty object" if isinstance(obj, dict) else json_type(obj)
        raise bad(f"token {k}: {what}; give e.g. {{\"lower\": \"python\"}} (keys: "
                  f"{', '.join(_TOKEN_KEYS)})")
    specs = []
    for key, value in obj.items():
        name = key.lower() if isinstance(key, str) else key
        if name not in _TOKEN_KEYS:
            raise bad(f"token {k}: unknown key {key!r}; use {', '.join(_TOKEN_KEYS)} "
                      f"(spaCy's other keys and operators such as OP are not supported)")
        if isinstance(value, dict) and name in ("text", "orth", "lower"):
            if list(value) not in (["REGEX"], ["regex"]) or not isinstance(
                    next(iter(value.values())), str):
                raise bad(f"token {k}: {key!r}: an object may only be {{\"REGEX\": "
                          f"\"...\"}}, got {json.dumps(value, ensure_ascii=False)}")
            specs.append(Spec("regex", _regex(next(iter(value.values())), k, bad),
                               on_lower=name == "lower"))
            continue
        if not isinstance(value, str) or not value:
            raise bad(f"token {k}: {key!r} must be a non-empty string, got "
                      f"{json.dumps(value, ensure_ascii=False)}")
        if name == "regex":
            specs.append(Spec("regex", _regex(value, k, bad)))
        elif name == "lower" and value != value.lower():
            raise bad(f"token {k}: 'lower' {value!r} has capital letters, so it never "
                      f"matches; write it in lower case (or use 'text' for the exact text)")
        else:
            specs.append(Spec("text" if name == "orth" else name, value))
    return tuple(specs)


def _regex(value: str, k: int, bad) -> re.Pattern:
    try:
        return re.compile(value)
    except re.error as e:
        raise bad(f"token {k}: bad regex {value!r}: {e}") from None
