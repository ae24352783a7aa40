"""nertag.render.palette: legible (WCAG contrast), visible on dark and light
backgrounds, distinct (CIELAB distance), stable and collision-free colours per label."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import pytest

from nertag.render import palette
from nertag.render.palette import PALETTE, colours, contrast, luminance, text_on

ONTONOTES = ["PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART",
             "LAW", "LANGUAGE", "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL",
             "CARDINAL"]


def lab(hex_colour: str) -> tuple[float, float, float]:
    """CIELAB (D65) of an sRGB colour."""
    def linear(c):
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(int(hex_colour[i:i + 2], 16)) for i in (1, 3, 5))
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t):
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def delta_e(a: str, b: str) -> float:
    """CIE76 colour difference (≈ 2.3: just noticeable; > 20: clearly different)."""
    return sum((p - q) ** 2 for p, q in zip(lab(a), lab(b))) ** 0.5


def test_wcag_formulas_on_known_values():
    assert luminance("#000000") == 0 and luminance("#ffffff") == pytest.approx(1)
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the famous grey
    assert contrast("#4e79a7", "#000000") == contrast("#000000", "#4e79a7")


@pytest.mark.parametrize("bg", PALETTE)
def test_every_colour_is_legible_and_visible_on_dark_and_light(bg):
    fg = text_on(bg)
    assert fg in ("#000000", "#ffffff")
    assert contrast(bg, fg) >= 4.5          # WCAG AA for the text on it
    # the block itself stands out from a black and from a white terminal or page
    assert contrast(bg, "#000000") >= 2.0
    assert contrast(bg, "#ffffff") >= 1.9
    # the reversed chip of pretty's label: the same pair, the same contrast
    assert contrast(fg, bg) == contrast(bg, fg)


def test_colours_are_clearly_distinct():
    pairs = {(a, b): delta_e(a, b) for a, b in itertools.combinations(PALETTE, 2)}
    assert min(pairs.values()) >= 23, min(pairs, key=pairs.get)
    conll = colours(["PER", "LOC", "ORG", "MISC"])
    for a, b in itertools.combinations(conll, 2):
        assert delta_e(conll[a].background, conll[b].background) >= 60, (a, b)
    # the pastel pair users confused before, #fdd49e / #f4cae4, was 41 apart
    assert delta_e(conll["PER"].background, conll["MISC"].background) >= 60


def test_well_known_labels_have_fixed_colours():
    c = colours(["PER", "LOC", "ORG", "MISC"])
    assert {t: x.background for t, x in c.items()} == {
        "LOC": "#59a14f", "MISC": "#d81b60", "ORG": "#4e79a7", "PER": "#f28e2b"}
    stanford = colours(["PERSON", "LOCATION", "ORGANIZATION", "MISC"])
    assert stanford["PERSON"] == c["PER"] and stanford["LOCATION"] == c["LOC"]
    assert stanford["ORGANIZATION"] == c["ORG"]
    assert colours(["person"])["person"] == c["PER"]  # in any case


def test_ontonotes_labels_all_differ():
    c = colours(ONTONOTES)
    assert len({x.background for x in c.values()}) == len(ONTONOTES) == 18
    assert c["NORP"] != c["PERSON"]  # came out the same grey before
    assert c == colours(reversed(ONTONOTES))  # the set decides, not the order


@pytest.mark.parametrize("seed", range(20))
def test_any_label_set_gets_distinct_colours_while_the_palette_lasts(seed):
    import random

    rng = random.Random(seed)
    n = rng.randint(2, len(PALETTE))
    known = rng.sample(sorted(palette.FIXED), rng.randint(0, 4))
    labels = set(known) | {"".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ_", k=rng.randint(2, 9)))
                           for _ in range(n)}
    labels = sorted(labels)[:len(PALETTE)]
    c = colours(labels)
    assert len({x.background for x in c.values()}) == len(labels)  # synonyms too
    for t in labels:  # a well-known label keeps its colour unless a synonym took it
        slot = palette.FIXED.get(t.upper())
        if slot is not None and sum(palette.FIXED.get(u.upper()) == slot for u in labels) == 1:
            assert c[t].background == PALETTE[slot]


def test_more_labels_than_colours_share_but_never_fail():
    labels = [f"T{k}" for k in range(45)]
    c = colours(labels)
    assert set(c) == set(labels)
    assert len({x.background for x in c.values()}) == len(PALETTE)


def test_other_labels_are_stable_across_processes_and_hash_seeds():
    labels = ["product", "creative-work", "group", "corporation", "EMAIL", "ÉVÉNEMENT"]
    here = {t: c.background for t, c in colours(labels).items()}
    code = ("import json, sys; from nertag.render.palette import colours; "
            "print(json.dumps({t: c.background for t, c in colours(json.loads(sys.argv[1]))"
            ".items()}))")
    for seed in ("1", "2"):
        r = subprocess.run([sys.executable, "-c", code, json.dumps(labels)], capture_output=True,
                           text=True, env=dict(os.environ, PYTHONHASHSEED=seed), check=True)
        assert json.loads(r.stdout) == here
    # and fixed for ever (a change would recolour users' pages): CRC-32 slots
    assert colours(["EMAIL"])["EMAIL"].background == PALETTE[
        __import__("zlib").crc32(b"EMAIL") % len(PALETTE)]


def test_css_rules_are_safe_in_a_style_element():
    css = palette.css(colours(["PER", 'x"]</style><script>']))
    assert 'mark[data-label="PER"] { background: #f28e2b; color: #000000; }' in css
    assert "<" not in css and css.count('"]') == 2  # the label cannot end the selector
    assert 'mark[data-label="x\\22 \\5d \\3c \\2f style\\3e ' in css
