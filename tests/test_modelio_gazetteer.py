"""A model with name lists carries them: the file (and its provenance) in the model
directory, in the manifest, checked on load; tagging reads nothing outside the model."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil

import numpy as np
import pytest

from nertag.errors import NertagError
from nertag.modelio import (GAZETTEER_FILE, GAZETTEER_PROVENANCE, load_model, model_files,
                            save_model)
from nertag.resources import gazetteers, gazetteers_provenance
from nertag.resources import sample_dev
from nertag.text.conll import read_conll


@pytest.fixture
def gaz_copy(gazetteer_model, tmp_path):
    dst = tmp_path / "model"
    shutil.copytree(gazetteer_model, dst)
    return dst


def dev_sentences():
    return [s.words for s in read_conll(sample_dev()).sentences]


def test_the_lists_and_their_provenance_are_in_the_model(gazetteer_model):
    d = gazetteer_model
    assert (d / GAZETTEER_FILE).read_bytes() == gazetteers().read_bytes()
    assert (d / GAZETTEER_PROVENANCE).read_bytes() == gazetteers_provenance().read_bytes()
    manifest = json.loads((d / "manifest.json").read_text())
    for name in (GAZETTEER_FILE, GAZETTEER_PROVENANCE):
        assert manifest[name] == hashlib.sha256((d / name).read_bytes()).hexdigest()
    assert set(manifest) == set(model_files(d))
    vocab = json.loads((d / "vocab.json").read_text())
    assert vocab["gazetteer"] == ["LOC-city", "LOC-country", "LOC-region", "MISC-demonym",
                                  "ORG-suffix", "PER-first", "PER-last"]
    assert "E_gaz_LOC-city" in np.load(d / "weights.npz").files


def test_round_trip_predictions_identical(gazetteer_model, tmp_path):
    m = load_model(gazetteer_model)
    assert m.featurizer.gazetteer.lists.source == gazetteer_model / GAZETTEER_FILE
    sents = dev_sentences()
    tags, conf = m.predict(sents)
    again = load_model(save_model(tmp_path / "again", m))
    tags2, conf2 = again.predict(sents)
    assert tags2 == tags
    assert all(np.array_equal(a, b) for a, b in zip(conf, conf2))
    assert (tmp_path / "again" / GAZETTEER_FILE).read_bytes() == gazetteers().read_bytes()
    assert (tmp_path / "again" / GAZETTEER_PROVENANCE).is_file()


def test_the_model_reads_its_own_copy_not_the_config_path(gaz_copy, tmp_path, monkeypatch):
    """Tagging needs no file outside the model: config.yaml still says 'bundled', but the
    shipped file is not read (here: it is made to vanish)."""
    import nertag.resources as res

    before = load_model(gaz_copy).predict(dev_sentences())[0]
    monkeypatch.setattr(res, "resources_dir", lambda: tmp_path / "nowhere")
    assert not res.gazetteers().exists()
    assert load_model(gaz_copy).predict(dev_sentences())[0] == before


def test_a_tampered_list_file_is_caught(gaz_copy):
    text = gzip.decompress((gaz_copy / GAZETTEER_FILE).read_bytes()).decode()
    (gaz_copy / GAZETTEER_FILE).write_bytes(gzip.compress((text + "PER-last\tZzyzx\n").encode()))
    with pytest.raises(NertagError, match=f"{GAZETTEER_FILE}: checksum does not match "
                                          "manifest.json"):
        load_model(gaz_copy)


def test_a_tampered_provenance_is_caught(gaz_copy):
    (gaz_copy / GAZETTEER_PROVENANCE).write_text("{}")
    with pytest.raises(NertagError, match="checksum does not match"):
        load_model(gaz_copy)


def test_a_missing_list_file_is_named(gaz_copy):
    (gaz_copy / GAZETTEER_FILE).unlink()
    with pytest.raises(NertagError, match=f"{GAZETTEER_FILE} is missing"):
        load_model(gaz_copy)
    with pytest.raises(NertagError, match=f"{GAZETTEER_FILE} is missing.*features.gazetteer"):
        load_model(gaz_copy, verify=False)


def test_a_manifest_without_the_lists_is_refused(gaz_copy):
    manifest = json.loads((gaz_copy / "manifest.json").read_text())
    del manifest[GAZETTEER_FILE]
    (gaz_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(NertagError, match=f"does not list {GAZETTEER_FILE}"):
        load_model(gaz_copy)


def test_lists_of_other_categories_are_refused(gaz_copy):
    from nertag.text.gazetteer import write_lists

    write_lists(gaz_copy / GAZETTEER_FILE, {"LOC": [("Paris",)]})
    with pytest.raises(NertagError, match="do not belong together"):
        load_model(gaz_copy, verify=False)


def test_the_cli_tags_with_the_lists(gazetteer_model, tmp_path, cli):
    src = tmp_path / "t.txt"
    src.write_text("Peter Blackburn flew from Paris to New York .\n", encoding="utf-8")
    r = cli("tag", "-m", gazetteer_model, src, "-f", "jsonl")
    assert r.exit_code == 0, r.stderr
    m = load_model(gazetteer_model)
    want = m.predict([src.read_text().split()])[0][0]
    assert [t["tag"] for t in json.loads(r.stdout)["tokens"]] == want


def test_a_first_stage_with_the_same_lists_shares_them(gaz_copy, tmp_path):
    """A first stage whose list file holds the model's bytes reuses the lists read for the
    model (read once); a different file is read on its own."""
    from nertag.modelio import _load_gazetteer

    vocab = json.loads((gaz_copy / "vocab.json").read_text(encoding="utf-8"))
    outer = load_model(gaz_copy).featurizer.gazetteer.lists
    stage = tmp_path / "stage1"
    stage.mkdir()
    shutil.copyfile(gaz_copy / GAZETTEER_FILE, stage / GAZETTEER_FILE)
    assert _load_gazetteer(stage, vocab, outer) is outer
    other = gzip.decompress((gaz_copy / GAZETTEER_FILE).read_bytes()) + b""
    (stage / GAZETTEER_FILE).write_bytes(gzip.compress(other, mtime=1))
    lists = _load_gazetteer(stage, vocab, outer)
    assert lists is not outer and lists.categories == outer.categories


def test_the_lists_index_is_saved_checked_and_read_instead_of_the_text(gaz_copy, monkeypatch):
    """The model directory holds the lists' index (in the manifest; not in stage1/), a load
    reads it instead of parsing the lists, and without it (an older model) or with one of
    other bytes the lists are parsed: the same codes either way."""
    from nertag.modelio import GAZETTEER_INDEX
    from nertag.text import gazetteer as gz

    manifest = json.loads((gaz_copy / "manifest.json").read_text())
    assert manifest[GAZETTEER_INDEX] == hashlib.sha256(
        (gaz_copy / GAZETTEER_INDEX).read_bytes()).hexdigest()
    words = [w for s in dev_sentences() for w in s]
    parsed = load_model(gaz_copy).featurizer.gazetteer.lists
    with monkeypatch.context() as m:
        m.setattr(gz, "parse_text", None)
        indexed = load_model(gaz_copy).featurizer.gazetteer.lists
    assert np.array_equal(indexed.codes(words), parsed.codes(words))
    assert indexed.source == gaz_copy / GAZETTEER_FILE
    (gaz_copy / GAZETTEER_INDEX).write_bytes(b"not an npz")  # caught by the manifest
    with pytest.raises(NertagError, match=f"{GAZETTEER_INDEX}: checksum does not match"):
        load_model(gaz_copy)
    load_model(gaz_copy, verify=False)  # unchecked: a damaged index is parsed around
    (gaz_copy / GAZETTEER_INDEX).unlink()
    del manifest[GAZETTEER_INDEX]
    (gaz_copy / "manifest.json").write_text(json.dumps(manifest))
    lists = load_model(gaz_copy).featurizer.gazetteer.lists  # an older model: parsed
    assert np.array_equal(lists.codes(words), parsed.codes(words))
