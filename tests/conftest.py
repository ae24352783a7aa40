"""Shared fixtures and helpers: a small trained model, the CLI in-process, error-message
checks, and what several inference test files compare with (``from conftest import ...``)."""

from __future__ import annotations

import inspect
import os
import re
import sys
from pathlib import Path

import pytest

from nertag.config import load_config
from nertag.resources import sample_dev
from nertag.text.conll import read_conll
from nertag.training.loop import train

#: A model that trains in well under a second on the sample corpus.
SMALL = ["train.epochs=1", "model.hidden=20"]

#: The real command line, as a subprocess (same interpreter as the tests).
NERTAG = [sys.executable, "-m", "nertag"]


@pytest.fixture(scope="session")
def small_model(tmp_path_factory) -> Path:
    """A complete model directory (trained once per session); do not modify it, copy it."""
    from nertag.config import load_config
    from nertag.training.loop import train

    out = tmp_path_factory.mktemp("small-model") / "model"
    train(load_config(None, SMALL), output=out)
    return out


#: The small model with the shipped name lists (token features) and match dropout.
GAZETTEER = SMALL + ["features.gazetteer=bundled", "train.gazetteer_dropout=0.3"]


@pytest.fixture(scope="session")
def gazetteer_model(tmp_path_factory) -> Path:
    """A complete model directory with name lists (trained once per session); copy it to
    change it."""
    from nertag.config import load_config
    from nertag.training.loop import train

    out = tmp_path_factory.mktemp("gazetteer-model") / "model"
    train(load_config(None, GAZETTEER), output=out)
    return out


#: The small model with document context: a second stage over jackknifed first-stage tags.
DOC_CONTEXT = ["train.epochs=2", "model.hidden=20", "features.doc_context=true"]


@pytest.fixture(scope="session")
def doc_model(tmp_path_factory) -> Path:
    """A complete model directory with document context (``stage1/`` inside; trained once
    per session); copy it to change it."""
    from nertag.config import load_config
    from nertag.training.loop import train

    out = tmp_path_factory.mktemp("doc-model") / "model"
    train(load_config(None, DOC_CONTEXT), output=out, report=False)
    return out


@pytest.fixture
def model_copy(small_model, tmp_path) -> Path:
    """A private copy of :func:`small_model` a test may break."""
    import shutil

    dst = tmp_path / "model"
    shutil.copytree(small_model, dst)
    return dst


@pytest.fixture
def cli():
    """Run ``nertag ARGS...`` in-process; returns typer's Result (stdout, stderr, exit_code)."""
    from typer.testing import CliRunner

    from nertag.cli import app

    def run(*args, input=None):
        return CliRunner().invoke(app, [str(a) for a in args], input=input)

    return run


def check_error(result, code: int, *fragments: str) -> str:
    """Assert a failure the way a user sees it: the exit code, one ``error:`` line on
    stderr (the last line) containing every fragment, and no traceback. Returns the line."""
    stderr = result.stderr
    assert result.exit_code == code, (result.exit_code, stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in result.output and "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert stderr.rstrip("\n").splitlines()[-1] == errors[0], stderr
    assert "error:" not in result.stdout, result.stdout
    msg = errors[0]
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in {msg!r}"
    log = os.environ.get("NERTAG_TEST_ERROR_LOG")  # a catalogue of the messages, if asked
    if log:
        import json

        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"test": os.environ.get("PYTEST_CURRENT_TEST", "?"),
                                "code": code, "message": msg}) + "\n")
    return msg


@pytest.fixture
def expect_error():
    return check_error


@pytest.fixture
def unreadable(tmp_path, monkeypatch):
    """A file the process cannot open (chmod 000, or a patched open() when running as root)."""

    def make(name: str = "secret.conll", content: str = "EU B-ORG\n") -> Path:
        p = tmp_path / name
        p.write_text(content, encoding="utf-8")
        p.chmod(0)
        if os.access(p, os.R_OK):  # root reads anything: make open() refuse this one file
            import builtins

            import nertag.text.conll

            real_open = builtins.open

            def fake_open(file, *a, **k):
                if Path(file) == p:
                    raise PermissionError(13, "Permission denied", str(file))
                return real_open(file, *a, **k)

            monkeypatch.setattr(nertag.text.conll, "open", fake_open, raising=False)
        return p

    yield make
    for p in tmp_path.iterdir():
        if p.is_file():
            p.chmod(0o644)


# ------------------------------------------------------------------ inference
#: A text to tag with CRLF, tabs, non-ASCII, curly quotes, abbreviations and no final newline.
TRICKY = ("EU rejects German call to boycott British lamb .\r\n"
          "Peter Blackburn\tmet Angela Merkel in Zürich and São Paulo on Monday.\r\n\r\n"
          "\tBRUSSELS 1996-08-22\n"
          "The European Commission said on Thursday it disagreed with German advice "
          "to consumers to shun British lamb until scientists determine whether mad cow "
          "disease can be transmitted to sheep.\n\n\n"
          "Ölkonzern Royal Dutch/Shell — “Großbritannien” ☃ said: “I’m fine,” "
          "Mr. Łukasz Żółć told Reuters in Paris 's office.\r\n"
          "Café Dupont Inc. and Société Générale SA 50% of $5 U.S. stocks...\n"
          "no newline at the end, Germany")

SCORE_TOL = 2e-5  # scores are O(1..10); float32 sums in another order differ by ~1e-6


def untrained(*overrides):
    """A freshly initialised model of the default config (with overrides) on the sample."""
    from nertag.config import load_config
    from nertag.resources import sample_train
    from nertag.text.conll import read_conll
    from nertag.training.loop import build_model

    cfg = load_config("default", list(overrides))
    return build_model(cfg, read_conll(sample_train()))


def assert_same_scores(ref, out):
    """A fast path's scores are the plain forward's: to float rounding, the same argmax."""
    import numpy as np

    assert out.shape == ref.shape and out.dtype == ref.dtype
    assert np.abs(out - ref).max() <= SCORE_TOL * max(1.0, np.abs(ref).max())
    assert (out.argmax(1) == ref.argmax(1)).all()


# -- a trained model, in memory and saved, the sample's dev sentences and a tricky input:
# the fixtures of the inference, tagging and render tests


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


# ------------------------------------------------------------------ the slow marker
# `pytest -m "not slow"` runs in about a minute: it leaves out every test that trains a
# model or starts a process, server, cluster or browser. Such a test is marked here by
# what it uses, so test modules need no marks of their own (`@pytest.mark.slow` still
# marks one by hand). CI runs everything.

#: Fixtures that train a model (once per session) or start a server, cluster or browser;
#: a test that uses one, directly or through another fixture, is slow.
SLOW_FIXTURES = frozenset({
    "small_model", "model_copy", "gazetteer_model", "doc_model", "trained", "trained_chars",
    "model_dir",                                 # train a model
    "live", "start_server", "quick",             # tests/serve/conftest.py: uvicorn
    "cluster",                                   # tests/test_dask.py: a LocalCluster
    "browser",                                   # headless Chromium (tests/browser.py)
})

#: Modules whose tests all do so (their helpers start the command line as a process,
#: train, serve, tag with worker processes or measure).
SLOW_MODULES = (
    "tests/test_dask",                           # test_dask.py, test_dask_connect.py
    "tests/serve/", "tests/cli/test_serve.py",   # a real server
    "tests/training/",                           # training runs
    "tests/cli/test_train.py", "tests/test_benchmark.py",
    "tests/tagging/test_parallel.py",            # --jobs: worker processes
    "tests/test_atomic_cli.py",                  # the real command line
)

#: What a test's own code says when it starts a process, trains, benchmarks, uses
#: worker processes or reads the CoNLL-2003 files in ../shared.
SLOW_CALLS = re.compile(r"subprocess|Popen|NERTAG|\btrain\(|[\"'](train|benchmark)[\"']"
                        r"|--jobs|\bjobs=|[\"']-j[\"']|\b(VALID|SHARED|GLOVE|CONLL_VALID)\b")


def _is_slow(item) -> bool:
    if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    path = Path(str(item.fspath)).resolve()
    try:
        rel = path.relative_to(Path(__file__).resolve().parents[1]).as_posix()
    except ValueError:
        rel = path.as_posix()
    if rel.startswith(SLOW_MODULES):
        return True
    function = getattr(item, "function", None)
    try:
        source = inspect.getsource(function) if function is not None else ""
    except (OSError, TypeError):
        source = ""
    return bool(SLOW_CALLS.search(source))


def pytest_collection_modifyitems(config, items):
    slow = pytest.mark.slow
    for item in items:
        if item.get_closest_marker("slow") is None and _is_slow(item):
            item.add_marker(slow)
