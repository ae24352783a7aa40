"""nertag.render.error_page: the --html page of nertag evaluate --errors."""

from __future__ import annotations

import re

from nertag.render.error_page import error_page
from nertag.render.palette import colours
from nertag.text.error_analysis import analyse, error_lines

WORDS = [["Laura", "Okafor", "met", "Acme", "<staff>"], ["All", "quiet", "."], ["Bob", "left"]]
GOLD = [["B-PER", "I-PER", "O", "B-ORG", "O"], ["O", "O", "O"], ["B-PER", "O"]]
PRED = [["O", "B-PER", "O", "B-LOC", "O"], ["O", "O", "O"], ["B-PER", "O"]]


def page() -> str:
    analysis = analyse(GOLD, PRED)
    lines = error_lines(analysis, [1, 7, 11], per_token=True)
    return error_page("errors of m on d & e", WORDS, GOLD, PRED, lambda m: f"d:{lines[m]}",
                      analysis)


def test_only_sentences_with_errors_are_shown():
    html = page()
    assert html.count('<div class="sent">') == 1
    # each error at its entity's first token: Laura Okafor (line 1), Acme (line 1 + 3)
    assert '<div class="where">d:1, d:4</div>' in html and "d:7" not in html
    assert "(FILE:LINE: the line of the entity&#x27;s first token)" in html or \
        "(FILE:LINE: the line of the entity's first token)" in html


def test_gold_and_predicted_rows_with_the_errors_outlined():
    html = page()
    gold = re.search(r'<span class="side">gold</span>(.*?)</div>', html).group(1)
    pred = re.search(r'<span class="side">predicted</span>(.*?)</div>', html).group(1)
    assert gold == (f'<mark data-label="PER" class="err boundary" '
                    f'title="wrong boundary: gold PER &#x27;Laura Okafor&#x27;, predicted PER '
                    f'&#x27;Okafor&#x27;">Laura Okafor<span class="l">PER</span></mark> met '
                    f'<mark data-label="ORG" class="err type" title="wrong '
                    f'type: gold ORG &#x27;Acme&#x27;, predicted LOC &#x27;Acme&#x27;">Acme'
                    f'<span class="l">ORG</span></mark> &lt;staff&gt;')
    assert pred.startswith('Laura <mark data-label="PER" ')
    assert 'class="err boundary"' in pred and 'class="err type"' in pred


def test_summary_confusion_and_look():
    html = page()
    assert "<title>nertag: errors of m on d &amp; e</title>" in html
    assert "<b>errors of m on d &amp; e</b>: 1 entities correct, 2 errors" in html
    assert "<tr><th>wrong type</th><td>1</td></tr>" in html
    # confusion rows: gold LOC, ORG, PER, none; columns the same
    assert ("<tr><th>ORG</th><td>1</td><td class=diag>0</td><td>0</td><td>0</td></tr>"
            in html)
    assert "<tr><th>none</th><td>0</td><td>0</td><td>0</td><td></td></tr>" in html
    assert "mark.err" in html and "<script" not in html


def test_colours_are_those_of_tag_html_for_gold_and_predicted_types():
    """One palette for the page (LOC is only predicted, ORG only gold here)."""
    html = page()
    for t, c in colours(["LOC", "ORG", "PER"]).items():
        assert f'mark[data-label="{t}"] {{ background: {c.background}; color: {c.text}; }}' \
            in html
        assert f'<mark data-label="{t}">{t}</mark>' in html  # the legend
    assert "style=\"background" not in html.replace('style="background:#eee"', "")
