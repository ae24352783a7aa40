"""``nertag benchmark --json``: every figure is there and positive (short runs)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from nertag import benchmark
from nertag.cli import app


def test_benchmark_json_has_every_figure(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("Angela Merkel met Jacques Chirac in Paris on Monday.\n\n" * 300,
                    encoding="utf-8")
    r = CliRunner().invoke(app, ["benchmark", "--quick", "--repeats", "2", "--jobs", "2",
                                 "--text", str(text), "--set", "model.hidden=40", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert res["model"]["hidden"] == 40 and res["model"]["flops_per_token"] > 0

    def positive_stat(s):
        assert s["runs"] == 2 and 0 < s["min"] <= s["median"] <= s["max"]

    positive_stat(res["train"]["tokens_per_s"])
    assert set(res["train"]["us_per_token"]) == {"data", "forward", "backward",
                                                 "embedding_update", "dense_update", "other"}
    for phase in ("data", "forward", "backward", "embedding_update", "dense_update"):
        positive_stat(res["train"]["us_per_token"][phase])
    positive_stat(res["gemm"]["gflops"])
    positive_stat(res["gemm"]["gflops_at_batch_size"])
    assert 0 < res["train"]["share_of_gemm"] and res["train"]["gflops"] > 0
    positive_stat(res["inference"]["tokens_per_s"])
    positive_stat(res["tagging"]["tokens_per_s"])
    positive_stat(res["tagging"]["mb_per_s"])
    positive_stat(res["tagging"]["tokens_per_cpu_s"])
    positive_stat(res["inference"]["tokens_per_cpu_s"])
    assert res["tagging"]["tokens"] == 300 * 10
    assert res["tagging_jobs"]["jobs"] == 2 and res["tagging_jobs"]["speedup"] > 0
    assert res["peak_rss_mb"] > 0 and len(res["machine"]["load_avg"]) == 3


def test_benchmark_table_and_bad_options():
    r = CliRunner().invoke(app, ["benchmark", "--quick", "--repeats", "1",
                                 "--set", "model.hidden=20"])
    assert r.exit_code == 0, r.output
    assert "training tokens/s" in r.output and "peak memory" in r.output
    r = CliRunner().invoke(app, ["benchmark", "--repeats", "0"])
    assert r.exit_code == 2 and r.stderr.startswith(
        "error: Invalid value for '--repeats' / '-r': Input should be greater than or equal to 1")
    r = CliRunner().invoke(app, ["benchmark", "--jobs", "0"])
    assert r.exit_code == 2 and "Invalid value for '--jobs' / '-j'" in r.stderr


def test_stat_median_and_spread():
    assert benchmark.stat([3, 1, 2]) == {"median": 2.0, "min": 1.0, "max": 3.0, "runs": 3}


def test_benchmark_reads_training_data_in_any_format(tmp_path):
    """The training data goes through read_corpus, as `nertag train`'s: a JSONL file
    (written by `nertag convert`) gives the same corpus as the CoNLL file it came from."""
    from nertag.resources import data_dir

    conll = data_dir() / "sample" / "train.conll"
    jsonl = tmp_path / "train.jsonl"
    r = CliRunner().invoke(app, ["convert", str(conll), str(jsonl)])
    assert r.exit_code == 0, r.output
    tokens = {}
    for name, path in (("conll", conll), ("jsonl", jsonl)):
        r = CliRunner().invoke(app, ["benchmark", "--quick", "--repeats", "1", "--train",
                                     str(path), "--set", "model.hidden=20", "--json"])
        assert r.exit_code == 0, r.output
        tokens[name] = json.loads(r.output)["train"]["tokens_in_corpus"]
    n_tokens = sum(1 for line in conll.read_text(encoding="utf-8").splitlines()
                   if line.strip() and not line.startswith("-DOCSTART-"))
    assert tokens == {"conll": n_tokens, "jsonl": n_tokens}
