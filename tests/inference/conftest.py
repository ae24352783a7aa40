"""Fixtures of the inference tests: a trained model (in memory and saved), the sample's
dev sentences, and a tricky input text."""

from __future__ import annotations

import pytest

from conftest import TRICKY
from nertag.config import load_config
from nertag.resources import sample_dev
from nertag.text.conll import read_conll
from nertag.training.loop import train


@pytest.fixture(scope="session")
def trained():
    model, _ = train(load_config("default", ["model.hidden=50", "train.epochs=2"]))
    return model


#: A small model with a character CNN (tests of the tagging path with characters).
CHAR_OVERRIDES = ["model.hidden=50", "train.epochs=2", "features.char_dim=8",
                  "features.char_filters=12", "features.char_max_len=12"]


@pytest.fixture(scope="session")
def trained_chars():
    model, _ = train(load_config("default", CHAR_OVERRIDES))
    return model


@pytest.fixture(scope="session")
def dev_words():
    return [s.words for s in read_conll(sample_dev()).sentences]


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("tag") / "model"
    train(load_config("default", ["model.hidden=50", "train.epochs=2"]), output=out)
    return out


@pytest.fixture(scope="session")
def tricky(tmp_path_factory):
    p = tmp_path_factory.mktemp("in") / "tricky.txt"
    p.write_bytes(TRICKY.encode("utf-8"))
    return p
