"""Tests for nertag.nn.arch: the parameter shapes an architecture fixes."""

from __future__ import annotations

from nertag.nn.arch import Arch


def test_arch_shapes():
    arch = Arch([("word", 100, 50), ("caps", 8, 5)], window=2, hidden=300, n_labels=9)
    assert arch.n == 5 and arch.D == 55 and arch.input_dim == 275
    assert arch.shapes() == {"E_word": (100, 50), "E_caps": (8, 5), "W": (300, 275),
                             "b": (300,), "U": (9, 300), "c": (9,)}
    crf = Arch([("word", 100, 50)], window=0, hidden=7, n_labels=3, head="crf")
    assert crf.shapes() == {"E_word": (100, 50), "W": (7, 50), "b": (7,), "U": (3, 7),
                            "c": (3,), "A": (3, 3), "start": (3,), "end": (3,)}
    assert list(arch.shapes())[:2] == ["E_word", "E_caps"]  # order of x


def test_window_zero_and_one_feature():
    arch = Arch([("word", 10, 4)], window=0, hidden=3, n_labels=2, head="binary")
    assert (arch.n, arch.D, arch.input_dim) == (1, 4, 4)
    assert arch.shapes() == {"E_word": (10, 4), "W": (3, 4), "b": (3,), "U": (2, 3),
                             "c": (2,)}                      # binary: no CRF parameters


def test_flops_per_token():
    arch = Arch([("word", 100, 50), ("caps", 8, 5)], window=2, hidden=300, n_labels=9)
    assert arch.flops_per_token() == 3 * (2 * 275 * 300 + 2 * 300 * 9) == 511_200
