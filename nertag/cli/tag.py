"""``nertag tag``: check the options, load the model, tag each input through the
library's runtime (:mod:`nertag.inference.runtime`) and draw ``pretty`` output."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

# BLAS threads are set (one by default) by the CLI's --threads before NumPy loads
# (cli.set_threads); parallelism comes from --jobs processes.
# NumPy asks for transparent huge pages for big arrays; here the kernel then compacts
# memory on first touch, which made building the 100 MB lookup tables 3-5x slower
# (0.5 s vs 0.15 s) without making the lookups any faster.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

from nertag.errors import NertagError, UsageError  # noqa: E402
from nertag.inference import formats  # noqa: E402
from nertag.inference import runtime  # noqa: E402


def _broken_pipe() -> None:
    raise BrokenPipeError(32, "Broken pipe")


def _pretty(console, chunks) -> None:
    from rich.text import Text

    for c in chunks:  # built left to right: slicing a styled Text per entity is quadratic
        out = Text()
        pos = 0
        for s in c.sentences:
            for e in s.entities:
                a, b = max(e.start - c.offset, pos), e.end - c.offset
                out.append(c.text[pos:a])
                out.append(c.text[a:b], style=f"bold black on {formats.colour(e.label)}")
                out.append(f" {e.label}", style=f"bold {formats.colour(e.label)}")
                pos = max(b, pos)
        out.append(c.text[pos:])
        console.print(out, end="", soft_wrap=True)


def run_tag(*, inputs: list[str], output: Path | None, fmt: str | None, per: str,
            tokenized: bool, model_dir: Path | None, encoding: str, jobs: int,
            decoder: str | None) -> None:
    import functools

    from nertag.modelio import load_model
    from nertag.resources import default_model

    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}")
    if per not in ("sentence", "document"):
        raise UsageError(f"--per: unknown value {per!r}; use sentence or document")
    if fmt is None:
        fmt = "pretty" if output is None and sys.stdout.isatty() and not tokenized else "jsonl"
    if fmt not in formats.FORMATS:
        raise UsageError(f"--format: unknown format {fmt!r}; use one of "
                         f"{', '.join(formats.FORMATS)}")
    if tokenized and fmt not in ("conll", "jsonl"):
        raise UsageError("--tokenized writes CoNLL columns; it cannot be combined with "
                         f"--format {fmt}")
    if per == "document" and fmt != "jsonl":
        raise UsageError("--per document goes with --format jsonl")
    if inputs.count("-") > 1:
        raise UsageError("standard input '-' can be read only once")
    import codecs

    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UsageError(f"--encoding: unknown encoding {encoding!r}; use e.g. utf-8 or "
                         f"latin-1") from None
    for name in inputs:
        if name != "-":
            runtime.open_text(name, encoding).close()  # fail early on missing/unreadable inputs
            if os.path.getsize(name) == 0:
                raise NertagError(f"{name}: file is empty; nothing to tag")
    model_path = Path(model_dir) if model_dir else default_model()
    if model_dir is None and not model_path.exists():
        raise NertagError(f"no default model found at {model_path}; give --model DIR")
    model = load_model(model_path, read_only=True)
    model.fast_inference = True
    if decoder:
        model.cfg.model.decoder = decoder
    if output is not None:
        from nertag.atomic import atomic_open

        sink = atomic_open(output, "w", newline="")
    else:
        sink = contextlib.nullcontext(sys.stdout)
    with runtime.rare_gc(), sink as out:
        if tokenized:
            runtime.tag_tokenized(model, inputs, encoding, out)
            return
        console = None
        if fmt == "pretty":
            from rich.console import Console

            console = Console(file=out, highlight=False, soft_wrap=True,
                              force_terminal=None if output is None else False)
            console.on_broken_pipe = _broken_pipe  # rich would exit 1; the CLI stops quietly
        if fmt == "html":
            out.write(formats.html_head(", ".join(inputs), model.labels))
        pool = None
        if jobs > 1:
            out.flush()  # a forked worker must not inherit unwritten output
            pool = runtime.start_pool(model, jobs, reload=functools.partial(
                load_model, model_path, verify=False, read_only=True))
        try:
            for name in inputs:
                source = "<stdin>" if name == "-" else name
                src = source if len(inputs) > 1 else None
                size = os.path.getsize(name) if name != "-" and os.path.isfile(name) else None
                with runtime.open_text(name, encoding) as stream:
                    runtime.tag_stream(model, runtime.checked_lines(stream, source, encoding),
                                       out, fmt=fmt, per=per,
                                       source=source if per == "document" else src,
                                       pool=pool, jobs=jobs, size=size,
                                       show=lambda chunks: _pretty(console, chunks))
        finally:
            if pool is not None:
                runtime.stop_pool(pool)
        if fmt == "html":
            out.write(formats.HTML_TAIL)
