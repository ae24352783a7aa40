"""Tests for nertag.modelio (more, on broken model directories, in test_reliability.py)."""

from __future__ import annotations

import numpy as np
import pytest


def test_a_model_loaded_read_only_refuses_changes_and_tags_the_same(tmp_path):
    from nertag.modelio import load_model
    from nertag.resources import default_model

    ro = load_model(default_model(), read_only=True)
    rw = load_model(default_model())
    assert all(not a.flags.writeable for a in ro.params.values())
    with pytest.raises(ValueError):
        ro.params["W"][0, 0] = 0
    ro.fast_inference = rw.fast_inference = True
    words = [["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."]]
    (tags_ro, conf_ro), (tags_rw, conf_rw) = ro.predict(words), rw.predict(words)
    assert tags_ro == tags_rw and tags_ro[0][:3] == ["B-ORG", "O", "B-MISC"]
    for a, b in zip(conf_ro, conf_rw):
        np.testing.assert_array_equal(a, b)
