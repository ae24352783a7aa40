"""``nertag evaluate --errors`` / ``--html``: the listing, the confusion table, the JSON
and the page (printed by nertag.cli.error_report from nertag.text.error_analysis)."""

from __future__ import annotations

import json

import pytest

from nertag.text.error_analysis import analyse

GOLD = ("Laura B-PER\nOkafor I-PER\nvisited O\nAcme B-ORG\nCorp I-ORG\nin O\nParis B-LOC\n. O\n\n"
        "Bob B-PER\nsaid O\nhi O\n\n")


@pytest.fixture
def data(tmp_path):
    p = tmp_path / "gold.conll"
    p.write_text(GOLD, encoding="utf-8")
    return p


def predicted(small_model, data):
    from nertag.modelio import load_model
    from nertag.text.conll import read_conll

    c = read_conll(data)
    pred, _ = load_model(small_model).predict([s.words for s in c.sentences])
    return [s.tags for s in c.sentences], pred


def test_errors_listing(small_model, data, cli):
    gold, pred = predicted(small_model, data)
    a = analyse(gold, pred)
    r = cli("evaluate", small_model, data, "--errors")
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert "gold type (rows) × predicted type (columns)" in out
    assert f"{len(a.errors)} errors (" in out and f"{a.correct} entities correct" in out
    lines = [ln for ln in out.splitlines() if ln.startswith(f"{data}:")]
    assert len(lines) == len(a.errors)
    for line, m in zip(lines, a.errors):
        # the line of the error's first token in the file (CoNLL: one token a line)
        assert line.startswith(f"{data}:{1 + 9 * m.sentence + m.start} ")
        assert m.kind in line and "[" in line


def test_errors_json(small_model, data, cli):
    gold, pred = predicted(small_model, data)
    a = analyse(gold, pred)
    r = cli("evaluate", small_model, data, "--errors", "--json")
    got = json.loads(r.stdout)["error_analysis"]
    assert got["counts"] == a.counts() and got["correct"] == a.correct
    assert len(got["errors"]) == len(a.errors)
    for e in got["errors"]:
        ent = e["gold"] or e["pred"]
        assert e["where"].startswith(f"{data}:") and ent["text"]
    plain = json.loads(cli("evaluate", small_model, data, "--json").stdout)
    assert "error_analysis" not in plain
    assert {k: v for k, v in json.loads(r.stdout).items() if k != "error_analysis"} == plain


def test_html_page(small_model, data, cli, tmp_path):
    page = tmp_path / "errors.html"
    r = cli("evaluate", small_model, data, "--html", page)
    assert r.exit_code == 0, r.stderr
    assert f"wrote {page}" in r.stderr
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")  # self-contained
    assert "gold type (rows) × predicted type (columns)" in html
    assert not list(tmp_path.glob(".errors.html.*"))  # written atomically: no leftovers
    expect = tmp_path / "no-such-dir" / "e.html"
    r = cli("evaluate", small_model, data, "--html", expect)
    assert r.exit_code == 2 and "does not exist" in r.stderr


def test_confusion_table_and_context():
    from rich.console import Console

    from nertag.cli.error_report import confusion_table, context, print_errors

    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"]]
    pred = [["B-PER", "O", "O", "B-ORG"], ["O", "O"]]
    words = [["Laura", "Okafor", "in", "Paris"], ["see", "Acme"]]
    a = analyse(gold, pred)
    con = Console(width=200, record=True, color_system=None)
    con.print(confusion_table(a))
    table = con.export_text()
    rows = {ln.split("│")[1].strip(): [c.strip() for c in ln.split("│")[2:-1]]
            for ln in table.splitlines() if ln.startswith("│")}
    assert "┃ gold \\ predicted ┃ LOC ┃ ORG ┃ PER ┃ none ┃" in table
    assert rows["LOC"] == ["0", "1", "0", "0"]       # LOC predicted as ORG
    assert rows["ORG"] == ["0", "0", "0", "1"]       # ORG missed
    assert rows["PER"] == ["0", "0", "1", "0"]       # PER with a wrong boundary
    assert rows["none"] == ["0", "0", "0", ""]
    assert str(context(a.errors[0], words[0])) == "[Laura Okafor] in Paris"
    long = [f"w{i}" for i in range(30)]
    from nertag.text.error_analysis import Match
    assert str(context(Match("missed", ("X", 12, 14), None), long)) == \
        "… " + " ".join(long[4:12]) + " [w12 w13] " + " ".join(long[14:22]) + " …"
    con = Console(width=80, record=True, color_system=None)
    print_errors(con, a, words, lambda m: f"f:{m.sentence}")
    text = con.export_text()
    assert text.splitlines()[0] == ("3 errors (1 missed, 0 spurious, 1 wrong type, "
                                    "1 wrong boundary, 0 wrong type and boundary); "
                                    "0 entities correct")
    assert "f:1  missed" in text and "ORG 'Acme'" in text
