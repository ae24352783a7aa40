"""Bad configs (a YAML file or --set): a one-line error naming the file and key, exit 2."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nertag.config import from_dict, load_config
from nertag.errors import NertagError, UsageError

# name -> (YAML text, exit code, fragments of the message after "error: {file}")
BAD_YAML = {
    "not-yaml": ("model:\n  hidden: 10\n   bad: [\n", 2,
                 [":3: not valid YAML", "check the indentation"]),
    "not-a-mapping": ("- model\n- train\n", 2,
                      [": a config must be a mapping of sections", "got list"]),
    "plain-text": ("just some words\n", 2, [": a config must be a mapping", "got str"]),
    "section-not-a-mapping": ("model: 3\n", 2, [": section 'model' must be a mapping"]),
    "unknown-section": ("modle:\n  hidden: 10\n", 2,
                        [": unknown key 'modle'", "did you mean 'model'?"]),
    "unknown-key": ("model:\n  hiden: 10\n", 2,
                    [": unknown key 'model.hiden'", "did you mean 'model.hidden'?"]),
    "key-in-wrong-section": ("train:\n  dropout_input: 0.5\n", 2,
                             [": unknown key 'train.dropout_input'",
                              "did you mean 'model.dropout_input'?"]),
    "wrong-type-int": ("model:\n  hidden: ten\n", 2,
                       [": 'model.hidden' must be an integer, got 'ten'"]),
    "wrong-type-bool": ("features:\n  lowercase: maybe\n", 2,
                        [": 'features.lowercase' must be true or false"]),
    "wrong-type-float": ("train:\n  lr: [0.1]\n", 2, [": 'train.lr' must be a number"]),
    "wrong-type-list": ("features:\n  suffix_lengths: 3\n", 2,
                        [": 'features.suffix_lengths' must be a list of int"]),
    "out-of-range-low": ("train:\n  lr: -1\n", 2, [": 'train.lr' must be > 0, got -1.0"]),
    "lr-zero": ("train:\n  lr: 0\n", 2, [": 'train.lr' must be > 0, got 0.0"]),
    "lr-decay-zero": ("train:\n  lr_decay: 0.0\n", 2, [": 'train.lr_decay' must be > 0, got 0.0"]),
    "out-of-range-high": ("model:\n  dropout_hidden: 1.5\n", 2,
                          [": 'model.dropout_hidden' must be <= 0.95"]),
    "nan": ("train:\n  lr: .nan\n", 2, [": 'train.lr' must be a number"]),
    "unknown-activation": ("model:\n  activation: relu6\n", 2,
                           [": unknown activation 'relu6'", "choose one of tanh, sigmoid",
                            "did you mean 'relu'?"]),
    "unknown-optimiser": ("train:\n  optimizer: adamw\n", 2,
                          [": unknown optimizer 'adamw'", "sgd, adagrad, adam",
                           "did you mean 'adam'?"]),
    "unknown-decoder": ("model:\n  decoder: beam\n", 2,
                        [": unknown decoder 'beam'", "greedy, constrained, viterbi"]),
    "char-activation": ("features:\n  char_activation: relu\n", 2,
                        [": unknown char_activation 'relu' for 'features.char_activation'",
                         "choose one of tanh, linear"]),
    "char-width-zero": ("features:\n  char_width: 0\n", 2,
                        [": 'features.char_width' must be >= 1, got 0"]),
    "char-dim-negative": ("features:\n  char_dim: -4\n", 2,
                          [": 'features.char_dim' must be >= 0, got -4"]),
    "char-key-typo": ("features:\n  char_filter: 30\n", 2,
                      [": unknown key 'features.char_filter'",
                       "did you mean 'features.char_filters'?"]),
    "python-object": ("model:\n  hidden: !!python/object/apply:os.system [echo]\n", 2,
                      [":2: not valid YAML"]),
}


@pytest.mark.parametrize("name", list(BAD_YAML))
def test_bad_config_file(tmp_path, cli, expect_error, name):
    text, code, frags = BAD_YAML[name]
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError):
        load_config(str(cfg))
    out = tmp_path / "out"
    expect_error(cli("train", "-c", cfg, "-o", out, "-q"), code,
                 *[f"error: {cfg}{frag}" if i == 0 else frag for i, frag in enumerate(frags)])
    assert not out.exists()


# name -> (--set items, fragments)
BAD_SET = {
    "set-unknown-key": (["model.hiden=10"], ["override: unknown key 'model.hiden'",
                                             "did you mean 'model.hidden'? (--set KEY=VALUE)"]),
    "set-unknown-section": (["modle.hidden=10"], ["override: unknown key 'modle'",
                                                  "did you mean 'model'?"]),
    "set-no-equals": (["model.hidden"], ["override 'model.hidden': expected "
                                         "'SECTION.KEY=VALUE'", "(--set KEY=VALUE)"]),
    "set-no-section": (["hidden=10"], ["the key must be SECTION.KEY"]),
    "set-wrong-type": (["model.hidden=abc"], ["override: 'model.hidden' must be an integer"]),
    "set-out-of-range": (["train.epochs=0"], ["override: 'train.epochs' must be >= 1"]),
    "set-lr-zero": (["train.lr=0"], ["override: 'train.lr' must be > 0, got 0.0"]),
    "set-unknown-activation": (["model.activation=swish"], ["unknown activation 'swish'"]),
    "set-unknown-optimiser": (["train.optimizer=rmsprop"], ["unknown optimizer 'rmsprop'"]),
    "set-unknown-decoder": (["model.decoder=beam"], ["unknown decoder 'beam'"]),
}


@pytest.mark.parametrize("name", list(BAD_SET))
def test_bad_set_override(tmp_path, cli, expect_error, name):
    items, frags = BAD_SET[name]
    args = [a for item in items for a in ("--set", item)]
    expect_error(cli("train", "-o", tmp_path / "out", "-q", *args), 2, *frags)


def test_config_file_missing(tmp_path, cli, expect_error):
    p = tmp_path / "nope.yaml"
    expect_error(cli("train", "-c", p, "-q"), 2, f"{p}: config file not found",
                 "bundled configs: ")


def test_unknown_bundled_config(cli, expect_error):
    expect_error(cli("train", "-c", "conll2030", "-q"), 2, "unknown config 'conll2030'",
                 "did you mean 'conll2003'?")


def test_config_is_a_directory(tmp_path, cli, expect_error):
    expect_error(cli("train", "-c", tmp_path, "-q"), 2, f"{tmp_path}: is a directory")


def test_config_not_utf8(tmp_path, cli, expect_error):
    p = tmp_path / "bin.yaml"
    p.write_bytes(b"\xff\xfe\x00model")
    expect_error(cli("train", "-c", p, "-q"), 1, f"{p}: not valid UTF-8 text")


def test_config_unreadable(unreadable, cli, expect_error, monkeypatch):
    p = unreadable("c.yaml", "model:\n  hidden: 10\n")
    if os.access(p, os.R_OK):  # running as root: make reading this one file fail
        real = Path.read_text

        def fake(self, *a, **k):
            if self == p:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self, *a, **k)

        monkeypatch.setattr(Path, "read_text", fake)
    expect_error(cli("train", "-c", p, "-q"), 1, f"{p}: cannot read config (Permission denied)")


def test_decoder_option(small_model, tmp_path, cli, expect_error):
    expect_error(cli("tag", "-m", small_model, "--decoder", "beam", "x.txt"), 2,
                 "Invalid value for '--decoder': 'beam' is not one of 'greedy', 'constrained', "
                 "'viterbi'")


def test_valid_config_and_messages_are_single_lines():
    cfg = from_dict({"model": {"hidden": 7}, "train": {"lr": 1}})
    assert cfg.model.hidden == 7 and cfg.train.lr == 1.0
    with pytest.raises(NertagError) as ei:
        from_dict({"model": {"activation": "x" * 200}})
    assert "\n" not in ei.value.message and ei.value.exit_code == 2


def test_data_format_choices_are_the_readers():
    import dataclasses

    from nertag.config import DataConfig
    from nertag.text.conll import FILE_SCHEMES
    from nertag.text.datasets import INPUT_FORMATS

    meta = {f.name: f.metadata for f in dataclasses.fields(DataConfig)}
    assert tuple(meta["format"]["choices"]) == INPUT_FORMATS
    assert tuple(meta["tag_scheme"]["choices"]) == FILE_SCHEMES
    assert load_config(None, ["data.format=doccano"]).data.format == "doccano"
    with pytest.raises(UsageError, match="data.format"):
        load_config(None, ["data.format=xml"])


def test_character_cnn_keys_make_the_architecture():
    from nertag.resources import sample_train
    from nertag.text.conll import read_conll
    from nertag.training.loop import build_model

    cfg = load_config(None, ["features.char_dim=7", "features.char_filters=11",
                             "features.char_width=5", "features.char_max_len=9",
                             "features.char_activation=linear"])
    model = build_model(cfg, read_conll(sample_train()))
    ch = model.arch.chars
    assert (ch.A, ch.c, ch.m, ch.k, ch.L, ch.activation) == (
        len(model.featurizer.chars.vocab), 7, 11, 5, 9 + 4, "linear")
    assert model.params["K_char"].shape == (11, 35) and model.arch.D == 50 + 5 + 11
    assert load_config(None).features.char_dim == 0          # off by default
    assert build_model(load_config(None), read_conll(sample_train())).arch.chars is None


def test_name_list_keys_bad_values_name_the_key(tmp_path, cli, expect_error):
    """features.gazetteer: an empty string, a missing file, a directory, a file that is not
    name lists; gazetteer_dim and gazetteer_dropout out of range: one line naming the key
    (or the file), exit 2, nothing written."""
    with pytest.raises(UsageError, match="'features.gazetteer' must be a name-list file or "
                                         "'bundled'"):
        from_dict({"features": {"gazetteer": " "}})
    out = tmp_path / "out"
    missing = tmp_path / "nope.tsv.gz"
    expect_error(cli("train", "-o", out, "-q", "--set", f"features.gazetteer={missing}"), 2,
                 f"'features.gazetteer': {missing}: no such file; expected a name-list file",
                 "or 'bundled'")
    expect_error(cli("train", "-o", out, "-q", "--set", f"features.gazetteer={tmp_path}"), 2,
                 f"'features.gazetteer': {tmp_path}: is a directory, not a name-list file")
    junk = tmp_path / "junk.tsv.gz"
    junk.write_text("LOC\tParis\n")
    expect_error(cli("train", "-o", out, "-q", "--set", f"features.gazetteer={junk}"), 2,
                 f"{junk}: not a gzip file", "tools.build_gazetteers")
    expect_error(cli("train", "-o", out, "-q", "--set", "features.gazetteer_dim=0"), 2,
                 "'features.gazetteer_dim' must be >= 1, got 0")
    expect_error(cli("train", "-o", out, "-q", "--set", "train.gazetteer_dropout=1.5"), 2,
                 "'train.gazetteer_dropout' must be <= 0.95, got 1.5")
    expect_error(cli("train", "-o", out, "-q", "--set", "features.gazeteer=bundled"), 2,
                 "unknown key 'features.gazeteer'", "did you mean 'features.gazetteer'?")
    assert not out.exists()
    cfg = load_config(None, ["features.gazetteer=bundled"])
    from nertag.config import gazetteer_path
    from nertag.resources import gazetteers

    assert gazetteer_path(cfg) == gazetteers() and gazetteers().is_file()
    assert gazetteer_path(load_config(None)) is None  # off by default


def test_override_errors_name_the_key_not_a_command_line_option():
    for item in ("model.nonsense=3", "model.hidden", "train.lr=0"):
        with pytest.raises(UsageError) as e:
            load_config(None, [item])
        assert "--" not in e.value.message and e.value.inputs == ("overrides",)


def test_config_yaml_lists_every_key_and_reads_back():
    import dataclasses

    import yaml

    from nertag.config import config_yaml

    cfg = load_config("default", ["model.hidden=7", "train.lr=0.1"])
    text = config_yaml(cfg)
    assert yaml.safe_load(text) == cfg.to_dict()
    assert "  hidden: 7                        # hidden layer size H [>= 1, <= 100000]\n" in text
    assert "  lr: 0.1                          # learning rate alpha (> 0) [<= 100.0]\n" in text
    assert "[greedy | constrained | viterbi]" in text
    n_keys = sum(len(dataclasses.fields(getattr(cfg, f.name))) for f in dataclasses.fields(cfg))
    assert text.count(" # ") == n_keys
