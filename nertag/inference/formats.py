"""Output formats of ``nertag tag``: jsonl, conll, inline, html (and pretty, in the CLI).

Each writer turns one :class:`~nertag.inference.tagging.TaggedChunk` into a string, so
batches can be formatted in worker processes and written in order.
"""

from __future__ import annotations

import html
import json

from nertag.inference.tagging import TaggedChunk

FORMATS = ("pretty", "jsonl", "conll", "inline", "html")
COLOURS = {"PER": "#fdd49e", "LOC": "#b3e2cd", "ORG": "#cbd5e8", "MISC": "#f4cae4"}
FALLBACK = ["#fff2ae", "#e6f5c9", "#f1e2cc", "#cccccc"]


def colour(label: str) -> str:
    return COLOURS.get(label) or FALLBACK[sum(map(ord, label)) % len(FALLBACK)]


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
                          f'"text": {enc(e.text)}, "score": {_num(round(e.score, 4))}}}'
                          for e in s.entities])
        lines.append(f'{{"text": {enc(text[s.start - base:s.end - base])}, "start": {s.start}'
                     f'{src}, "tokens": [{toks}], "entities": [{ents}]}}\n')
    return "".join(lines)


_enc = json.encoder.encode_basestring  # what json.dumps(..., ensure_ascii=False) uses


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
body {{ font: 16px/1.7 Georgia, serif; max-width: 48em; margin: 2em auto; padding: 0 1em; color: #222; }}
.text {{ white-space: pre-wrap; }}
mark {{ padding: 0.1em 0.25em; border-radius: 0.3em; }}
mark .l {{ font: bold 0.65em sans-serif; margin-left: 0.3em; vertical-align: middle; opacity: 0.7; }}
.legend mark {{ margin-right: 0.6em; }}
</style></head><body>
<h1>nertag</h1>
<p class="legend">{legend}</p>
<div class="text">"""
HTML_TAIL = "</div>\n</body></html>\n"


def html_head(title: str, labels: list[str]) -> str:
    types = sorted({lab[2:] for lab in labels if lab != "O"})
    legend = "".join(f'<mark style="background:{colour(t)}">{html.escape(t)}</mark>'
                     for t in types)
    return HTML_HEAD.format(title=html.escape(title), legend=legend)


def html_body(chunk: TaggedChunk) -> str:
    out, pos, base = [], 0, chunk.offset
    for e in _spans(chunk):
        out.append(html.escape(chunk.text[pos:e.start - base]))
        out.append(f'<mark style="background:{colour(e.label)}" title="{e.label} '
                   f'{e.score:.2f}">{html.escape(e.text)}<span class="l">'
                   f'{html.escape(e.label)}</span></mark>')
        pos = e.end - base
    out.append(html.escape(chunk.text[pos:]))
    return "".join(out)


def tokenized_conll(columns: list[list[str]], tags: list[str]) -> str:
    """``--tokenized``: the input's columns with the predicted tag appended."""
    return "".join(" ".join(cols + [tag]) + "\n" for cols, tag in zip(columns, tags)) + "\n"
