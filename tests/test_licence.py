"""One licence: MIT in LICENSE and pyproject.toml (shipped in the wheel's metadata), and
the sample data's own, separate statement in data/README.md."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]


def test_one_licence_statement():
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License\n")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Licence" in readme and "MIT" in readme.split("## Licence")[1]
    data = (ROOT / "data" / "README.md").read_text(encoding="utf-8").split("## Licence")[1]
    assert "same licence as the project" not in data
    assert "CC0 1.0" in data and "MIT" in data
