"""The README and docs/: the README's module table names every module of nertag/, the
Python examples (``pycon`` blocks) of README.md and docs/*.md run as doctests, every
relative link and anchor leads somewhere, and CI's two set-up commands open the README."""

from __future__ import annotations

import ast
import doctest
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# ------------------------------------------------------------------ the README itself
def test_readme_opens_with_ci_two_commands_and_stays_short():
    lines = _text(README).split("\n")
    start = lines.index("```sh")
    block = lines[start + 1:lines.index("```", start + 1)]
    assert len(block) == 2, block  # .ci/run runs exactly these two
    assert block[0].endswith("nertag tag data/example.txt")
    assert block[1].endswith("pytest -q")
    assert len(lines) <= 300, f"README.md has {len(lines)} lines: move details to docs/"
    assert 'pytest -m "not slow"' in _text(README)


# ------------------------------------------------------------------ the module table
def table_modules() -> set[str]:
    """The modules the README's Architecture table names, as paths under nertag/.

    In a cell, a name with a folder (`cli/train.py`) sets the folder for the bare names
    after it (`evaluate.py`); bare names before any folder are top-level modules."""
    section = _text(README).split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]
    named = set()
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        folder = ""
        for name in re.findall(r"`([\w/]+\.py)`", line.split(" | ")[0]):
            if "/" in name:
                folder, name = name.rsplit("/", 1)
            named.add(f"{folder}/{name}" if folder else name)
    return named


def package_modules() -> set[str]:
    """Every module of nertag/, but the ``__init__.py`` files that hold only a docstring."""
    found = set()
    for path in (ROOT / "nertag").rglob("*.py"):
        rel = path.relative_to(ROOT / "nertag").as_posix()
        if path.name == "__init__.py" and "/" in rel:
            body = ast.parse(_text(path)).body
            if all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body):
                continue
        found.add(rel)
    return found


def test_module_table_names_every_module():
    named, found = table_modules(), package_modules()
    assert not found - named, (
        f"README.md's module table (## Architecture) leaves out {sorted(found - named)}: "
        "add a row")
    gone = sorted(m for m in named - found if not (ROOT / "nertag" / m).is_file())
    assert not gone, f"README.md's module table names modules that do not exist: {gone}"


def test_table_parser_reads_grouped_cells():
    assert {"cli/train.py", "cli/tag.py", "nn/crf.py", "__main__.py", "atomic.py"} <= table_modules()


# ------------------------------------------------------------------ links
def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]|\[|\]\([^)]*\)", "", heading.strip().lower())
    text = "".join(c for c in text if c in " -" or unicodedata.category(c)[0] in "LN")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", _text(path), flags=re.S)
    return {slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.M)}


LINKED = PAGES + [ROOT / "models" / "README.md", ROOT / "data" / "README.md"]


@pytest.mark.parametrize("doc", LINKED, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_lead_somewhere(doc):
    text = re.sub(r"```.*?```", "", _text(doc), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        dest = (doc.parent / file).resolve() if file else doc
        assert dest.exists(), f"{doc.name}: link to missing {target}"
        if anchor:
            assert anchor in anchors(dest), f"{doc.name}: no heading for #{anchor} in {dest.name}"


def test_every_docs_page_is_linked_from_the_readme():
    readme = _text(README)
    for page in PAGES[1:]:
        assert f"(docs/{page.name}" in readme, f"README.md does not link docs/{page.name}"


# ------------------------------------------------------------------ the examples
def pycon_examples(path: Path) -> str:
    """The ``pycon`` blocks of a page, every other line blanked (so doctest reports the
    page's own line numbers)."""
    keep, inside = [], False
    for line in _text(path).split("\n"):
        if line.startswith("```"):
            inside = line == "```pycon"
            keep.append("")
            continue
        keep.append(line if inside else "")
    return "\n".join(keep)


EXAMPLE_PAGES = [p for p in PAGES if "```pycon" in _text(p)]


def test_the_python_examples_are_found():
    names = {p.name for p in EXAMPLE_PAGES}
    assert {"README.md", "python.md"} <= names
    assert _text(ROOT / "docs" / "python.md").count("```pycon") >= 5


@pytest.mark.parametrize("doc", EXAMPLE_PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_python_examples_run(doc, tmp_path, monkeypatch):
    for name in ("data", "models"):  # the examples' paths are relative to the repository
        (tmp_path / name).symlink_to(ROOT / name, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    test = doctest.DocTestParser().get_doctest(pycon_examples(doc), {}, doc.name,
                                               str(doc), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    failed, attempted = runner.summarize(verbose=False)
    assert attempted >= 3 and failed == 0
    if doc.name == "python.md":
        assert attempted > 15
        assert (tmp_path / "tiny-model" / "manifest.json").is_file()
