"""The configuration table of docs/configuration.md, made from the schema and the bundled configs.

    python -m tools.config_table            # print the table
    python -m tools.config_table --write    # replace it in docs/configuration.md

Each row is a key of ``nertag/config.py``'s schema: its default, the value each
bundled config (``nertag/configs/*.yaml``) resolves to, and the schema's help
text. ``tests/tools/test_config_table.py`` fails when docs/configuration.md is out of date.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

from nertag import config as C

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- config-table: python -m tools.config_table --write -->", "<!-- /config-table -->"
ORDER = ["default", "conll2003", "conll2003-glove"]


def _show(value) -> str:
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str) and value.startswith("../shared/"):
        return "`…/" + value.rsplit("/", 1)[-1] + "`"
    return f"`{value}`"


def rows():
    """(key, schema default, {config name: value}, help) for every key of the schema."""
    names = [n for n in ORDER if n in C.bundled_configs()]
    names += [n for n in C.bundled_configs() if n not in names]
    loaded = {n: C.load_config(n).to_dict() for n in names}
    schema = C.Config()
    for section in dataclasses.fields(schema):
        part = getattr(schema, section.name)
        for f in dataclasses.fields(part):
            key = f"{section.name}.{f.name}"
            values = {n: loaded[n][section.name][f.name] for n in names}
            yield key, getattr(part, f.name), values, f.metadata.get("help", "")


def table() -> str:
    all_rows = list(rows())
    names = list(all_rows[0][2])
    lines = ["| key | schema default | " + " | ".join(f"`{n}`" for n in names) + " | meaning |",
             "|---" * (len(names) + 3) + "|"]
    for key, default, values, help_ in all_rows:
        cells = [_show(values[n]) for n in names]
        help_ = re.sub(r"(</?[a-z]+>)", r"`\1`", help_.replace("|", "/"))
        lines.append(f"| `{key}` | {_show(default)} | " + " | ".join(cells) + f" | {help_} |")
    return "\n".join(lines) + "\n"


def replace_in(readme: str) -> str:
    head, sep, rest = readme.partition(BEGIN + "\n")
    if not sep or END not in rest:
        raise SystemExit(f"docs/configuration.md has no {BEGIN} … {END} block")
    return head + BEGIN + "\n" + table() + rest[rest.index(END):]


def main(argv: list[str]) -> int:
    if "--write" in argv:
        path = ROOT / "docs" / "configuration.md"
        path.write_text(replace_in(path.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        sys.stdout.write(table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
