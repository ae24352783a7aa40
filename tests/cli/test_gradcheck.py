"""The CLI's gradient-check report (nertag.cli.gradcheck.report_table) beside
nertag.nn.gradcheck's JSON; the gradient check itself is tested in tests/nn/test_gradcheck.py."""

from __future__ import annotations

import json

import numpy as np
from rich.table import Table

from nertag.cli.gradcheck import report_table
from nertag.nn import gradcheck as gc

TOL = gc.MODEL_TOL


def test_report_table_and_json():
    p = gc.default_problem()
    checks = gc.check_model(p.params, p.X, p.y, p.arch, samples=2)
    table = report_table(checks, TOL)
    assert isinstance(table, Table) and table.row_count == len(checks)
    out = json.loads(json.dumps(gc.to_json(checks, TOL)))
    assert out["passed"] is True and len(out["checks"]) == len(checks)
    assert out["checks"][0]["name"] == "E_word" and out["checks"][0]["passed"] is True
    ops = gc.check_ops(np.random.default_rng(0))
    assert report_table(ops, gc.OP_TOL).row_count == len(ops)
    assert gc.to_json(ops, gc.OP_TOL)["passed"] is True
