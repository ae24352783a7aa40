"""``nertag evaluate --html``: a self-contained page with, for every sentence that has
an error, its gold and its predicted entities one above the other, the wrong ones
outlined (kind and types in the tooltip), after the error counts and the gold ×
predicted confusion table. Same look and colours (:mod:`nertag.render.palette`, for
the gold and the predicted types together) as ``nertag tag -f html``."""

from __future__ import annotations

import html
from typing import Callable, Sequence

from nertag.render.formats import HTML_TAIL, html_head
from nertag.text.error_analysis import (MISSED, SPURIOUS, WRONG_BOTH, WRONG_BOUNDARY,
                                        WRONG_TYPE, ErrorAnalysis, Match)
from nertag.text.tags import get_entities

_CSS = """.summary {{ white-space: normal; font: 14px/1.4 sans-serif; }}
.summary table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
.summary th, .summary td {{ padding: 0.15em 0.7em; text-align: right; border-bottom: 1px solid #eee; }}
.summary th:first-child {{ text-align: left; }}
.summary td.diag {{ font-weight: bold; }}
.sent {{ margin: 0 0 1.2em; padding: 0.2em 0.8em; border-left: 3px solid #ddd; }}
.where {{ font: 12px sans-serif; color: #888; }}
.side {{ display: inline-block; width: 6em; font: 12px sans-serif; color: #888; }}
mark.err {{ outline: 2px solid #d62728; outline-offset: 1px; margin: 0 0.2em; }}
mark.missed {{ outline-style: dashed; }}
mark.spurious {{ outline-style: dotted; }}
mark.type {{ outline-color: #9467bd; }}
mark.boundary {{ outline-color: #ff7f0e; }}
mark.both {{ outline-color: #8c564b; }}
"""
_CLASS = {MISSED: "missed", SPURIOUS: "spurious", WRONG_TYPE: "type",
          WRONG_BOUNDARY: "boundary", WRONG_BOTH: "both"}


def _why(m: Match, words: Sequence[str]) -> str:
    def show(e):
        return f"{e[0]} '{' '.join(words[e[1]:e[2]])}'"

    if m.gold is None:
        return f"spurious: predicted {show(m.pred)}"
    if m.pred is None:
        return f"missed: gold {show(m.gold)}"
    return f"{m.kind}: gold {show(m.gold)}, predicted {show(m.pred)}"


def _row(side: str, words: Sequence[str], ents, wrong: dict) -> str:
    out, pos = [f'<div class="row"><span class="side">{side}</span>'], 0
    for type_, a, b in ents:
        out.append(html.escape(" ".join(words[pos:a]) + (" " if a > pos else "")))
        cls, title = "", type_
        if (type_, a, b) in wrong:
            m = wrong[(type_, a, b)]
            cls, title = f' class="err {_CLASS[m.kind]}"', _why(m, words)
        text = " ".join(words[a:b])
        out.append(f'<mark data-label="{html.escape(type_)}"{cls} title="{html.escape(title)}">'
                   f'{html.escape(text)}<span class="l">{html.escape(type_)}</span></mark>')
        out.append(" " if b < len(words) else "")
        pos = b
    out.append(html.escape(" ".join(words[pos:])) + "</div>")
    return "".join(out)


def _summary(title: str, analysis: ErrorAnalysis) -> str:
    counts = analysis.counts()
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{n}</td></tr>" for k, n in counts.items())
    types = analysis.types()
    axis = types + [None]
    head = "".join(f"<th>{html.escape(p or 'none')}</th>" for p in axis)
    body = []
    for g in axis:
        cells = "".join(
            f'<td{" class=diag" if g == p and g is not None else ""}>'
            f'{analysis.confusion.get((g, p), 0) if (g, p) != (None, None) else ""}</td>'
            for p in axis)
        body.append(f"<tr><th>{html.escape(g or 'none')}</th>{cells}</tr>")
    legend = " ".join(f'<mark class="err {c}" style="background:#eee">{html.escape(k)}</mark>'
                      for k, c in _CLASS.items())
    return (f'<div class="summary"><p><b>{html.escape(title)}</b>: {analysis.correct} '
            f'entities correct, {len(analysis.errors)} errors (FILE:LINE: the line of the '
            f'entity\'s first token)</p><p>{legend}</p><table><tr>'
            f'<th>error</th><th>count</th></tr>{rows}</table><p>gold type (rows) × predicted type (columns); "none": no '
            f'entity there</p><table><tr><th></th>{head}</tr>{"".join(body)}</table></div>')


def error_page(title: str, words: Sequence[Sequence[str]], gold: Sequence[Sequence[str]],
               pred: Sequence[Sequence[str]], where: Callable[[Match], str],
               analysis: ErrorAnalysis) -> str:
    """The page: ``words``/``gold``/``pred`` per sentence (BIO tags), ``where(error)``
    its ``file:line`` (as ``nertag evaluate --errors`` cites it: the line of the entity's
    first token), ``analysis`` from :func:`nertag.text.error_analysis.analyse` on the
    same tags.  Each sentence with errors is headed by its errors' places."""
    head = html_head(title, analysis.types()).replace("</style>", _CSS.format() + "</style>", 1)
    by_sentence: dict[int, list[Match]] = {}
    for m in analysis.errors:
        by_sentence.setdefault(m.sentence, []).append(m)
    parts = [head, _summary(title, analysis)]
    for k, matches in by_sentence.items():
        g_wrong = {m.gold: m for m in matches if m.gold is not None}
        p_wrong = {m.pred: m for m in matches if m.pred is not None}
        w = words[k]
        places = ", ".join(dict.fromkeys(where(m) for m in matches))
        parts.append(f'<div class="sent"><div class="where">{html.escape(places)}</div>'
                     f'{_row("gold", w, get_entities(gold[k]), g_wrong)}'
                     f'{_row("predicted", w, get_entities(pred[k]), p_wrong)}</div>')
    parts.append(HTML_TAIL)
    return "".join(parts)
