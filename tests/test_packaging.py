"""The wheel `pip install .` builds carries every file the shipped models list.

A model directory with a sub-directory (a two-stage model keeps its first stage in
`stage1/`) is only installed whole if pyproject's package-data globs reach that depth;
a missing file makes `nertag tag` refuse the installed default model.
"""
from __future__ import annotations

import fnmatch
import json
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _globs() -> list[str]:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert cfg["package-dir"]["nertag._models"] == "models"
    return cfg["package-data"]["nertag._models"]


def _shipped(path: str, globs: list[str]) -> bool:
    # setuptools globs: "*" never crosses a "/", so the depth must match exactly
    depth = path.count("/")
    return any(g.count("/") == depth and fnmatch.fnmatch(path, g) for g in globs)


def test_every_file_a_shipped_manifest_lists_is_in_the_package_data():
    globs = _globs()
    manifests = sorted((ROOT / "models").rglob("manifest.json"))
    assert manifests, "no shipped model found under models/"
    seen = 0
    for manifest in manifests:
        folder = manifest.parent
        files = json.loads(manifest.read_text())  # {relative name: sha256}
        for name in list(files) + ["manifest.json"]:
            rel = (folder / name).relative_to(ROOT / "models").as_posix()
            assert _shipped(rel, globs), f"{rel} is not installed by {globs}"
            seen += 1
    assert any("stage1/" in m.as_posix() for m in manifests)
    assert seen >= 15


def test_the_depth_rule_is_what_catches_a_missing_subdirectory():
    assert _shipped("default/weights.npz", ["*/*"])
    assert not _shipped("default/stage1/weights.npz", ["*/*"])
    assert _shipped("default/stage1/weights.npz", ["*/*", "*/*/*"])
