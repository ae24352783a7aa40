"""Entity patterns from Python: ``nertag.load(patterns=..., pattern_mode=...)``, a Tagger's
labels and pickling with them, ``nertag.api.add_patterns`` and the errors."""

from __future__ import annotations

import json
import pickle

import pytest

import nertag
from nertag.api import add_patterns
from nertag.errors import NertagError, UsageError

PATTERNS = [{"label": "PRODUCT", "pattern": "iPhone 15", "id": "ip15"},
            {"label": "CITY", "pattern": "Paris"}]
TEXT = "Angela Merkel bought an iPhone 15 in Paris.\n\nNothing here."


def ents(doc):
    return [(e.text, e.label, e.source, e.score, e.pattern_id) for e in doc.ents]


def test_load_with_patterns_as_dicts_or_a_file(small_model, tmp_path):
    t = nertag.load(small_model, patterns=PATTERNS, pattern_mode="patterns")
    doc = t(TEXT)
    assert ents(doc) == [("iPhone 15", "PRODUCT", "pattern", 1.0, "ip15"),
                         ("Paris", "CITY", "pattern", 1.0, None)]
    assert [tok.tag for tok in doc[4:7]] == ["B-PRODUCT", "I-PRODUCT", "O"]
    assert t.labels == ["CITY", "PRODUCT"] and t.patterns.mode == "patterns"
    assert doc.to_json()["entities"][0] == {"start": 24, "end": 33, "label": "PRODUCT",
                                            "text": "iPhone 15", "score": 1.0,
                                            "source": "pattern", "id": "ip15"}
    f = tmp_path / "p.jsonl"
    f.write_text("".join(json.dumps(p) + "\n" for p in PATTERNS), encoding="utf-8")
    assert nertag.load(small_model, patterns=f, pattern_mode="patterns")(TEXT) == doc
    fill = nertag.load(small_model, patterns=f, pattern_mode="fill")
    assert set(fill.labels) == {"CITY", "PRODUCT", "LOC", "MISC", "ORG", "PER"}
    assert all(e.source in ("model", "pattern") for e in fill(TEXT).ents)


def test_a_tagger_pickles_with_its_patterns(small_model):
    t = nertag.load(small_model, patterns=PATTERNS, pattern_mode="patterns")
    back = pickle.loads(pickle.dumps(t))
    assert back.patterns.digest == t.patterns.digest and back(TEXT) == t(TEXT)
    plain = pickle.loads(pickle.dumps(nertag.load(small_model)))
    assert plain.patterns is None and all(e.source is None for e in plain(TEXT).ents)


def test_add_patterns_to_a_model_directory(model_copy, tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text("".join(json.dumps(p) + "\n" for p in PATTERNS), encoding="utf-8")
    add_patterns(model_copy, f)
    assert (model_copy / "patterns.jsonl").read_bytes() == f.read_bytes()
    t = nertag.load(model_copy)
    assert t.patterns.mode == "override" and ("Paris", "CITY", "pattern", 1.0, None) in ents(
        t(TEXT))
    assert nertag.load(model_copy, patterns=[]).patterns is None  # none, for one Tagger
    assert nertag.load(model_copy, pattern_mode="fill").patterns.mode == "fill"
    add_patterns(model_copy, None)
    assert not (model_copy / "patterns.jsonl").exists()
    assert "patterns.jsonl" not in json.loads((model_copy / "manifest.json").read_text())
    assert nertag.load(model_copy).patterns is None


def test_errors(small_model, model_copy, tmp_path):
    with pytest.raises(UsageError, match="pattern mode 'fill': there are no patterns"):
        nertag.load(small_model, pattern_mode="fill")
    with pytest.raises(NertagError, match=r"^patterns\[0\]: no 'label'"):
        nertag.load(small_model, patterns=[{"pattern": "x"}])
    with pytest.raises(NertagError, match="unknown pattern mode 'both'"):
        nertag.load(small_model, patterns=PATTERNS, pattern_mode="both")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"label": "A", "pattern": "a"}\n{"label": 3, "pattern": "b"}\n')
    with pytest.raises(NertagError, match=f"{bad}:2: 'label' must be a non-empty string"):
        add_patterns(model_copy, bad)
    assert not (model_copy / "patterns.jsonl").exists()  # nothing changed
    with pytest.raises(TypeError, match="patterns: a JSONL file's path or a list"):
        nertag.load(small_model, patterns=3)
