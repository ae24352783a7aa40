"""Broken model directories, atomic writes, the manifest, divergence, and fuzzed decoders.

Every broken model is refused with one ``error:`` line naming the file and what to do
(exit 1); a weights file holding a pickle is refused without ever being unpickled.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nertag.training import checkpoint as ckpt
from nertag.nn import crf
from nertag import modelio
from nertag.errors import NertagError


def refresh_manifest(d: Path) -> None:
    """What someone who edits a model by hand would do: make the checksums match again."""
    manifest = {name: modelio.sha256(d / name) for name in modelio.FILES}
    (d / "manifest.json").write_text(json.dumps(manifest))


def _weights(d: Path) -> dict:
    with np.load(d / "weights.npz") as z:
        return {k: z[k] for k in z.files}


class _Trap:
    """Unpickling this creates a file: proof that a pickle was (not) loaded."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


# ----------------------------------------------------------------------------- breakers
def _missing_file(d):
    (d / "vocab.json").unlink()
    return "{d}: vocab.json is missing", "not a complete nertag model directory"


def _missing_manifest(d):
    (d / "manifest.json").unlink()
    return ("{d}: manifest.json is missing",)


def _weights_is_a_directory(d):
    (d / "weights.npz").unlink()
    (d / "weights.npz").mkdir()
    return ("{d}: weights.npz is missing",)


def _truncated_checksum(d):
    b = (d / "weights.npz").read_bytes()
    (d / "weights.npz").write_bytes(b[: len(b) // 2])
    return ("{d}/weights.npz: checksum does not match manifest.json",
            "retrain or re-copy the model")


def _changed_config_checksum(d):
    (d / "config.yaml").write_text((d / "config.yaml").read_text().replace("hidden: 20",
                                                                           "hidden: 21"))
    return ("{d}/config.yaml: checksum does not match manifest.json",)


def _truncated(d):
    b = (d / "weights.npz").read_bytes()
    (d / "weights.npz").write_bytes(b[: len(b) // 2])
    refresh_manifest(d)
    return "{d}/weights.npz: truncated or corrupted weights", "retrain or re-copy"


def _corrupted(d):
    b = bytearray((d / "weights.npz").read_bytes())
    b[len(b) // 3: len(b) // 3 + 64] = b"\x55" * 64
    (d / "weights.npz").write_bytes(bytes(b))
    refresh_manifest(d)
    return ("{d}/weights.npz: truncated or corrupted weights",)


def _not_an_archive(d):
    (d / "weights.npz").write_bytes(b"these are not the weights you are looking for")
    refresh_manifest(d)
    return ("{d}/weights.npz: not a NumPy .npz archive",)


def _empty_weights(d):
    (d / "weights.npz").write_bytes(b"")
    refresh_manifest(d)
    return ("{d}/weights.npz: not a NumPy .npz archive",)


def _shape_mismatch(d):
    w = _weights(d)
    w["W"] = w["W"][:, :-1]
    np.savez(d / "weights.npz", **w)
    refresh_manifest(d)
    return ("{d}/weights.npz: W has shape", "config.yaml implies",
            "the files do not belong together")


def _config_mismatch(d):
    (d / "config.yaml").write_text((d / "config.yaml").read_text().replace("hidden: 20",
                                                                           "hidden: 21"))
    refresh_manifest(d)
    return ("{d}/weights.npz: W has shape (20, ", "config.yaml implies (21, ")


def _missing_parameter(d):
    w = _weights(d)
    del w["U"]
    np.savez(d / "weights.npz", **w)
    refresh_manifest(d)
    return ("{d}/weights.npz: parameter U is missing",)


def _string_array(d):
    w = _weights(d)
    w["b"] = np.array(["x"] * len(w["b"]))
    np.savez(d / "weights.npz", **w)
    refresh_manifest(d)
    return ("{d}/weights.npz: entry 'b' is not a numeric array",)


def _newer_version(d):
    meta = json.loads((d / "meta.json").read_text())
    meta["format_version"] = modelio.FORMAT_VERSION + 1
    (d / "meta.json").write_text(json.dumps(meta))
    refresh_manifest(d)
    v = modelio.FORMAT_VERSION
    return (f"{{d}}: model format version {v + 1} is newer than this nertag understands ({v})",
            "upgrade nertag")


def _not_a_nertag_model(d):
    (d / "meta.json").write_text(json.dumps({"format": "spacy"}))
    refresh_manifest(d)
    return ("{d}/meta.json: not a nertag model (format 'spacy')",)


def _bad_json(d):
    (d / "vocab.json").write_text('{"features": [')
    refresh_manifest(d)
    return ("{d}/vocab.json: corrupted (not valid JSON)",)


def _vocab_mismatch(d):
    (d / "vocab.json").write_text(json.dumps({"features": 3, "labels": []}))
    refresh_manifest(d)
    return ("{d}/vocab.json: does not match config.yaml's features",)


def _bad_manifest(d):
    (d / "manifest.json").write_text("[1, 2, 3]")
    return ("{d}/manifest.json: corrupted (not a mapping",)


def _bad_model_config(d):
    (d / "config.yaml").write_text("model:\n  hidden: -5\n")
    refresh_manifest(d)
    return ("{d}/config.yaml: 'model.hidden' must be >= 1", "the model's config")


BROKEN = {f.__name__.strip("_"): f for f in [
    _missing_file, _missing_manifest, _weights_is_a_directory, _truncated_checksum,
    _changed_config_checksum, _truncated, _corrupted, _not_an_archive, _empty_weights,
    _shape_mismatch, _config_mismatch, _missing_parameter, _string_array, _newer_version,
    _not_a_nertag_model, _bad_json, _vocab_mismatch, _bad_manifest, _bad_model_config]}


@pytest.fixture
def text(tmp_path):
    p = tmp_path / "in.txt"
    p.write_text("EU rejects German call to boycott British lamb.\n")
    return p


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_model_is_refused(name, model_copy, text, cli, expect_error):
    frags = [f.format(d=model_copy) for f in BROKEN[name](model_copy)]
    with pytest.raises(NertagError):
        modelio.load_model(model_copy)
    expect_error(cli("tag", "-m", model_copy, text), 1, *frags)


def test_model_directory_missing(tmp_path, text, cli, expect_error):
    d = tmp_path / "nomodel"
    expect_error(cli("tag", "-m", d, text), 1, f"{d}: model directory not found; give the "
                 f"path of a trained model directory (--model DIR)")
    expect_error(cli("evaluate", d, text), 1, f"{d}: model directory not found; give the "
                 f"path of a trained model directory (MODEL)")


def test_model_is_a_file(text, cli, expect_error):
    expect_error(cli("tag", "-m", text, text), 1, f"{text}: not a directory; a model is a "
                 f"directory (of weights.npz, config.yaml, ...) (--model DIR)")


@pytest.mark.parametrize("how", ["inside-npz", "whole-file"])
def test_pickled_weights_are_refused_never_loaded(how, model_copy, text, cli, expect_error,
                                                  tmp_path):
    marker = tmp_path / "UNPICKLED"
    if how == "inside-npz":
        w = _weights(model_copy)
        w["W"] = np.array([_Trap(marker)], dtype=object)
        np.savez(model_copy / "weights.npz", **w)
        frag = "contains a pickled object; refused"
    else:
        (model_copy / "weights.npz").write_bytes(pickle.dumps(_Trap(marker)))
        frag = "is a pickle, not a NumPy .npz archive; refused"
    refresh_manifest(model_copy)
    expect_error(cli("tag", "-m", model_copy, text), 1, f"{model_copy}/weights.npz: {frag}",
                 "nertag never loads pickles")
    with pytest.raises(NertagError):
        modelio.load_weights(model_copy / "weights.npz")
    assert not marker.exists()


def test_non_npy_member_is_refused(model_copy, text, cli, expect_error, tmp_path):
    marker = tmp_path / "UNPICKLED"
    with zipfile.ZipFile(model_copy / "weights.npz", "a") as z:
        z.writestr("evil.npy", pickle.dumps(_Trap(marker)))
    refresh_manifest(model_copy)
    expect_error(cli("tag", "-m", model_copy, text), 1, f"{model_copy}/weights.npz")
    assert not marker.exists()


# ----------------------------------------------------------------------------- manifest
def test_manifest_lists_every_file_with_its_sha256(small_model):
    manifest = json.loads((small_model / "manifest.json").read_text())
    # a model trained with a dev file keeps its entity scores' calibration, fitted on dev
    assert sorted(manifest) == sorted(modelio.FILES + ("calibration.json",))
    for name, digest in manifest.items():
        assert digest == modelio.sha256(small_model / name) and len(digest) == 64
    # and nothing else but the training report (derived, rebuilt by nertag report: not listed)
    assert sorted(p.name for p in small_model.iterdir() if p.name != "report.html") == \
        sorted(modelio.FILES + ("calibration.json", "manifest.json"))


def test_single_bit_flip_is_caught(model_copy):
    b = bytearray((model_copy / "metrics.json").read_bytes())
    b[len(b) // 2] ^= 0x01
    (model_copy / "metrics.json").write_bytes(bytes(b))
    with pytest.raises(NertagError, match="metrics.json: checksum does not match"):
        modelio.load_model(model_copy)


# ----------------------------------------------------------------------------- atomicity
def test_failed_save_leaves_no_model_and_no_temp(small_model, tmp_path, monkeypatch):
    model = modelio.load_model(small_model)
    out = tmp_path / "new"

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(modelio, "dump_config", boom)
    with pytest.raises(OSError):
        modelio.save_model(out, model)
    assert list(tmp_path.iterdir()) == []


def test_failed_save_keeps_the_old_model(small_model, model_copy, monkeypatch):
    model = modelio.load_model(small_model)
    before = {p.name: p.read_bytes() for p in model_copy.iterdir()}
    monkeypatch.setattr(modelio, "dump_config", lambda cfg: (_ for _ in ()).throw(
        KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        modelio.save_model(model_copy, model, force=True)
    assert {p.name: p.read_bytes() for p in model_copy.iterdir()} == before
    assert sorted(p.name for p in model_copy.parent.iterdir()) == ["model"]


def test_atomic_open_discards_on_error(tmp_path):
    from nertag.atomic import atomic_open

    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as f:
            f.write("half")
            raise RuntimeError("stop")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    with atomic_open(target) as f:
        f.write("new")
    assert target.read_text() == "new" and oct(target.stat().st_mode & 0o777) == "0o644"


# ----------------------------------------------------------------------------- divergence
def _poison(monkeypatch, at_call: int, what: str):
    """Make the ``at_call``-th minibatch produce a NaN (loss) or inf (gradient of U)."""
    import nertag.nn.window as M

    calls = {"n": 0}
    if what == "loss":
        real_loss = M.head_loss

        def head_loss(*a, **k):
            loss, ds, head_grads = real_loss(*a, **k)
            calls["n"] += 1
            return (float("nan") if calls["n"] == at_call else loss), ds, head_grads

        monkeypatch.setattr(M, "head_loss", head_loss)
        return
    real = M.backward

    def backward(*a, **k):
        grads = real(*a, **k)
        calls["n"] += 1
        if calls["n"] == at_call:
            grads[what] = np.full_like(grads[what], np.inf)
        return grads

    monkeypatch.setattr(M, "backward", backward)


DIVERGE = ["-q", "--set", "train.epochs=3", "--set", "model.hidden=20",
           "--set", "train.batch_size=64"]  # 75 batches an epoch


def test_divergence_names_epoch_batch_and_parameter(monkeypatch, tmp_path, cli, expect_error):
    out = tmp_path / "run"
    _poison(monkeypatch, 75 + 7, "U")
    msg = expect_error(cli("train", "-o", out, *DIVERGE), 1,
                       "training diverged at epoch 2, batch 7: the gradient of U is not finite",
                       "lower train.lr (now 0.1)", "--set train.clip_norm=5",
                       f"the last good checkpoint is kept in {out}.partial/checkpoint")
    assert "RuntimeWarning" not in msg
    assert not out.exists()
    state = json.loads((ckpt.latest(out) / "state.json").read_text())
    assert (state["epoch"], state["batch"]) == (2, 0)  # end of epoch 1: the last good one
    for name in ("params.npz", "best.npz", "optim.npz"):
        arrays = modelio.load_weights(ckpt.latest(out) / name)
        assert all(np.isfinite(v).all() for v in arrays.values())


def test_divergence_of_the_loss_in_the_first_epoch(monkeypatch, tmp_path, cli, expect_error):
    out = tmp_path / "run"
    _poison(monkeypatch, 3, "loss")
    expect_error(cli("train", "-o", out, *DIVERGE), 1,
                 "training diverged at epoch 1, batch 3: the loss is nan",
                 "no checkpoint was saved yet")
    assert not out.exists()


def test_real_divergence_has_no_numpy_warnings(tmp_path, cli, expect_error):
    r = cli("train", "-o", tmp_path / "run", "-q", "--set", "train.lr=50",
            "--set", "model.activation=relu", "--set", "model.hidden=20")
    expect_error(r, 1, "training diverged at epoch 1", "lower train.lr (now 50)")
    assert "Warning" not in r.stderr


# ----------------------------------------------------------------------------- fuzzing
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=300) | st.text(alphabet=" \n\t.!?\"'()A-Za-z0-9\u2019\u201c",
                                       max_size=300))
def test_tokenizer_never_fails(text):
    from nertag.text.tokenize import split_sentences

    offset = 0
    for sent in split_sentences(text):
        assert sent
        for tok in sent:
            assert text[tok.start:tok.end] == tok.text and tok.start >= offset
            offset = tok.end


_K = 9
_FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32),
                    st.floats(-30, 30, width=32))


@st.composite
def _scores(draw, k=_K):
    lengths = draw(st.lists(st.integers(0, 6), max_size=5))
    S = draw(hnp.arrays(np.float32, (sum(lengths), k), elements=_FLOATS))
    return S, np.array(lengths, dtype=np.int64)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(_scores(), hnp.arrays(np.float64, (_K, _K), elements=_FLOATS),
       hnp.arrays(np.float64, (_K,), elements=_FLOATS),
       hnp.arrays(np.float64, (_K,), elements=_FLOATS))
def test_viterbi_never_fails(case, A, start, end):
    S, lengths = case
    with np.errstate(all="ignore"):
        ids = crf.viterbi(S, lengths, A, start, end)
    assert ids.shape == (len(S),) and ((ids >= 0) & (ids < _K)).all()


@pytest.fixture(scope="module")
def head_models():
    """Untrained models with each head (random parameters; decoding does not care)."""
    from nertag.config import load_config
    from nertag.text.conll import Corpus, Sentence
    from nertag.training.loop import build_model

    corpus = Corpus("x", [Sentence(["EU", "rejects", "Peter"], ["B-ORG", "O", "B-PER"]),
                          Sentence(["in", "Bonn"], ["O", "B-LOC"])], "bio")
    out = {}
    for head, scheme in [("softmax", "bio"), ("binary", "bioes"), ("crf", "bio")]:
        cfg = load_config(None, [f"model.head={head}", f"model.tag_scheme={scheme}",
                                 "model.hidden=4"])
        out[head] = build_model(cfg, corpus)
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), head=st.sampled_from(["softmax", "binary", "crf"]),
       decoder=st.sampled_from(["greedy", "constrained", "viterbi"]))
def test_decoders_never_fail_even_on_nan_scores(head_models, data, head, decoder):
    m = head_models[head]
    k = len(m.labels)
    S, lengths = data.draw(_scores(k))
    with np.errstate(all="ignore"):
        ids, probs = m.decode(S, lengths, decoder)
    assert ids.shape == (len(S),) and probs.shape == (len(S),)
    assert ((ids >= 0) & (ids < k)).all()


def test_predict_on_arbitrary_words(head_models):
    for m in head_models.values():
        tags, conf = m.predict([["\x00", "", "\udcff", "a" * 10000], [], ["."]])
        assert [len(t) for t in tags] == [4, 0, 1]


def test_nan_weights_with_matching_checksums_are_refused(model_copy, text, cli, expect_error):
    w = _weights(model_copy)
    w["W"] = np.full_like(w["W"], np.nan)
    np.savez(model_copy / "weights.npz", **w)
    refresh_manifest(model_copy)
    expect_error(cli("tag", "-m", model_copy, text), 1,
                 f"{model_copy / 'weights.npz'}: parameter W has non-finite values (NaN or "
                 f"infinity); retrain the model")


def test_training_into_a_non_empty_directory_names_output_and_force(tmp_path, cli,
                                                                     expect_error):
    (tmp_path / "keep.txt").write_text("x")
    expect_error(cli("train", "-o", tmp_path, "-q", "--set", "train.epochs=1"), 2,
                 f"{tmp_path}: directory exists and is not empty; choose another output "
                 f"directory, or replace it (--output DIR, --force)")
