"""Bad command lines and output paths: one ``error:`` line, exit 2 (usage) or 1, no traceback.

Also: ``--debug`` shows the traceback, output piped into ``head`` ends quietly, and
``-o`` files appear whole or not at all.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import NERTAG


@pytest.fixture
def text(tmp_path):
    p = tmp_path / "in.txt"
    p.write_text("EU rejects German call to boycott British lamb.\n\nPeter Blackburn\n")
    return p


# name -> (arguments; "{m}" model, "{t}" text file, "{d}" tmp dir), exit code, fragments
BAD_ARGS = {
    "unknown-option": (["tag", "-m", "{m}", "{t}", "--frobnicate"], 2,
                       ["No such option: --frobnicate", "(see 'nertag tag --help')"]),
    "unknown-command": (["frobnicate"], 2, ["No such command 'frobnicate'",
                                            "(see 'nertag --help')"]),
    "bad-int-value": (["train", "--seed", "abc"], 2, ["'--seed'", "nertag train --help"]),
    "missing-argument": (["evaluate", "{m}"], 2, ["Missing argument 'DATA'",
                                                  "(see 'nertag evaluate --help')"]),
    "option-needs-value": (["tag", "{t}", "-m"], 2, ["'-m' requires an argument"]),
    "no-inputs": (["tag", "-m", "{m}"], 2, ["give one or more input files"]),
    "stdin-twice": (["tag", "-m", "{m}", "-", "-"], 2, ["standard input '-'"]),
    "unknown-format": (["tag", "-m", "{m}", "-f", "xml", "{t}"], 2,
                       ["Invalid value for '--format' / '-f': 'xml' is not one of 'pretty', "
                        "'jsonl', 'conll', 'inline', 'html'", "(see 'nertag tag --help')"]),
    "jobs-zero": (["tag", "-m", "{m}", "-j", "0", "{t}"], 2,
                  ["Invalid value for '--jobs' / '-j'", "greater than or equal to 1"]),
    "unknown-per": (["tag", "-m", "{m}", "--per", "word", "{t}"], 2,
                    ["Invalid value for '--per': 'word' is not one of 'sentence', 'document'"]),
    "unknown-decoder": (["evaluate", "{m}", "{t}", "--decoder", "beam"], 2,
                        ["Invalid value for '--decoder': 'beam' is not one of 'greedy', "
                         "'constrained', 'viterbi'", "(see 'nertag evaluate --help')"]),
    "threads-zero": (["--threads", "0", "tag", "{t}"], 2,
                     ["Invalid value for '--threads'", "greater than or equal to 1",
                      "(see 'nertag --help')"]),
    "conflict-per-document-conll": (["tag", "-m", "{m}", "--per", "document", "-f", "conll",
                                     "{t}"], 2, ["--per document goes with --format jsonl"]),
    "conflict-resume-set": (["train", "--resume", "{d}/run", "--set", "train.epochs=3"], 2,
                            ["--resume continues a run with its saved config", "--set"]),
    "conflict-resume-seed": (["train", "--resume", "{d}/run", "--seed", "3"], 2,
                             ["--resume", "--seed"]),
    "conflict-resume-output": (["train", "--resume", "{d}/run", "-o", "{d}/x"], 2,
                               ["--resume", "--output"]),
    "unknown-backend": (["train", "--backend", "torch"], 2,
                        ["Invalid value for '--backend': 'torch' is not one of 'hand', 'graph'",
                         "(see 'nertag train --help')"]),
    "unknown-tag-scheme": (["evaluate", "{m}", "{t}", "--tag-scheme", "iob3"], 2,
                           ["Invalid value for '--tag-scheme': 'iob3' is not one of 'auto', "
                            "'iob1', 'bio', 'bioes'"]),
    "gradcheck-eps-zero": (["gradcheck", "--eps", "0"], 2,
                           ["Invalid value for '--eps': 0 is not greater than 0"]),
    "gradcheck-tol-negative": (["gradcheck", "--tol", "-1e-3"], 2,
                               ["Invalid value for '--tol': -0.001 is not greater than 0"]),
    "gradcheck-samples-negative": (["gradcheck", "--samples", "-1"], 2,
                                   ["Invalid value for '--samples'",
                                    "greater than or equal to 0"]),
    "gradcheck-unknown-head": (["gradcheck", "--head", "rnn"], 2,
                               ["Invalid value for '--head': 'rnn' is not one of 'softmax', "
                                "'binary', 'crf', 'all'"]),
    "gradcheck-config-and-model": (["gradcheck", "-c", "default", "-m", "{m}"], 2,
                                   ["give either --config or --model, not both"]),
    "resume-without-checkpoint": (["train", "--resume", "{d}/run"], 2,
                                  ["{d}/run: no checkpoint to resume from",
                                   "nertag train --output {d}/run"]),
    "resume-a-finished-model": (["train", "--resume", "{m}"], 2,
                                ["{m}: is a finished model, there is nothing to resume"]),
    "tag-output-dir-missing": (["tag", "-m", "{m}", "{t}", "-o", "{d}/no/such/out.jsonl"], 2,
                               ["{d}/no/such/out.jsonl: the directory {d}/no/such does not "
                                "exist", "create it first"]),
    "tag-output-is-a-directory": (["tag", "-m", "{m}", "{t}", "-o", "{d}"], 2,
                                  ["{d}: is a directory; give a file name"]),
    "tag-output-parent-is-a-file": (["tag", "-m", "{m}", "{t}", "-o", "{t}/out.jsonl"], 2,
                                    ["{t}/out.jsonl: {t} is not a directory"]),
    "train-output-under-a-file": (["train", "-o", "{t}/such/run", "-q"], 2,
                                  ["{t}/such/run: cannot create the directory {t}/such",
                                   "choose another output directory"]),
    "train-output-is-a-file": (["train", "-o", "{t}", "-q"], 2,
                               ["{t}: exists and is not a directory"]),
}


def _fill(s: str, m, t, d) -> str:
    return s.replace("{m}", str(m)).replace("{t}", str(t)).replace("{d}", str(d))


@pytest.mark.parametrize("name", list(BAD_ARGS))
def test_bad_command_line(name, cli, expect_error, small_model, text, tmp_path):
    args, code, frags = BAD_ARGS[name]
    d = tmp_path / "d"
    d.mkdir()
    r = cli(*[_fill(a, small_model, text, d) for a in args])
    expect_error(r, code, *[_fill(f, small_model, text, d) for f in frags])


def _unwritable_dir(tmp_path) -> str | None:
    """A directory this process cannot create files in (root ignores chmod; sysfs does not)."""
    import tempfile

    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    for d in (str(ro), "/sys"):
        try:
            fd, name = tempfile.mkstemp(dir=d)
        except OSError:
            return d
        os.close(fd)
        os.unlink(name)
    return None


def test_output_directory_not_writable(cli, expect_error, small_model, text, tmp_path):
    d = _unwritable_dir(tmp_path)
    if d is None:
        pytest.skip("no directory this process cannot write to")
    out = os.path.join(d, "out.jsonl")
    msg = expect_error(cli("tag", "-m", small_model, text, "-o", out), 2,
                       f"{out}: cannot write to {d}", "choose another location")
    assert "permission denied" in msg.lower() or "not permitted" in msg.lower()
    run = os.path.join(d, "run")
    expect_error(cli("train", "-o", run, "-q"), 2, f"{run}: cannot write to {d}")
    (tmp_path / "ro").chmod(0o755)


def test_train_refuses_non_empty_output_unless_force(cli, expect_error, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    expect_error(cli("train", "-o", out, "-q", "--set", "train.epochs=1"), 2,
                 f"{out}: directory exists and is not empty", "--force")
    assert (out / "notes.txt").read_text() == "mine"
    r = cli("train", "-o", out, "-q", "--force", "--set", "train.epochs=1",
            "--set", "model.hidden=5")
    assert r.exit_code == 0, r.stderr
    assert not (out / "notes.txt").exists() and (out / "manifest.json").is_file()
    assert oct(out.stat().st_mode & 0o777) != oct(0o700)  # not mkdtemp's private mode


def test_empty_output_directory_is_fine(cli, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    r = cli("train", "-o", out, "-q", "--set", "train.epochs=1", "--set", "model.hidden=5")
    assert r.exit_code == 0, r.stderr


def test_missing_directories_above_the_output_are_created(cli, tmp_path):
    out = tmp_path / "models" / "mine"  # `-o models/mine` where there is no models/ yet
    r = cli("train", "-o", out, "-q", "--set", "train.epochs=1", "--set", "model.hidden=5")
    assert r.exit_code == 0, r.stderr
    assert (out / "manifest.json").is_file()
    assert sorted(p.name for p in out.parent.iterdir()) == ["mine"]  # no temp left behind


@pytest.mark.parametrize("where", [0, 1, 3])
def test_debug_shows_the_traceback(where, cli, tmp_path):
    """--debug before the command, right after it, or at the end of the line."""
    args = ["evaluate", tmp_path / "nomodel", tmp_path / "x.conll"]
    args.insert(where, "--debug")
    r = cli(*args)
    assert r.exit_code == 1, r.stderr
    assert "Traceback" in r.stderr and "NertagError" in r.stderr
    assert r.stderr.rstrip().splitlines()[-1].startswith(
        f"error: {tmp_path / 'nomodel'}: model directory not found")


def test_debug_after_a_double_dash_is_a_file_name(cli, expect_error, small_model):
    expect_error(cli("tag", "-m", small_model, "--", "--debug"), 1,
                 "--debug: input file not found")


def test_choices_match_the_library():
    from nertag.cli import evaluate, tag
    from nertag.cli.application import Decoder
    from nertag.inference.decode import DECODERS
    from nertag.render.formats import FORMATS
    from nertag.text.conll import FILE_SCHEMES

    assert tuple(d.value for d in Decoder) == DECODERS
    assert tuple(f.value for f in tag.Format) == FORMATS
    assert tuple(s.value for s in evaluate.TagScheme) == FILE_SCHEMES


@pytest.mark.parametrize("command", ["train", "evaluate", "tag", "gradcheck", "benchmark",
                                     "convert"])
def test_help_shows_examples_choices_and_readable_metavars(command, cli):
    r = cli(command, "--help")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    examples = lines.index("  Examples:")
    assert lines[examples + 1].startswith(f"    nertag {command} ")  # one example a line
    assert lines[examples + 2].startswith("    ") and f"nertag {command}" in lines[examples + 2]
    for typed in ("<path>", "<str>", "<int>", "<float>", "<list"):
        assert typed not in r.stdout, r.stdout
    choices = {"train": "<hand|graph>", "evaluate": "<auto|iob1|bio|bioes|io>",
               "convert": "<auto|conll|conll-bioes|conll-iob1|io|jsonl|doccano|prodigy>",
               "tag": "<pretty|jsonl|conll|inline|html>", "gradcheck": "<softmax|binary|crf|all>",
               "benchmark": "-j, --jobs N"}
    assert choices[command] in r.stdout


def test_version_needs_no_command(cli):
    r = cli("--version")
    assert r.exit_code == 0 and r.stdout.startswith("nertag ")


def test_tag_output_is_written_whole_or_not_at_all(cli, expect_error, small_model, tmp_path):
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text("EU rejects German call.\n" * 50)
    bad.write_bytes(b"EU rejects German call.\n" * 50 + b"caf\xe9\n")
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    expect_error(cli("tag", "-m", small_model, good, bad, "-o", out), 1,
                 f"{bad}:51: not valid utf-8 text", "--encoding latin-1")
    assert out.read_text() == "old\n"  # the old output is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt", "good.txt", "out.jsonl"]
    r = cli("tag", "-m", small_model, good, "-o", out, "-f", "conll")
    assert r.exit_code == 0, r.stderr
    assert out.read_text().count("\n") == 50 * 6 and r.stdout == ""


@pytest.mark.parametrize("fmt", ["jsonl", "pretty"])
def test_output_piped_into_head(fmt, small_model, tmp_path):
    """`nertag tag ... | head -1`: no BrokenPipeError, no message, exit 0."""
    big = tmp_path / "big.txt"
    big.write_text("EU rejects German call to boycott British lamb . Peter Blackburn\n"
                   * 6000)
    cmd = NERTAG + ["tag", "-m", str(small_model), "-f", fmt, str(big)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()  # what head does after its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert first and err == ""


def test_head_in_a_shell_pipeline(small_model, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("EU rejects German call .\n" * 20000)
    cmd = " ".join(NERTAG) + f" tag -m {small_model} {big} | head -n 2"
    r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "" and len(r.stdout.splitlines()) == 2


def test_console_script_matches_module(small_model, text):
    exe = os.path.join(os.path.dirname(sys.executable), "nertag")
    if not os.path.exists(exe):
        pytest.skip("no nertag console script next to the interpreter")
    r = subprocess.run([exe, "tag", "-m", str(small_model), str(text) + ".missing"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr == f"error: {text}.missing: input file not found; check the path\n"


def test_ctrl_c_while_tagging_with_workers(small_model, tmp_path):
    """Ctrl-C reaches the whole process group: one line, exit 130, no worker tracebacks,
    and no half-written -o file."""
    import signal
    import time

    big = tmp_path / "big.txt"
    big.write_text("EU rejects German call to boycott British lamb . Peter Blackburn\n"
                   * 400_000)  # 26 MB: several seconds of work left when Ctrl-C comes
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen(NERTAG + ["tag", "-m", str(small_model), "-j", "2", str(big),
                                      "-o", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            # as from a terminal: a shell's background job (CI run with
                            # '&') inherits SIGINT ignored, and then Ctrl-C does nothing
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    t0 = time.monotonic()
    while not any(p.name.startswith(".out.jsonl.") for p in tmp_path.iterdir()):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() - t0 < 60
        time.sleep(0.005)
    time.sleep(0.3)  # the workers are busy
    assert proc.poll() is None
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (proc.returncode, err)
    assert err.decode() == "error: interrupted\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.txt"]
