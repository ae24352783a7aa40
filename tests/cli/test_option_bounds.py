"""Every count option has a stated bound: counts of workers and threads are lowered to
the CPUs with a one-line warning (``--threads``, ``benchmark --jobs``); the others are
refused over their maximum with a usage error naming it (``benchmark --repeats``,
``gradcheck --samples``, ``serve --max-bytes``, ``--max-texts``, ``--timeout``); the
maximum itself is accepted.  ``benchmark -m default`` is the shipped model from any
directory."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import NERTAG, check_error
from nertag.cli import application, benchmark, gradcheck, serve
from nertag.resources import default_model
from nertag.tagging.workers import usable_cpus


@pytest.fixture
def calls(monkeypatch):
    """The runners of benchmark, gradcheck and serve (and set_threads), recorded instead
    of run: what the options came to."""
    seen: dict = {}

    def record(name, value=None):
        def fake(*args, **kw):
            seen[name] = args[0] if args else kw
            return value
        return fake

    monkeypatch.setattr(benchmark, "run_benchmark_cli", record("benchmark"))
    monkeypatch.setattr(gradcheck, "run_gradcheck", record("gradcheck", 0))
    monkeypatch.setattr(serve, "run_serve", record("serve"))
    monkeypatch.setattr(application, "set_threads", record("threads"))
    return seen


@pytest.mark.parametrize("command,option,limit", [
    ("benchmark", "--repeats", benchmark.MAX_REPEATS),
    ("gradcheck", "--samples", gradcheck.MAX_SAMPLES),
    ("serve", "--max-bytes", serve.MAX_BYTES),
    ("serve", "--max-texts", serve.MAX_TEXTS),
    ("serve", "--timeout", serve.MAX_TIMEOUT)])
def test_counts_over_their_maximum_are_usage_errors(cli, calls, command, option, limit):
    key = {"--repeats": "repeats", "--samples": "samples", "--max-bytes": "max_bytes",
           "--max-texts": "max_texts", "--timeout": "timeout"}[option]
    r = cli(command, option, limit)
    assert r.exit_code == 0, (r.output, r.exception)
    assert calls[command][key] == limit
    over = limit + 1
    check_error(cli(command, option, over), 2, f"'{option}'",
                f"less than or equal to {int(limit)}", f"(see 'nertag {command} --help')")
    help_text = " ".join(cli(command, "--help").stdout.split())
    assert f"<=x<={limit}" in help_text  # the maximum, stated in the help


def test_threads_beyond_the_cpus_are_lowered_with_a_warning(cli, calls):
    cpus = usable_cpus()
    r = cli("--threads", 10_000, "benchmark")
    assert r.exit_code == 0, (r.output, r.exception)
    assert calls["threads"] == cpus
    assert r.stderr.strip() == (f"warning: --threads 10000: this machine has {cpus} "
                                f"CPU{'s' * (cpus > 1)} for nertag; using {cpus} "
                                f"thread{'s' * (cpus > 1)}")
    r = cli("--threads", 1, "benchmark")
    assert calls["threads"] == 1 and not r.stderr
    assert "one per CPU" in cli("--help").stdout


def test_benchmark_jobs_beyond_the_cpus_are_lowered_with_a_warning(cli, calls):
    cpus = usable_cpus()
    r = cli("benchmark", "--jobs", 10_000)
    assert r.exit_code == 0, (r.output, r.exception)
    assert calls["benchmark"]["jobs"] == cpus
    assert r.stderr.startswith(f"warning: --jobs 10000: this machine has {cpus} CPU")
    r = cli("benchmark", "--jobs", 1)
    assert calls["benchmark"]["jobs"] == 1 and not r.stderr


def test_benchmark_model_default_is_the_shipped_model(cli, calls, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli("benchmark", "-m", "default").exit_code == 0
    assert calls["benchmark"]["model_dir"] == str(default_model())
    (tmp_path / "mine").mkdir()
    assert cli("benchmark", "-m", "mine").exit_code == 0
    assert calls["benchmark"]["model_dir"] == "mine"
    check_error(cli("benchmark", "-m", ""), 1, "empty path")
    help_text = cli("benchmark", "--help").stdout
    assert "nertag benchmark -m default" in help_text and "models/default" not in help_text


def test_benchmark_example_runs_from_another_directory(tmp_path):
    """The help's example, as a user outside the checkout runs it (shortened)."""
    r = subprocess.run([*NERTAG, "benchmark", "--quick", "-r", "1", "-m", "default", "--json"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["model"]["source"] == str(default_model())
