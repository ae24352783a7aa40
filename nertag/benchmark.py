"""``nertag benchmark``: how fast training, inference and tagging are on this machine.

Every figure is measured ``repeats`` times and reported as ``{"median", "min",
"max", "runs"}``.  What is measured:

* training (hand-derived backward, the steps of :func:`nertag.training.loop.train`): tokens/s
  after a warm-up, and where the time of a step goes: data preparation (gathering
  the minibatch, dropout masks), forward (+ loss), backward, the embedding update
  and the dense-parameter update;
* model-only inference: :meth:`NerModel.predict` on pre-tokenized sentences, on the
  fast path ``nertag tag`` runs (per-word-type rows, the transposed decoders);
* end-to-end tagging, raw text → jsonl, through the same functions as ``nertag tag``;
* the model's floating-point operations per token (:meth:`Arch.flops_per_token`),
  the float32 GEMM rate of the model's matrix shapes, and the share of that rate the
  trainer reaches;
* peak memory (max RSS) of the process.

Throughput does not depend on the weights, so without ``--model`` an untrained
model is built from the config and the training data.
"""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from nertag import blas
from nertag.config import load_config
from nertag.modelio import load_model
from nertag.nn.arch import Arch
from nertag.resources import data_dir
from nertag.tagging import runtime
from nertag.text.datasets import read_corpus
from nertag.training.loop import _batches, build_model, prepare, resolve_data
from nertag.training.step import optimizer_for, train_step

#: Text for the end-to-end part when none is given: data/example.txt repeated to this size.
DEFAULT_TEXT_CHARS = 1 << 20


def stat(values: list[float]) -> dict:
    """Median and spread of repeated measurements."""
    vals = [float(v) for v in values]
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
            "runs": len(vals)}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (ru_maxrss is KB on Linux)."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024 if os.uname().sysname != "Darwin" else r / (1 << 20)


# ---------------------------------------------------------------------------- set-up
def load_setup(config: str | None = "default", train: str | None = None,
               dev: str | None = None, model_dir: str | None = None, overrides=()):
    """(cfg, model, train corpus, dev corpus, model source) for the benchmark; the data
    in any format ``nertag train`` reads (``data.format``, auto-detected by default)."""
    cfg = load_config(config, list(overrides))
    train_path, dev_path = resolve_data(cfg, train, dev)
    fmt, enc, scheme = cfg.data.format, cfg.data.encoding, cfg.data.tag_scheme
    corpus = read_corpus(train_path, fmt, enc, scheme)
    dev_c = read_corpus(dev_path, fmt, enc, scheme) if dev_path else corpus
    if model_dir:
        model = load_model(model_dir, read_only=True)  # as nertag tag loads it
        source = str(model_dir)
    else:
        model = build_model(cfg, corpus)
        source = f"untrained, config {config or 'default'}"
    return cfg, model, corpus, dev_c, source


# ---------------------------------------------------------------------------- training
def _doc_codes(model, corpus) -> np.ndarray | None:
    """A document-context model's codes of the corpus (its first stage's tags, as at
    tagging time; training would jackknife them, which costs the same per step); None
    for other models."""
    if model.featurizer.doc_context is None:
        return None
    words = [w for s in corpus.sentences for w in s.words]
    lengths = np.array([len(s.words) for s in corpus.sentences], dtype=np.int64)
    return model.doc_codes(words, lengths, corpus.doc_sizes())


def train_throughput(model, corpus, *, repeats: int = 5, seconds: float = 2.0,
                     warmup: float = 0.5, seed: int = 0) -> dict:
    """Training tokens/s with the hand backend, split into phases.

    Runs :func:`nertag.training.step.train_step` -- the very step :func:`nertag.training.loop.train`
    runs: word dropout and dropout masks, forward and loss, backward, the
    finite-gradient check, the periodic gradient norms and the optimiser update
    -- on a copy of the parameters, with its ``tick`` callback timing each phase.
    Each repeat runs whole minibatches (cycling through shuffled epochs) for at
    least ``seconds``; a warm-up of ``warmup`` seconds comes first.
    """
    cfg, arch = model.cfg, model.arch
    tc = cfg.train
    data = prepare(model, corpus, _doc_codes(model, corpus))
    work = replace(model, params={k: v.copy() for k, v in model.params.items()})
    opt = optimizer_for(cfg)
    dropout = (cfg.model.dropout_input, cfg.model.dropout_hidden)
    rng = np.random.default_rng(seed)
    clock = time.perf_counter
    epoch_batches: list = []
    phases = ("data", "forward", "backward", "embedding_update", "dense_update", "other")

    def run(limit: float):
        acc = dict.fromkeys(phases, 0.0)
        last = [0.0]

        def tick(phase: str) -> None:
            now = clock()
            acc[phase] += now - last[0]
            last[0] = now

        tokens = bi = 0
        start = clock()
        while True:
            if not epoch_batches:
                epoch_batches.extend(reversed(_batches(data, arch.head, tc.batch_size, rng)))
            last[0] = clock()
            idx, lens = epoch_batches.pop()
            train_step(work, opt, data.X[idx], data.y[idx], lens, rng,
                       word_dropout=tc.word_dropout, dropout=dropout,
                       norms={} if bi % 20 == 0 else None, tick=tick)
            tokens += len(idx)
            bi += 1
            if clock() - start >= limit:
                return tokens, clock() - start, acc

    run(warmup)
    tps, shares = [], {p: [] for p in phases}
    for _ in range(repeats):
        tokens, elapsed, acc = run(seconds)
        tps.append(tokens / elapsed)
        for p in phases:
            shares[p].append(acc[p] / tokens * 1e6)   # µs per token
    out = {"tokens_per_s": stat(tps), "batch_size": tc.batch_size,
           "optimizer": tc.optimizer, "tokens_in_corpus": int(len(data.y)),
           "us_per_token": {p: stat(v) for p, v in shares.items()}}
    if tc.l2 or tc.clip_norm:
        out["note"] = "l2/clip_norm set: the gradient scaling is timed with the embedding update"
    return out


# ---------------------------------------------------------------------------- GEMM
def gemm_rate(arch: Arch, rows: int, *, repeats: int = 5, seconds: float = 0.2,
              dtype=np.float32) -> dict:
    """float32 GEMM rate (GFLOP/s) of the model's three products at ``rows`` rows:
    forward x·Wᵀ (rows×nD · nD×H), backward δ·W (rows×H · H×nD) and δᵀ·x
    (H×rows · rows×nD)."""
    rng = np.random.default_rng(0)
    I, H = arch.input_dim, arch.hidden
    x = rng.standard_normal((rows, I)).astype(dtype)
    W = rng.standard_normal((H, I)).astype(dtype)
    d = rng.standard_normal((rows, H)).astype(dtype)
    flops = 3 * 2 * rows * I * H

    def once():
        x @ W.T
        d @ W
        d.T @ x

    once()
    rates = []
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            once()
            n += 1
            el = time.perf_counter() - t0
            if el >= seconds:
                break
        rates.append(n * flops / el / 1e9)
    return {"gflops": stat(rates), "rows": rows,
            "shapes": [[rows, I, H], [rows, H, I], [H, rows, I]]}


# ---------------------------------------------------------------------------- inference
def inference_throughput(model, sentences: list[list[str]], *, repeats: int = 5,
                         seconds: float = 0.5) -> dict:
    """Model-only tokens/s: :meth:`NerModel.predict` on pre-tokenized sentences
    (features, scores, decoding), with the fast inference path, after a warm-up."""
    model.fast_inference = True
    n_tok = sum(len(s) for s in sentences)
    t0 = time.perf_counter()
    model.predict(sentences)  # cold: every word type is new (feature ids, table rows)
    cold = time.perf_counter() - t0
    tps, cpu = [], []
    for _ in range(repeats):
        n, t0, c0 = 0, time.perf_counter(), time.process_time()
        while True:
            model.predict(sentences)
            n += 1
            el = time.perf_counter() - t0
            if el >= seconds:
                break
        tps.append(n * n_tok / el)
        cpu.append(n * n_tok / max(time.process_time() - c0, 1e-9))
    ts = model.type_scorer()
    return {"tokens_per_s": stat(tps), "tokens_per_cpu_s": stat(cpu), "tokens": n_tok,
            "sentences": len(sentences), "cold_s": cold, "word_types": ts.filled,
            "type_table_mb": ts.nbytes / 2 ** 20, "type_capacity": ts.capacity}


def default_text(chars: int = DEFAULT_TEXT_CHARS) -> str:
    base = (data_dir() / "example.txt").read_text(encoding="utf-8").rstrip("\n") + "\n\n"
    return base * max(1, chars // len(base))


def tagging_throughput(model, text_path: str | Path, *, repeats: int = 5,
                       jobs: int = 1) -> dict:
    """End-to-end tokens/s (and MB/s) of raw text → jsonl through ``nertag tag``'s own
    streaming code (read, split, tag, format, write to a file; with ``jobs`` > 1, its
    worker pool), model already loaded."""
    model.fast_inference = True
    n_chars = 0
    tokens = None
    runs, mbs, cpu = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        out_path = Path(tmp) / "out.jsonl"
        for r in range(repeats + 1):  # the first run warms up
            pool = runtime.start_pool(model, jobs) if jobs > 1 else None
            try:
                t0, c0 = time.perf_counter(), time.process_time()
                with open(out_path, "w", encoding="utf-8", newline="") as out, \
                        open(text_path, encoding="utf-8", newline="") as f:
                    lines = runtime.checked_lines(f, str(text_path), "utf-8")
                    runtime.tag_stream(model, lines, out, pool=pool, jobs=jobs,
                                       size=os.path.getsize(text_path))
                el, cpu_s = time.perf_counter() - t0, time.process_time() - c0
            finally:
                if pool is not None:
                    runtime.stop_pool(pool)
            if tokens is None:
                tokens, n_chars = _count_tokens(out_path), Path(text_path).stat().st_size
            if r:
                runs.append(tokens / el)
                mbs.append(n_chars / el / 1e6)
                cpu.append(tokens / max(cpu_s, 1e-9))
    out = {"tokens_per_s": stat(runs), "mb_per_s": stat(mbs), "tokens": tokens,
            "bytes": n_chars, "jobs": jobs}
    if jobs == 1:  # (with workers, this process's CPU time is not the work's)
        out["tokens_per_cpu_s"] = stat(cpu)
    return out


def _count_tokens(jsonl_path: Path) -> int:
    n = 0
    with open(jsonl_path, encoding="utf-8") as f:
        for line in f:
            n += line.count('"tag": ')
    return n


# ---------------------------------------------------------------------------- all
def run_benchmark(*, config: str | None = "default", train: str | None = None,
                  dev: str | None = None, text: str | None = None,
                  model_dir: str | None = None, repeats: int = 5, jobs: int = 1,
                  train_seconds: float = 2.0, infer_seconds: float = 0.5,
                  text_chars: int = DEFAULT_TEXT_CHARS, overrides=(),
                  progress=lambda msg: None) -> dict:
    """Every measurement of ``nertag benchmark`` as one JSON-ready dict."""
    repeats = max(1, int(repeats))
    cfg, model, corpus, dev_c, source = load_setup(config, train, dev, model_dir, overrides)
    arch = model.arch
    result: dict = {
        "config": config or "default",
        "model": {"source": source, "hidden": arch.hidden, "window": arch.window,
                  "features": {n: {"vocab": v, "dim": d} for n, v, d in arch.features},
                  "labels": arch.n_labels, "head": arch.head,
                  "params": int(sum(v.size for v in model.params.values())),
                  "flops_per_token": int(arch.flops_per_token())},
        "machine": {"cpus": os.cpu_count(), "load_avg": list(os.getloadavg()),
                    "numpy": np.__version__, "blas": blas.describe()},
        "repeats": repeats,
    }
    progress("training")
    tr = train_throughput(model, corpus, repeats=repeats, seconds=train_seconds,
                          warmup=min(0.5, train_seconds))
    result["train"] = tr
    progress("GEMM")
    g_big = gemm_rate(arch, 4096, repeats=repeats, seconds=min(0.2, train_seconds))
    g_batch = gemm_rate(arch, cfg.train.batch_size, repeats=repeats,
                        seconds=min(0.2, train_seconds))
    fpt = arch.flops_per_token()
    rate = g_big["gflops"]["median"] * 1e9
    result["gemm"] = {"gflops": g_big["gflops"], "rows": g_big["rows"],
                      "gflops_at_batch_size": g_batch["gflops"], "batch_size": g_batch["rows"]}
    result["train"]["gflops"] = tr["tokens_per_s"]["median"] * fpt / 1e9
    result["train"]["share_of_gemm"] = tr["tokens_per_s"]["median"] * fpt / rate
    result["train"]["share_of_gemm_at_batch_size"] = (
        tr["tokens_per_s"]["median"] * fpt / (g_batch["gflops"]["median"] * 1e9))
    # as `nertag tag` and the Python API: BLAS threads as the environment (the CLI's
    # --threads) says, else one (parallelism from processes); the GC tuned
    with blas.one_thread(), runtime.rare_gc():
        progress("inference")
        sents = [s.words for s in dev_c.sentences]
        result["inference"] = inference_throughput(model, sents, repeats=repeats,
                                                   seconds=infer_seconds)
        progress("tagging")
        with tempfile.TemporaryDirectory() as tmp:
            if text is None:
                path = Path(tmp) / "text.txt"
                path.write_text(default_text(text_chars), encoding="utf-8")
                text_name = f"data/example.txt repeated to {path.stat().st_size:,} bytes"
            else:
                path, text_name = Path(text), str(text)
            result["tagging"] = tagging_throughput(model, path, repeats=repeats)
            result["tagging"]["text"] = text_name
            if jobs > 1:
                progress(f"tagging with {jobs} jobs")
                tj = tagging_throughput(model, path, repeats=repeats, jobs=jobs)
                tj["speedup"] = (tj["tokens_per_s"]["median"]
                                 / result["tagging"]["tokens_per_s"]["median"])
                result["tagging_jobs"] = tj
    result["peak_rss_mb"] = peak_rss_mb()
    return result
