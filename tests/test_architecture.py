"""The architecture holds: imports run one way (import-linter's contracts in
pyproject.toml), no import cycles, small modules, and only the CLI prints."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nertag"
LINT = Path(sys.executable).parent / "lint-imports"

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed "
                                "(pip install -e '.[test]')")


def lint(package_parent: Path = ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(package_parent))
    return subprocess.run([str(LINT), str(ROOT / "pyproject.toml"), "--no-cache"],
                          cwd=package_parent, env=env, capture_output=True, text=True,
                          timeout=120)


def test_import_contracts_are_kept():
    r = lint()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


@pytest.mark.parametrize("module,bad_import,contract", [
    # the maths importing the CLI: a wrong-way import
    ("nn/ragged.py", "from nertag.cli import app", "Imports run one way"),
    # inference importing training, inside a function
    ("inference/decode.py", "def _f():\n    from nertag.training import loop",
     "Imports run one way"),
    # the graph engine using the hand-derived layers
    ("nn/graph.py", "from nertag.nn import layers", "graph engine does not use"),
    # rich outside the CLI
    ("text/tags.py", "import rich", "Only the CLI prints"),
    # a cycle inside text/ (tags is imported by conll), in a function
    ("text/tags.py", "def _f():\n    from nertag.text import conll", "No import cycles"),
])
def test_a_broken_rule_fails_the_check(tmp_path, module, bad_import, contract):
    shutil.copytree(PACKAGE, tmp_path / "nertag",
                    ignore=shutil.ignore_patterns("__pycache__", "_data", "_models"))
    target = tmp_path / "nertag" / module
    target.write_text(target.read_text(encoding="utf-8") + "\n\n" + bad_import + "\n",
                      encoding="utf-8")
    r = lint(tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert " broken." in r.stdout and "0 broken" not in r.stdout, r.stdout
    assert contract in r.stdout.split("Broken contracts")[-1], r.stdout


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_module_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400}
    assert long == {}


def _writes_to_the_terminal(tree: ast.AST) -> list[int]:
    """Lines that call print() or write to sys.stdout / sys.stderr."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name) and f.id == "print":
            lines.append(node.lineno)
        elif (isinstance(f, ast.Attribute) and f.attr == "write"
              and isinstance(f.value, ast.Attribute) and f.value.attr in ("stdout", "stderr")):
            lines.append(node.lineno)
    return lines


def test_nothing_outside_the_cli_prints():
    found = {}
    for p in modules():
        rel = p.relative_to(PACKAGE)
        if rel.parts[0] == "cli":
            continue
        lines = _writes_to_the_terminal(ast.parse(p.read_text(encoding="utf-8")))
        if lines:
            found[str(rel)] = lines
    assert found == {}
