"""docs/configuration.md's configuration table is the one tools.config_table makes."""

from pathlib import Path

from tools import config_table

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_docs_config_table_is_up_to_date():
    text = PAGE.read_text(encoding="utf-8")
    assert config_table.replace_in(text) == text, (
        "docs/configuration.md's configuration table is out of date: run "
        "`python -m tools.config_table --write`")


def test_table_shows_what_each_bundled_config_uses():
    rows = {key: (default, values) for key, default, values, _ in config_table.rows()}
    default, values = rows["model.head"]
    assert default == "softmax"
    assert values["conll2003-glove"] == "crf" and values["conll2003"] == "softmax"
    assert rows["train.epochs"][1]["conll2003"] == 30
    table = config_table.table()
    assert "| `train.lr` | `0.1` | `0.1` | `0.8` | `0.014` |" in table
