"""``nertag tag --format pretty``: the text with each entity on its label's colour and
the label right after it, in a chip of the reverse colours.

On a terminal the text is wrapped to its width at whitespace, as ``fold -s`` would: a
label is never cut and never starts a line without the word it belongs to; only a word
longer than the whole line is cut (after as many characters as fit), and a label that
no longer fits after such a word goes whole to the next line.  Into a file or a pipe
(not a terminal) nothing is wrapped: the text's characters are written as they are
(its own lines, tabs kept).  Colours are those of the other outputs
(:mod:`nertag.render.palette`): a mid-tone background with black or white text
(contrast ≥ 4.5), legible on dark and light terminals alike.

Without colours (into a file or a pipe, or with ``NO_COLOR`` set) each entity is marked
in brackets, its label last inside them::

    Mrs. [Helena Marchetti PER] told reporters outside the [Palais des Nations ORG].

Several inputs each get a heading ``==> name <==``, as ``head`` and ``tail`` write.
"""

from __future__ import annotations

import re
from typing import Iterable

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from nertag.render import palette

_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines ends a line at
_ATOMS = re.compile(rf"(\r\n|[{_BREAKS}])|([^\S{_BREAKS}]+)|(\S+)")
NEWLINE, SPACE, WORD, LABEL = range(4)
TAB = 8


class Pretty:
    """Draws tagged chunks on ``console``, wrapped at ``width`` columns (None: not
    wrapped).  Keeps the column across chunks and inputs."""

    def __init__(self, console: Console, types: Iterable[str], width: int | None = None):
        self.console = console
        self.width = width
        self.styles = {t: (f"{c.text} on {c.background}", f"bold {c.background} on {c.text}")
                       for t, c in palette.colours(types).items()}
        #: No colours: entities marked ``[text LABEL]``.
        self.marks = console.color_system is None or console.no_color
        self.col = 0
        self.spaces: list[tuple[str, str]] = []   # whitespace waiting for what follows it
        self.started = False

    # ---------------------------------------------------------------- public
    def heading(self, name: str, note: str | None = None) -> None:
        """``==> name <==`` (after a blank line, unless it is the first output)."""
        out = self._new()
        self._end_line(out)
        if self.started:
            out.append("\n")
        out.append(f"==> {name} <==", style="bold")
        out.append("\n")
        if note:
            out.append(f"({note})\n", style="dim")
        self._write(out)
        self.started = True

    def chunks(self, chunks) -> None:
        """Draw the text of tagged chunks (:class:`~nertag.tagging.chunks.TaggedChunk`)."""
        out = self._new()
        for c in chunks:
            self._draw(out, self._atoms(c))
        self._write(out)
        self.started = True

    def finish(self) -> None:
        """End the last line (a pretty output always ends with a line break)."""
        out = self._new()
        self._end_line(out)
        self._write(out)

    def _new(self):
        """What a drawing is built in: a rich Text, or for a file without colours the
        text's own characters (rich would expand tabs and drop CR, VT and FF)."""
        return _Plain() if self.width is None and self.marks else Text()

    def _write(self, out) -> None:
        if isinstance(out, _Plain):
            self.console.file.write(out.plain)
        else:
            self.console.print(out, end="", soft_wrap=True)

    # ---------------------------------------------------------------- layout
    def _atoms(self, chunk):
        """``(kind, text, style)`` of a chunk: line breaks, whitespace, words (cut at
        entity edges) and labels (text: the parts ``[(text, style), …]``), in order;
        without colours an entity's first word starts with ``[``, its label ends with ``]``."""
        text, base, pos = chunk.text, chunk.offset, 0
        opening, closing = ("[", "]") if self.marks else ("", "")
        for s in chunk.sentences:
            for e in s.entities:
                a, b = max(e.start - base, pos), e.end - base
                yield from _split(text[pos:a], "")
                on, chip = self.styles.get(e.label, ("reverse", "bold"))
                yield from _split(opening + text[a:b], on)
                yield LABEL, [(" ", on), (e.label + closing, chip)], None
                pos = max(b, pos)
        yield from _split(text[pos:], "")

    def _draw(self, out: Text, atoms) -> None:
        unit: list = []
        for atom in atoms:
            kind = atom[0]
            if kind == WORD or kind == LABEL:
                unit.append(atom)
                continue
            if unit:
                self._place(out, unit)
                unit = []
            if kind == SPACE:
                self.spaces.append(atom[1:])
            else:  # a line break of the text
                self._flush_spaces(out)
                out.append("\n" if self.width is not None else atom[1])
                self.col = 0
        if unit:  # a chunk ends at whitespace (or, rarely, inside a very long line)
            self._place(out, unit)

    def _place(self, out: Text, unit: list) -> None:
        """A run of words and labels between whitespace: on this line after the
        pending whitespace if it fits, else at the start of the next (cut only if it
        is longer than a whole line)."""
        width = self.width
        need = sum(_width(a) for a in unit)
        if width is None:
            self._flush_spaces(out)
            _append(out, unit)
            self.col += need
            return
        spaces = self._expand(self.spaces, self.col)
        self.spaces = []
        gap = sum(cell_len(t) for t, _ in spaces)
        if self.col + gap + need <= width:
            for t, style in spaces:
                out.append(t, style=style)
            self.col += gap
        elif self.col > 0:  # the whitespace becomes the line break
            out.append("\n")
            self.col = 0
        if self.col + need <= width:
            _append(out, unit)
            self.col += need
        else:
            self._cut(out, unit)

    def _cut(self, out: Text, unit: list) -> None:
        """A word longer than the line: cut where the line is full; labels whole, on
        the next line if they no longer fit (without their leading space)."""
        width = self.width
        for kind, text, style in unit:
            if kind == LABEL:
                w = _width((kind, text, style))
                if self.col + w > width and self.col > 0:
                    out.append("\n")
                    self.col = 0
                parts = text[1:] if self.col == 0 else text
                _append(out, [(kind, parts, None)])
                self.col += sum(cell_len(t) for t, _ in parts)
                continue
            for ch in text:
                w = cell_len(ch)
                if self.col + w > width and self.col > 0:
                    out.append("\n")
                    self.col = 0
                out.append(ch, style=style)
                self.col += w

    def _flush_spaces(self, out: Text) -> None:
        """The pending whitespace before a line break: kept if it fits."""
        spaces = self._expand(self.spaces, self.col) if self.width is not None else self.spaces
        self.spaces = []
        for t, style in spaces:
            if self.width is not None and self.col + cell_len(t) > self.width:
                return
            out.append(t, style=style)
            self.col += cell_len(t)

    def _expand(self, spaces, col: int) -> list[tuple[str, str]]:
        """Tabs as spaces up to the next multiple of ``TAB`` columns (when wrapping)."""
        out = []
        for t, style in spaces:
            if "\t" in t:
                parts = []
                for ch in t:
                    n = TAB - col % TAB if ch == "\t" else cell_len(ch)
                    parts.append(" " * n if ch == "\t" else ch)
                    col += n
                t = "".join(parts)
            else:
                col += cell_len(t)
            out.append((t, style))
        return out

    def _end_line(self, out: Text) -> None:
        self.spaces = []
        if self.col > 0:
            out.append("\n")
            self.col = 0


def _split(text: str, style: str):
    for m in _ATOMS.finditer(text):
        yield (NEWLINE if m.group(1) else SPACE if m.group(2) else WORD), m.group(0), style


def _width(atom) -> int:
    kind, text, _ = atom
    return sum(cell_len(t) for t, _ in text) if kind == LABEL else cell_len(text)


def _append(out: Text, unit: list) -> None:
    for kind, text, style in unit:
        if kind == LABEL:
            for t, st in text:
                out.append(t, style=st)
        else:
            out.append(text, style=style)


class _Plain:
    """Text as it is appended, styles ignored (the part of rich's Text a file needs)."""

    def __init__(self):
        self._parts: list[str] = []

    def append(self, text: str, style=None) -> None:
        self._parts.append(text)

    @property
    def plain(self) -> str:
        return "".join(self._parts)
