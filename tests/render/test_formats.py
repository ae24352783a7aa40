"""Tests for nertag.render.formats (the output formats of nertag tag; the formats of a
whole tagging run are checked end to end in test_runtime.py)."""

from __future__ import annotations

import json

from nertag.render import formats
from nertag.tagging import chunks as tagging
from nertag.text.tokenize import tokenize


def test_jsonl_strings_equal_json_dumps():
    text = 'He said "hi\\there"\t\x01 naïve 😀 ' + "Zürich.\u2028x"
    toks = tokenize(text, 100)
    ents = [tagging.Entity(toks[0].start, toks[1].end, 'P"ER', text[0:7], 0.123456),
            tagging.Entity(toks[-2].start, toks[-2].end, "LOC", toks[-2].text, 1.0)]
    sent = tagging.TaggedSentence(toks[0].start, toks[-1].end, toks,
                                  ["O"] * (len(toks) - 1) + ["B-X\\"], ents)
    chunk = tagging.TaggedChunk(100, text, [sent])
    for source in (None, 'dir/"odd".txt'):
        obj = {"text": text[sent.start - 100:sent.end - 100], "start": sent.start}
        if source is not None:
            obj["source"] = source
        obj["tokens"] = [{"text": t.text, "start": t.start, "end": t.end, "tag": g}
                         for t, g in zip(toks, sent.tags)]
        obj["entities"] = [e.as_dict() for e in ents]
        assert formats.jsonl(chunk, source) == json.dumps(obj, ensure_ascii=False) + "\n"
