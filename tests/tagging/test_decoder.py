"""The decoder is an argument of the tagging path (tag_chunks, tag_stream and its worker
processes, tag_ranges, --tokenized), never a change to the model's configuration: a
worker that loads its own model (spawned) decodes as asked, and the model's own decoder
stays what it was."""

from __future__ import annotations

import functools
import io
import multiprocessing

import pytest

from nertag.modelio import load_model
from nertag.resources import sample_dev
from nertag.tagging import chunks as tagging, parallel, runtime, tokenized
from nertag.text.conll import read_conll


@pytest.fixture(scope="module")
def dev_text() -> str:
    """The sample dev sentences, one paragraph each (where greedy and constrained differ
    for the test model)."""
    sents = read_conll(sample_dev()).sentences[:300]
    return "".join(" ".join(s.words) + "\n\n" for s in sents)


@pytest.fixture
def model(model_dir):
    m = load_model(model_dir)
    m.fast_inference = True
    return m


def tags_of(chunks) -> list[list[str]]:
    return [s.tags for c in chunks for s in c.sentences]


def test_tag_chunks_decodes_as_asked_and_leaves_the_config_alone(model, dev_text):
    own = model.cfg.model.decoder
    assert own != "greedy"
    chunks = tagging.tag_chunks(model, [(0, dev_text)], decoder="greedy")
    assert model.cfg.model.decoder == own
    greedy = tags_of(chunks)
    default = tags_of(tagging.tag_chunks(model, [(0, dev_text)]))
    assert greedy != default  # the decoders differ on this text...
    sents = [s.tokens.texts for c in chunks for s in c.sentences]
    assert greedy == model.predict(sents, decoder="greedy")[0]  # ...and greedy is greedy
    assert default == model.predict(sents)[0]
    assert tags_of(tagging.tag_chunks(model, [(0, dev_text)], decoder=own)) == default


def jsonl(model, text: str, **kw) -> str:
    out = io.StringIO()
    runtime.tag_stream(model, iter(io.StringIO(text, newline="")), out, fmt="jsonl", **kw)
    return out.getvalue()


def test_spawned_workers_decode_as_asked(model, model_dir, dev_text, monkeypatch):
    """A spawned worker loads the model from its directory: only an argument reaches it."""
    want = jsonl(model, dev_text, decoder="greedy")
    assert want != jsonl(model, dev_text)
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    monkeypatch.setattr(tagging, "BATCH_CHARS", 8000)  # several batches for the workers
    pool = runtime.start_pool(model, 2, reload=functools.partial(
        load_model, model_dir, verify=False, read_only=True))
    try:
        got = jsonl(model, dev_text, decoder="greedy", pool=pool, jobs=2)
    finally:
        runtime.stop_pool(pool)
    assert got == want


def test_ranges_decode_as_asked(model, dev_text, tmp_path, monkeypatch):
    src = tmp_path / "in.txt"
    src.write_text(dev_text * 3, encoding="utf-8")
    monkeypatch.setattr(parallel, "RANGE_MIN_BYTES", 4000)
    want = jsonl(model, dev_text * 3, decoder="greedy")
    pool = runtime.start_pool(model, 2)
    try:
        out = io.StringIO()
        parallel.tag_ranges(pool, str(src), "utf-8", out, jobs=2, decoder="greedy")
    finally:
        runtime.stop_pool(pool)
    assert out.getvalue() == want
    assert model.cfg.model.decoder != "greedy"


def test_tokenized_decodes_as_asked(model):
    sents = [s.words for s in read_conll(sample_dev()).sentences]
    for decoder in ("greedy", None):
        got = [t for _, tags, _ in tokenized.tag_file(model, str(sample_dev()),
                                                      decoder=decoder) for t in tags]
        assert got == model.predict(sents, decoder=decoder)[0]
