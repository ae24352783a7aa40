"""Entity colours: one qualitative palette for every output that shows entities
(``nertag tag -f pretty`` and ``-f html``, the ``nertag serve`` page and the
``nertag evaluate --html`` page).

Every colour is a saturated mid-tone background that stands out from a black and from
a white terminal (or page), with black or white text, whichever contrasts more (WCAG
contrast ratio ≥ 4.5, "AA", for every pair).  The CoNLL and OntoNotes labels (and
Stanford NER's long names) have fixed colours; any other label gets a slot by a stable
hash of its name (CRC-32, the same in every process and on every machine), moved to the
next free slot when another label of the same set has it, so the labels of one model
never share a colour while the palette has room (20 colours).

Relative luminance and contrast ratio (WCAG 2):

    c' = c/12.92 if c ≤ 0.04045 else ((c + 0.055)/1.055)^2.4     (c = R, G, B in [0, 1])
    Y  = 0.2126 R' + 0.7152 G' + 0.0722 B'
    contrast(a, b) = (Y_light + 0.05) / (Y_dark + 0.05)           (1 … 21)
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Iterable

#: The palette: Tableau 10's mid-tones and ten darker colours (black or white text by
#: :func:`text_on`; the slot each well-known label has).
PALETTE: tuple[str, ...] = (
    "#f28e2b",  # 0 orange       PER
    "#59a14f",  # 1 green        LOC
    "#4e79a7",  # 2 blue         ORG
    "#d81b60",  # 3 magenta      MISC
    "#e15759",  # 4 red          NORP
    "#76b7b2",  # 5 teal         GPE
    "#9c755f",  # 6 brown        FAC
    "#d4a72c",  # 7 gold         PRODUCT
    "#ff9da7",  # 8 pink         EVENT
    "#6a3d9a",  # 9 dark purple  WORK_OF_ART
    "#455a64",  # 10 blue grey   LAW
    "#00838f",  # 11 dark cyan   LANGUAGE
    "#1f4e9c",  # 12 navy        DATE
    "#a0522d",  # 13 sienna      TIME
    "#8e0152",  # 14 plum        PERCENT
    "#1b5e20",  # 15 dark green  MONEY
    "#7f7f00",  # 16 olive       QUANTITY
    "#b07aa1",  # 17 purple      ORDINAL
    "#5d4037",  # 18 dark brown  CARDINAL
    "#bab0ac",  # 19 warm grey   (free: for other labels)
)

#: Fixed slots of the well-known labels (compared in upper case).
FIXED: dict[str, int] = {
    "PER": 0, "PERSON": 0, "LOC": 1, "LOCATION": 1, "ORG": 2, "ORGANIZATION": 2,
    "ORGANISATION": 2, "MISC": 3, "NORP": 4, "GPE": 5, "FAC": 6, "PRODUCT": 7, "EVENT": 8,
    "WORK_OF_ART": 9, "LAW": 10, "LANGUAGE": 11, "DATE": 12, "TIME": 13, "PERCENT": 14,
    "MONEY": 15, "QUANTITY": 16, "ORDINAL": 17, "CARDINAL": 18,
}


@dataclass(frozen=True)
class Colour:
    """A label's look: ``background`` and the ``text`` colour on it (``#rrggbb``)."""

    background: str
    text: str


def luminance(hex_colour: str) -> float:
    """WCAG relative luminance Y of ``#rrggbb`` (0 black … 1 white)."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(int(hex_colour[i:i + 2], 16) / 255) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1 … 21)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(background: str) -> str:
    """Black or white, whichever contrasts more with ``background`` (always ≥ 4.58)."""
    return "#000000" if contrast(background, "#000000") >= contrast(background, "#ffffff") \
        else "#ffffff"


def _slot(label: str) -> int:
    """The label's own slot: fixed, or a stable hash of its name."""
    fixed = FIXED.get(label.upper())
    return fixed if fixed is not None else zlib.crc32(label.encode("utf-8")) % len(PALETTE)


def colours(types: Iterable[str]) -> dict[str, Colour]:
    """A colour for each entity type (``PER``, ``NORP``, …), distinct while the palette
    lasts, in sorted order of the types.

    Types with a fixed colour choose first, then the others in sorted order, each
    taking its hash slot or the next free one.  The result depends only on the set.
    """
    types = sorted(set(types))
    order = sorted(types, key=lambda t: (t.upper() not in FIXED, t))
    taken: dict[int, str] = {}
    out: dict[str, Colour] = {}
    for t in order:
        slot = _slot(t)
        if len(taken) < len(PALETTE):
            while slot in taken:
                slot = (slot + 1) % len(PALETTE)
        taken.setdefault(slot, t)
        bg = PALETTE[slot]
        out[t] = Colour(bg, text_on(bg))
    return {t: out[t] for t in types}


def css(colour_of: dict[str, Colour], selector: str = 'mark[data-label="{}"]') -> str:
    """CSS rules giving each label's ``<mark data-label=…>`` its colours."""
    return "".join(f"{selector.format(_css_string(t))} {{ background: {c.background}; "
                   f"color: {c.text}; }}\n" for t, c in colour_of.items())


def _css_string(s: str) -> str:
    """``s`` safe inside a double-quoted CSS string in a ``<style>`` element."""
    return "".join(c if c.isalnum() or c in "_- " else f"\\{ord(c):x} " for c in s)
