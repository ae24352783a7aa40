"""Output formats of ``nertag tag``: jsonl, conll, inline, html (and pretty, in the CLI).

Each writer turns one :class:`~nertag.tagging.chunks.TaggedChunk` into a string, so
batches can be formatted in worker processes and written in order.
"""

from __future__ import annotations

import html
import json
from typing import Iterable

from nertag.render import palette
from nertag.text.tagged import TaggedChunk

FORMATS = ("pretty", "jsonl", "conll", "inline", "html")


def jsonl(chunk: TaggedChunk, source: str | None = None) -> str:
    """One JSON object per sentence: text, offset, tokens and entities (input offsets).

    Built as strings (the same bytes ``json.dumps(obj, ensure_ascii=False)`` writes,
    several times faster than building and encoding dicts).
    """
    enc = _enc
    tag_json = _TAG_JSON
    base = chunk.offset
    text = chunk.text
    src = f', "source": {enc(source)}' if source is not None else ""
    lines = []
    for s in chunk.sentences:
        t = s.tokens
        toks = ", ".join([f'{{"text": {enc(w)}, "start": {a}, "end": {b}, "tag": {tag_json[g]}}}'
                          for w, a, b, g in zip(t.texts, t.starts, t.ends, s.tags)])
        ents = ", ".join([f'{{"start": {e.start}, "end": {e.end}, "label": {enc(e.label)}, '
                          f'"text": {enc(e.text)}, "score": {_num(round(e.score, 4))}'
                          f'{_origin(e)}}}' for e in s.entities])
        lines.append(f'{{"text": {enc(text[s.start - base:s.end - base])}, "start": {s.start}'
                     f'{src}, "tokens": [{toks}], "entities": [{ents}]}}\n')
    return "".join(lines)


_enc = json.encoder.encode_basestring  # what json.dumps(..., ensure_ascii=False) uses


def _origin(e) -> str:
    """An entity's ``source`` (and pattern ``id``) keys, as :meth:`Entity.as_dict` has
    them: nothing in a run without patterns."""
    if e.source is None:
        return ""
    pid = "" if e.pattern_id is None else f', "id": {_enc(e.pattern_id)}'
    return f', "source": {_enc(e.source)}{pid}'


def _num(x: float) -> str:
    """A float exactly as json.dumps writes it."""
    return float.__repr__(x) if x == x and abs(x) != float("inf") else json.dumps(x)


class _Encoded(dict):
    """tag -> its JSON string, computed on first use."""

    def __missing__(self, key: str) -> str:
        self[key] = _enc(key)
        return self[key]


_TAG_JSON = _Encoded()


def document_json(chunks: list[TaggedChunk], source: str) -> str:
    """``--per document``: one JSON object for a whole input."""
    text = "".join(c.text for c in chunks)
    sents = [s for c in chunks for s in c.sentences]
    obj = {"source": source, "text": text, "start": 0,
           "sentences": [{"start": s.start, "end": s.end} for s in sents],
           "tokens": [{"text": w, "start": a, "end": b, "tag": g} for s in sents
                      for w, a, b, g in zip(s.tokens.texts, s.tokens.starts, s.tokens.ends,
                                            s.tags)],
           "entities": [e.as_dict() for s in sents for e in s.entities]}
    return json.dumps(obj, ensure_ascii=False) + "\n"


def conll(chunk: TaggedChunk) -> str:
    """``token<TAB>tag`` lines, a blank line after each sentence."""
    parts = []
    for s in chunk.sentences:
        parts.extend(map("{}\t{}\n".format, s.tokens.texts, s.tags))
        parts.append("\n")
    return "".join(parts)


def _spans(chunk: TaggedChunk):
    return [e for s in chunk.sentences for e in s.entities]


def inline(chunk: TaggedChunk) -> str:
    """The original text with ``<PER>…</PER>`` marks; every other character unchanged."""
    out, pos, base = [], 0, chunk.offset
    for e in _spans(chunk):
        out.append(chunk.text[pos:e.start - base])
        out.append(f"<{e.label}>{e.text}</{e.label}>")
        pos = e.end - base
    out.append(chunk.text[pos:])
    return "".join(out)


HTML_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>nertag: {title}</title>
<style>
body {{ font: 16px/1.7 Georgia, serif; max-width: 48em; margin: 2em auto; padding: 0 1em; color: #222; background: #fff; }}
.text {{ white-space: pre-wrap; }}
mark {{ padding: 0.1em 0.25em; border-radius: 0.3em; }}
mark .l {{ font: bold 0.65em sans-serif; margin-left: 0.3em; vertical-align: middle; }}
.legend mark {{ margin-right: 0.6em; }}
h2.file {{ font: bold 1em sans-serif; margin: 2em 0 0.5em; padding-bottom: 0.2em; border-bottom: 1px solid #ddd; }}
.note {{ font: italic 0.9em sans-serif; color: #666; }}
{label_css}</style></head><body>
<h1>nertag</h1>
<p class="legend">{legend}</p>
"""
TEXT_DIV = '<div class="text">'
HTML_TAIL = "</div>\n</body></html>\n"
#: With a section per input file (:func:`html_section`): what ends a section, the page.
SECTION_END = "</div></section>\n"
PAGE_END = "</body></html>\n"


def html_head(title: str, types: Iterable[str], sections: bool = False) -> str:
    """The page up to the text: a legend of the entity ``types`` (``PER``, …) in their
    colours (:mod:`~nertag.render.palette`); then the text's ``<div>``, unless the
    page has ``sections`` (several inputs: each in its own, :func:`html_section`)."""
    colour_of = palette.colours(types)
    legend = "".join(f'<mark data-label="{html.escape(t)}">{html.escape(t)}</mark>'
                     for t in colour_of)
    head = HTML_HEAD.format(title=html.escape(title), legend=legend,
                            label_css=palette.css(colour_of))
    return head if sections else head + TEXT_DIV


def html_section(name: str, note: str | None = None) -> str:
    """The start of one input's section: its name as a heading (and a ``note``)."""
    extra = f'<p class="note">{html.escape(note)}</p>' if note else ""
    return f'<section><h2 class="file">{html.escape(name)}</h2>{extra}{TEXT_DIV}'


def html_body(chunk: TaggedChunk) -> str:
    """The chunk's text with each entity in a ``<mark data-label=…>`` (coloured by the
    head's CSS), its label in a ``<span class="l">`` and label and score on hover."""
    out, pos, base = [], 0, chunk.offset
    for e in _spans(chunk):
        label = html.escape(e.label)
        out.append(html.escape(chunk.text[pos:e.start - base]))
        how = " (pattern)" if e.source == "pattern" else ""
        out.append(f'<mark data-label="{label}" title="{label} {e.score:.2f}{how}">'
                   f'{html.escape(e.text)}<span class="l">{label}</span></mark>')
        pos = e.end - base
    out.append(html.escape(chunk.text[pos:]))
    return "".join(out)


def tokenized_conll(columns: list[list[str]], tags: list[str]) -> str:
    """``--tokenized``: the input's columns with the predicted tag appended."""
    return "".join(" ".join(cols + [tag]) + "\n" for cols, tag in zip(columns, tags)) + "\n"
