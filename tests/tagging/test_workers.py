"""Worker counts are bounded: never more than the usable CPUs, nor than the pieces of
input (nertag.tagging.workers); ``nertag tag --jobs`` and ``--engine dask --workers``
lower a larger count with a one-line warning instead of starting thousands of
processes."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from nertag.cli import app
from nertag.tagging.workers import cap_workers, input_pieces, pieces, usable_cpus


def test_usable_cpus_is_the_affinity_mask():
    assert usable_cpus() >= 1
    if hasattr(os, "sched_getaffinity"):
        assert usable_cpus() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("requested,n_pieces,expected,fragment", [
    (2, None, 2, None),
    (10_000, None, 4, "--jobs 10000: this machine has 4 CPUs for nertag; using 4 worker "
                      "processes"),
    (3, 1, 1, None),  # fewer pieces than workers: lowered without a word
    (10_000, 2, 2, "this machine has 4 CPUs for nertag; using 2 worker processes (the "
                   "input makes 2 pieces)"),
    (10_000, 1, 1, "using 1 worker process (the input makes 1 piece)"),
    (4, 9, 4, None),
])
def test_cap_workers(requested, n_pieces, expected, fragment):
    n, note = cap_workers("--jobs", requested, pieces=n_pieces, cpus=4)
    assert n == expected
    assert note == fragment if fragment is None else fragment in note


def test_cap_workers_refuses_a_count_below_one():
    with pytest.raises(ValueError, match="--jobs"):
        cap_workers("--jobs", 0, cpus=4)


def test_pieces(tmp_path):
    assert pieces(None, 10) is None
    assert [pieces(s, 10) for s in (0, 1, 10, 11, 100)] == [1, 1, 1, 2, 10]
    small, big = tmp_path / "small.txt", tmp_path / "big.txt"
    small.write_bytes(b"x" * 5)
    big.write_bytes(b"x" * 35)
    assert input_pieces([str(small), str(big)], 10) == 4  # the most of any one input
    assert input_pieces([str(small), "-"], 10) is None


def test_tag_jobs_beyond_the_machine_is_a_warning_and_the_cap(tmp_path, small_model):
    src = tmp_path / "in.txt"
    src.write_text("Angela Merkel visited Paris.\n", encoding="utf-8")
    one = CliRunner().invoke(app, ["tag", "-m", str(small_model), str(src), "-f", "jsonl"])
    many = CliRunner().invoke(app, ["tag", "-m", str(small_model), str(src), "-f", "jsonl",
                                    "--jobs", "10000"])
    assert one.exit_code == many.exit_code == 0, many.output
    assert many.stdout == one.stdout
    assert many.stderr.strip() == (f"warning: --jobs 10000: this machine has {usable_cpus()} "
                                   f"CPU{'s' * (usable_cpus() > 1)} for nertag; using 1 worker "
                                   f"process (the input makes 1 piece)")
