"""``nertag tag -f pretty``: wrapped at word boundaries on a terminal of any width, a
label never cut nor parted from its entity, only an over-long word cut; colours those of
the palette; a heading per input file. Drawn on a rich Console of fixed width, and
through the real command with a forced terminal."""

from __future__ import annotations

import io
import re

import pytest
from rich.cells import cell_len
from rich.console import Console

from nertag.cli.pretty import Pretty
from nertag.render import palette
from nertag.tagging.chunks import Entity, TaggedChunk, TaggedSentence
from nertag.resources import data_dir

ANSI = re.compile(r"\x1b\[[0-9;]*m")
LABELS = ("PER", "LOC", "ORG", "MISC")


def chunk(text: str, ents: list[tuple[str, str]], offset: int = 0) -> TaggedChunk:
    """A chunk of ``text`` whose entities are the first occurrences (left to right) of
    each ``(words, label)``."""
    out, pos = [], 0
    for words, label in ents:
        a = text.index(words, pos)
        out.append(Entity(offset + a, offset + a + len(words), label, words, 0.9))
        pos = a + len(words)
    return TaggedChunk(offset, text, [TaggedSentence(offset, offset + len(text), [], [], out)])


def draw(chunks, width: int | None, types=LABELS) -> tuple[str, str]:
    """(plain text, text with ANSI codes) drawn at ``width`` on a truecolour terminal."""
    f = io.StringIO()
    console = Console(file=f, width=width or 80, force_terminal=True,
                      color_system="truecolor", highlight=False, soft_wrap=True)
    p = Pretty(console, types, width)
    p.chunks(chunks)
    p.finish()
    return ANSI.sub("", f.getvalue()), f.getvalue()


def expected_words(text: str, ents) -> list[str]:
    """The words of the text with each label right after its entity (what any wrapping
    must keep, in order)."""
    c = chunk(text, ents)
    for e in reversed(c.sentences[0].entities):
        text = text[:e.end] + " " + e.label + text[e.end:]
    return text.split()


SENTENCE = ("Delegates from more than 40 countries gathered in Geneva on Thursday for talks "
            "on river pollution, the United Nations said. The meeting, chaired by Swiss "
            "diplomat Helena Marchetti, is expected to last three days; the Palais des "
            "Nations hosted it, and Mrs. Marchetti told reporters that the Environmental "
            "Protection Agency of the U.S. would attend. ") * 3
ENTS = [("Geneva", "LOC"), ("United Nations", "ORG"), ("Swiss", "MISC"),
        ("Helena Marchetti", "PER"), ("Palais des Nations", "ORG"), ("Marchetti", "PER"),
        ("Environmental Protection Agency", "ORG"), ("U.S.", "LOC")] * 3


def units(line: str) -> list[str]:
    """A drawn line's unbreakable runs: its words, a label joined to the word before it."""
    out: list[str] = []
    for w in line.split(" "):
        if w.rstrip(".,;") in LABELS and out and w:
            out[-1] += " " + w
        elif w:
            out.append(w)
    return out


@pytest.mark.parametrize("width", [160, 40])
def test_wraps_at_word_boundaries_and_never_splits_a_label(width):
    plain, coloured = draw([chunk(SENTENCE, ENTS)], width)
    lines = plain.rstrip("\n").split("\n")
    assert len(lines) > 1
    assert all(cell_len(line) <= width for line in lines), max(map(len, lines))
    # every word and label whole, in order: nothing split (LO|C would be two words)
    assert plain.split() == expected_words(SENTENCE, ENTS)
    for line, nxt in zip(lines, lines[1:]):
        assert nxt.split()[0].rstrip(".,;") not in LABELS, (line, nxt)  # label with its word
        # greedy: the next line's first run would not have fitted on this one
        assert cell_len(line.rstrip()) + 1 + cell_len(units(nxt)[0]) > width, (line, nxt)
    assert "\x1b[" in coloured


def test_the_text_own_lines_and_indentation_are_kept_when_wrapping():
    text = "\tBRUSSELS 1996-08-22\n\nPeter Blackburn\r\nmet Angela Merkel.\n"
    ents = [("BRUSSELS", "LOC"), ("Peter Blackburn", "PER"), ("Angela Merkel", "PER")]
    plain, _ = draw([chunk(text, ents)], 40)
    assert plain == ("        BRUSSELS LOC 1996-08-22\n\nPeter Blackburn PER\n"
                     "met Angela Merkel PER.\n")


def test_no_wrapping_when_not_a_terminal():
    """Into a file or pipe (width None) the text's own lines are kept as they are."""
    plain, _ = draw([chunk(SENTENCE, ENTS)], None)
    assert plain.count("\n") == 1
    assert plain.split() == expected_words(SENTENCE, ENTS)


def test_only_a_word_longer_than_the_line_is_cut():
    word = "x" * 70
    text = f"See {word} and Paris now, near Marseille."
    plain, _ = draw([chunk(text, [(word, "ORG"), ("Paris", "LOC"), ("Marseille", "LOC")])], 40)
    assert plain == ("See\n" + "x" * 40 + "\n" + "x" * 30 + " ORG and\n"
                     "Paris LOC now, near Marseille LOC.\n")
    # a label that no longer fits after a cut word goes whole to the next line
    plain, _ = draw([chunk("y" * 78 + " end", [("y" * 78, "MISC")])], 40)
    assert plain == "y" * 40 + "\n" + "y" * 38 + "\nMISC end\n"


def test_wide_characters_count_two_columns():
    text = "東京 " * 30
    plain, _ = draw([chunk(text, [("東京", "LOC")])], 40)
    assert all(cell_len(line) <= 40 for line in plain.split("\n"))
    assert plain.split() == expected_words(text, [("東京", "LOC")])


def test_wrapping_goes_on_across_chunks():
    half = "word " * 30
    first = chunk(half, [])
    second = chunk(half, [], offset=len(half))
    plain, _ = draw([first, second], 40)
    assert [len(x) for x in plain.rstrip("\n").split("\n")] == [39] * 7 + [19]


def colour_codes(bg: str, fg: str) -> str:
    r = [int(bg[i:i + 2], 16) for i in (1, 3, 5)]
    t = [int(fg[i:i + 2], 16) for i in (1, 3, 5)]
    return f"38;2;{t[0]};{t[1]};{t[2]};48;2;{r[0]};{r[1]};{r[2]}"


def test_colours_are_the_palette_entity_and_reversed_label_chip():
    text = "Angela Merkel met Obama in Berlin on Sunday."
    ents = [("Angela Merkel", "PER"), ("Berlin", "LOC")]
    types = ["PERSON", "NORP", "GPE", "PER", "LOC"]
    _, coloured = draw([chunk(text, ents)], 80, types)
    c = palette.colours(types)
    for label in ("PER", "LOC"):
        bg, fg = c[label].background, c[label].text
        assert f"\x1b[{colour_codes(bg, fg)}mBerlin" in coloured or label != "LOC"
        assert f"\x1b[1;{colour_codes(fg, bg)}m{label}\x1b[0m" in coloured  # the chip


def test_headings_for_several_files_in_pretty_and_html(tmp_path, monkeypatch, cli,
                                                       small_model):
    a, b, e = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "e.txt"
    a.write_text("Angela Merkel visited Paris.\n")
    b.write_text("Peter Blackburn met Obama")  # no final line break
    e.write_text("")
    r = cli("tag", "-m", small_model, a, b, e, "-f", "pretty")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[0] == f"==> {a} <==" and lines[2] == ""
    assert lines[3] == f"==> {b} <==" and lines[5] == ""
    assert lines[6:] == [f"==> {e} <==", "(empty file; nothing to tag)", ""]
    single = cli("tag", "-m", small_model, a, "-f", "pretty")
    assert "==>" not in single.stdout and single.stdout == lines[1] + "\n"
    r = cli("tag", "-m", small_model, a, b, e, "-f", "html")
    page = r.stdout
    assert page.count("<section>") == 3 and page.count("</section>") == 3
    assert page.count("<!DOCTYPE html>") == 1 and page.count("</html>") == 1
    for p in (a, b, e):
        assert f'<h2 class="file">{p}</h2>' in page
    assert '<p class="note">empty file; nothing to tag</p>' in page
    assert page.index(str(a)) < page.index("Merkel") < page.index(f"file\">{b}")
    single = cli("tag", "-m", small_model, a, "-f", "html").stdout
    assert "<section>" not in single and "<h2" not in single
    assert single.endswith('</div>\n</body></html>\n')


@pytest.mark.parametrize("width", [160, 40])
def test_the_real_command_on_a_terminal(width, monkeypatch, cli, small_model, tmp_path):
    """FORCE_COLOR makes rich draw for a terminal; COLUMNS is its width."""
    text = (data_dir() / "example.txt").read_text(encoding="utf-8")
    src = tmp_path / "one-paragraph.txt"
    src.write_text(" ".join(text.split()) + "\n", encoding="utf-8")
    inline = cli("tag", "-m", small_model, src, "-f", "inline").stdout
    want = re.sub(r"<(\w+)>(.*?)</\1>", r"\2 \1", inline).split()
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.setenv("COLUMNS", str(width))
    r = cli("tag", "-m", small_model, src, "-f", "pretty")
    assert r.exit_code == 0, r.stderr
    plain = ANSI.sub("", r.stdout)
    lines = plain.rstrip("\n").split("\n")
    assert len(lines) >= len(src.read_text()) // width
    assert all(cell_len(line) <= width for line in lines)
    assert plain.split() == want
    assert "\x1b[" in r.stdout


# ------------------------------------------------------------ without colours
def draw_plain(chunks, width: int | None = None, no_color: bool = False) -> str:
    """Drawn on a console without colours: a file (width None), or a NO_COLOR terminal."""
    f = io.StringIO()
    console = Console(file=f, width=width or 80, force_terminal=width is not None,
                      no_color=no_color, highlight=False, soft_wrap=True)
    p = Pretty(console, LABELS, width)
    p.chunks(chunks)
    p.finish()
    return f.getvalue()


def test_into_a_file_entities_are_bracketed_and_every_character_kept():
    """Into a file the colours were lost: nothing showed where an entity starts, and
    rich turned tabs into spaces."""
    text = "\tBRUSSELS 1996-08-22\n\nPeter Blackburn\r\nmet\tAngela Merkel.\x0bEnd"
    ents = [("BRUSSELS", "LOC"), ("Peter Blackburn", "PER"), ("Angela Merkel", "PER")]
    assert draw_plain([chunk(text, ents)]) == (
        "\t[BRUSSELS LOC] 1996-08-22\n\n[Peter Blackburn PER]\r\n"
        "met\t[Angela Merkel PER].\x0bEnd\n")


def test_a_no_color_terminal_brackets_the_entities_and_wraps():
    plain = draw_plain([chunk(SENTENCE, ENTS)], 40, no_color=True)
    assert "\x1b[3" not in plain and "\x1b[4" not in plain  # no colour codes
    lines = ANSI.sub("", plain).rstrip("\n").split("\n")
    assert all(cell_len(line) <= 40 for line in lines) and len(lines) > 10
    assert "[Helena Marchetti PER]," in " ".join(lines)


def test_the_real_command_into_a_file_is_inline_with_brackets(cli, small_model, tmp_path):
    src = tmp_path / "in.txt"
    text = (data_dir() / "example.txt").read_text(encoding="utf-8")
    src.write_text(text.replace(" on ", "\ton ").replace("\n\n", "\r\n\r\n"),
                   encoding="utf-8", newline="")
    out, marked = tmp_path / "out.txt", tmp_path / "inline.txt"
    assert cli("tag", "-m", small_model, src, "-f", "pretty", "-o", out).exit_code == 0
    assert cli("tag", "-m", small_model, src, "-f", "inline", "-o", marked).exit_code == 0
    inline, pretty = (p.read_bytes().decode("utf-8") for p in (marked, out))
    assert "\r\n\r\n" in pretty
    assert re.search(r"\[[^\]]+ (PER|LOC|ORG|MISC)\]", pretty) and "\ton " in pretty
    assert pretty == re.sub(r"<([A-Z]+)>(.*?)</\1>", r"[\2 \1]", inline, flags=re.S)
