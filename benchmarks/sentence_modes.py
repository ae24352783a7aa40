#!/usr/bin/env python3
"""``nertag tag --sentences blank|line|auto``, measured: the issue's targets, the tuning
sets of the ``auto`` rule, and the speed of the default path.

* **dev** -- CoNLL-2003 ``valid.txt`` detokenized (:mod:`nertag.text.detok`) one sentence
  per line, no blank lines (and, as a second text, with a blank line between documents),
  tagged by ``nertag tag FILE -f jsonl`` with default options and with each
  ``--sentences``, against ``nertag tag valid.txt --tokenized`` on the same sentences.
  Both are scored the same way: an entity is a (line, first character, end character,
  type) in the detokenized text, the gold and the ``--tokenized`` entities placed there
  through each word's offsets from :func:`nertag.text.detok.join`; a raw-text entity
  counts as correct only if its span and type equal a gold entity's exactly (an entity
  over a line break matches nothing).  On word-aligned spans this is conlleval's F1
  (printed too for ``--tokenized``, from :func:`nertag.text.scoring.evaluate`).
* **wrapped** -- ``data/example.txt`` hard-wrapped at 72 columns by ``fold -s -w 72``
  and by Python's ``textwrap`` (paragraph breaks kept): the entities (text with line
  breaks read as spaces, and label), in order, against the unwrapped file's.
* ``--tuning [CONLL]`` -- the share of line breaks each mode gets wrong on the sets the
  ``auto`` thresholds were tuned on (built from a CoNLL file, by default ``train.txt``):
  one sentence per line (documents, runs of 2-6, without final periods, CSV-like rows,
  400-line files) must be cut at every line break the tokenizer would not cut anyway;
  paragraphs wrapped by ``textwrap``, ``fold -s`` and ``fmt`` must be cut only at their
  sentence ends; mixed blocks (a headline before a wrapped paragraph, paragraphs
  separated by single line breaks) both.
* ``--speed FILE`` -- ``--pairs`` interleaved runs of ``nertag tag FILE -f jsonl`` with
  the default (auto) and with ``--sentences blank`` (the path of the version before the
  modes), and with ``--baseline DIR`` also that version's own code (a source tree, e.g.
  ``git archive d93a85f | tar -x -C DIR``): medians and ranges of the wall time and of
  the CPU time (user + system; less sensitive to other work on the machine).

    python benchmarks/sentence_modes.py
    python benchmarks/sentence_modes.py --tuning
    python data/make_news_text.py 5 big5.txt
    python benchmarks/sentence_modes.py --speed big5.txt --pairs 5 --baseline /tmp/base
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from bisect import bisect_right
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nertag.text.detok import join, spaces_before  # noqa: E402
from nertag.text.scoring import evaluate  # noqa: E402
from nertag.text.tags import get_entities  # noqa: E402

NERTAG = [sys.executable, "-m", "nertag"]
SHARED = ROOT.parent / "shared" / "data" / "conll2003"
RUNS = [("default", []), ("blank", ["--sentences", "blank"]),
        ("line", ["--sentences", "line"]), ("auto", ["--sentences", "auto"])]


def read_docs(path: Path) -> list[list[tuple[list[str], list[str]]]]:
    """The documents of a CoNLL file: lists of (words, tags) sentences."""
    docs, doc, words, tags = [], [], [], []
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        cols = line.split()
        if not cols or cols[0] == "-DOCSTART-":
            if words:
                doc.append((words, tags))
            words, tags = [], []
            if cols and doc:
                docs.append(doc)
                doc = []
            continue
        words.append(cols[0])
        tags.append(cols[-1])
    if doc:
        docs.append(doc)
    return docs


def tag(path: Path, *args: str) -> str:
    r = subprocess.run(NERTAG + ["tag", str(path), *args], cwd=ROOT, capture_output=True,
                       text=True, encoding="utf-8")
    if r.returncode:
        sys.exit(f"nertag tag {path} {' '.join(args)} failed: {r.stderr.strip()}")
    return r.stdout


def prf(pred: set, gold: set) -> tuple[float, float, float]:
    ok = len(pred & gold)
    p, r = ok / max(len(pred), 1), ok / max(len(gold), 1)
    return 100 * p, 100 * r, 100 * (2 * p * r / (p + r) if p + r else 0.0)


# ---------------------------------------------------------------------- dev set
def dev(valid: Path, work: Path) -> None:
    docs = read_docs(valid)
    sents = [s for d in docs for s in d]
    lines, offsets = [], []  # each sentence's text and its words' [start, end) in it
    for words, _ in sents:
        text, offs = join(words, spaces_before(words))
        lines.append(text)
        offsets.append(offs)
    gold = {(i, offsets[i][b][0], offsets[i][e - 1][1], t)
            for i, (_, tags) in enumerate(sents) for t, b, e in get_entities(tags)}
    print(f"dev: {valid} -- {len(docs)} documents, {len(sents)} sentences, {len(gold)} gold "
          f"entities")
    # --tokenized on the same sentences, placed in the detokenized lines
    out = tag(valid, "--tokenized")
    blocks = [[row.split()[-1] for row in b.splitlines() if not row.startswith("-DOCSTART-")]
              for b in out.split("\n\n")]
    pred_tags = [b for b in blocks if b]
    assert [len(t) for t in pred_tags] == [len(w) for w, _ in sents], "--tokenized: sentences"
    tok = {(i, offsets[i][b][0], offsets[i][e - 1][1], t)
           for i, tags in enumerate(pred_tags) for t, b, e in get_entities(tags)}
    conlleval = 100 * evaluate([t for _, t in sents], pred_tags).f1
    p, r, f_tok = prf(tok, gold)
    print(f"  --tokenized        P {p:5.2f}  R {r:5.2f}  F1 {f_tok:5.2f}  (conlleval F1 "
          f"{conlleval:.2f})")
    texts = {"one sentence per line": "\n".join(lines) + "\n",
             "+ blank line between documents": "\n\n".join(
                 "\n".join(lines[k:k + len(d)])
                 for k, d in zip(_starts(docs), docs)) + "\n"}
    for name, raw in texts.items():
        path = work / "valid-raw.txt"
        path.write_text(raw, encoding="utf-8")
        line_of = _line_starts(raw, lines)
        print(f"  raw text, {name} ({len(raw):,} characters):")
        outputs = {}
        for label, args in RUNS:
            outputs[label] = out = tag(path, "-f", "jsonl", *args)
            objs = [json.loads(x) for x in out.splitlines()]
            pred, crossing = set(), 0
            for o in objs:
                for e in o["entities"]:
                    i = bisect_right(line_of, e["start"]) - 1
                    crossing += "\n" in e["text"]
                    pred.add((i, e["start"] - line_of[i], e["end"] - line_of[i], e["label"]))
            over = sum("\n" in o["text"] for o in objs)
            p, r, f = prf(pred, gold)
            print(f"    {label:8s} P {p:5.2f}  R {r:5.2f}  F1 {f:5.2f}  ({f - f_tok:+.2f} vs "
                  f"--tokenized)  sentences {len(objs):5d}, {over:4d} over a line break, "
                  f"{crossing:3d} entities over one")
        assert outputs["default"] == outputs["auto"], "the default is not auto"


def _starts(docs) -> list[int]:
    out, k = [], 0
    for d in docs:
        out.append(k)
        k += len(d)
    return out


def _line_starts(raw: str, lines: list[str]) -> list[int]:
    """The offset of each sentence's line in ``raw`` (lines in order, blank ones between)."""
    out, pos = [], 0
    for line in lines:
        pos = raw.index(line, pos)
        out.append(pos)
        pos += len(line)
    return out


# ---------------------------------------------------------------------- wrapped prose
def fold(paragraph: str, width: int) -> str:
    if shutil.which("fold"):
        r = subprocess.run(["fold", "-s", "-w", str(width)], input=paragraph, text=True,
                           capture_output=True, check=True)
        return r.stdout
    out = []  # fold -s: break after the last space that fits (the space stays)
    while len(paragraph) > width:
        cut = paragraph.rfind(" ", 0, width) + 1 or width
        out.append(paragraph[:cut])
        paragraph = paragraph[cut:]
    return "\n".join(out + [paragraph])


def wrapped(example: Path, work: Path) -> None:
    plain = example.read_text(encoding="utf-8")
    paras = [p for p in plain.split("\n\n") if p.strip()]

    def ents(out: str) -> list[tuple[str, str]]:
        return [(" ".join(e["text"].split()), e["label"]) for line in out.splitlines()
                for e in json.loads(line)["entities"]]

    want = ents(tag(example, "-f", "jsonl"))
    print(f"wrapped: {example} -- {len(paras)} paragraphs, {len(want)} entities unwrapped "
          f"(default options)")
    wrappers = {"fold -s -w 72": lambda p: fold(p, 72),
                "textwrap 72": lambda p: textwrap.fill(p, 72, break_on_hyphens=False)}
    for name, wrap in wrappers.items():
        path = work / "wrapped.txt"
        path.write_text("\n\n".join(wrap(p.strip()) for p in paras) + "\n", encoding="utf-8")
        for label, args in RUNS:
            got = ents(tag(path, "-f", "jsonl", *args))
            same = got == want
            diff = len(set(got) ^ set(want)) if not same else 0
            print(f"  {name:14s} {label:8s} {'the same entities' if same else 'DIFFERENT'} "
                  f"({len(got)} entities{'' if same else f', {diff} differ'})")


# ---------------------------------------------------------------------- tuning sets
def tuning(conll: Path, seed: int = 0) -> None:
    from nertag.text import sentences as sm
    from nertag.text.tokenize import _is_terminator, _starts_sentence, tokenize

    rng = random.Random(seed)
    docs = [[join(w, spaces_before(w))[0] for w, _ in d] for d in read_docs(conll)]
    sets: dict[str, list[tuple[list[str], list[str]]]] = {}
    sets["lines: documents"] = [(d, d) for d in docs if len(d) > 1]
    runs = []
    for d in docs:
        i = 0
        while i < len(d) - 1:
            k = rng.randint(2, 6)
            runs.append(d[i:i + k])
            i += k
    sets["lines: runs of 2-6"] = [(r, r) for r in runs if len(r) > 1]
    nop = [[s[:-1].rstrip() if s.endswith(".") else s for s in r] for r in runs if len(r) > 1]
    sets["lines: no final period"] = [(r, r) for r in nop]
    allsents = [s for d in docs for s in d]
    sets["lines: 400-line files"] = [(allsents[i:i + 400],) * 2
                                     for i in range(0, len(allsents), 400)]
    prose = []
    for d in docs:
        body = [s for s in d[2:] if re.search(r"[.!?][\"')]*$", s)
                and sum(w[:1].islower() for w in s.split()) >= 3]
        i = 0
        while i < len(body):
            k = rng.randint(2, 6)
            if sum(map(len, body[i:i + k])) > 100:
                prose.append((d[0], body[i:i + k]))
            i += k
    rng.shuffle(prose)
    prose = prose[:1500]
    for width in (40, 72, 100):
        sets[f"prose: textwrap {width}"] = [
            (textwrap.wrap(" ".join(p), width, break_on_hyphens=False), p) for _, p in prose]
    sets["prose: fold -s 72"] = [(fold(" ".join(p), 72).split("\n"), p) for _, p in prose]
    if shutil.which("fmt"):
        out = subprocess.run(["fmt", "-w", "72"], input="\n\n".join(" ".join(p) for _, p in prose),
                             text=True, capture_output=True, check=True).stdout
        sets["prose: fmt -w 72"] = [(b.split("\n"), p) for b, (_, p) in
                                   zip(out.rstrip("\n").split("\n\n"), prose)]
    heads = [(re.sub(r"\s*\.$", "", h), p) for h, p in prose if len(h) < 60]  # no period
    sets["mixed: headline + prose"] = [([h] + textwrap.wrap(" ".join(p), 72), [h] + p)
                                       for h, p in heads]
    mixed = []
    for i in range(0, len(prose) - 5, 4):
        lines, ss = [], []
        for _, p in prose[i:i + rng.randint(2, 5)]:
            lines += textwrap.wrap(" ".join(p), 72)
            ss += p
        mixed.append((lines, ss))
    sets["mixed: paragraphs, no blank"] = mixed

    def self_cut(a: str, b: str) -> bool:  # would the tokenizer cut there anyway?
        ta, tb = [t.text for t in tokenize(a)], [t.text for t in tokenize(b)]
        while len(ta) > 1 and ta[-1] in "”’»)]}\"'":
            ta.pop()
        return bool(ta and tb) and _is_terminator(ta[-1]) and _starts_sentence(tb[0])

    print(f"tuning: {conll} -- share of line breaks each mode gets wrong (blocks with an error)")
    print(f"  {'set':30s} {'breaks':>7s}  " + "  ".join(f"{m:>15s}" for m in sm.MODES))
    for name, blocks in sets.items():
        errors = dict.fromkeys(sm.MODES, 0)
        bad_blocks = dict.fromkeys(sm.MODES, 0)
        total = 0
        for lines, sentences in blocks:
            lines = [line for line in lines if line.strip()]
            if len(lines) < 2:
                continue
            ends, c = set(), 0
            for s in sentences:
                c += len(re.sub(r"\s", "", s))
                ends.add(c)
            truth, c = [], 0  # True: must cut, False: must not, None: the tokenizer cuts
            for a, b in zip(lines, lines[1:]):
                c += len(re.sub(r"\s", "", a))
                truth.append((None if self_cut(a, b) else True) if c in ends else False)
            text = "\n".join(lines)
            pos = [m.start() for m in re.finditer("\n", text)]
            for mode in sm.MODES:
                cut = set(sm.line_breaks(text, mode))
                wrong = sum(t is not None and t != (p in cut) for t, p in zip(truth, pos))
                errors[mode] += wrong
                bad_blocks[mode] += wrong > 0
            total += sum(t is not None for t in truth)
        print(f"  {name:30s} {total:7,d}  " + "  ".join(
            f"{100 * errors[m] / max(total, 1):5.2f}% ({100 * bad_blocks[m] / len(blocks):5.1f}%)"
            for m in sm.MODES))


# ---------------------------------------------------------------------- speed
def speed(text: Path, pairs: int, baseline: Path | None, work: Path) -> None:
    import resource

    kinds = {"auto (default)": (ROOT, []), "--sentences blank": (ROOT, ["--sentences", "blank"])}
    if baseline is not None:
        kinds["before the modes"] = (baseline, [])
    times: dict[str, list[float]] = {k: [] for k in kinds}
    cpu: dict[str, list[float]] = {k: [] for k in kinds}  # user + system, all processes
    print(f"speed: nertag tag {text} -f jsonl ({text.stat().st_size / 1e6:.1f} MB), {pairs} "
          f"interleaved rounds; load average {Path('/proc/loadavg').read_text().split()[:3]}")
    order = list(kinds)
    for i in range(pairs):
        for k in (order if i % 2 == 0 else order[::-1]):
            cwd, args = kinds[k]
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run(NERTAG + ["tag", str(text.resolve()), "-f", "jsonl", "-o",
                                     str(work / "speed.jsonl"), *args], cwd=cwd, check=True)
            times[k].append(time.perf_counter() - t0)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[k].append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
    base, base_cpu = (statistics.median(x["--sentences blank"]) for x in (times, cpu))
    for k, ts in times.items():
        m, c = statistics.median(ts), statistics.median(cpu[k])
        print(f"  {k:18s} wall median {m:6.2f} s ({min(ts):.2f}-{max(ts):.2f}) "
              f"{m / base:.3f}x;  CPU median {c:6.2f} s ({min(cpu[k]):.2f}-{max(cpu[k]):.2f}) "
              f"{c / base_cpu:.3f}x --sentences blank")
    print(f"  load average after: {Path('/proc/loadavg').read_text().split()[:3]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--valid", type=Path, default=SHARED / "valid.txt")
    ap.add_argument("--example", type=Path, default=ROOT / "data" / "example.txt")
    ap.add_argument("--tuning", nargs="?", type=Path, const=SHARED / "train.txt")
    ap.add_argument("--speed", type=Path, metavar="FILE")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--baseline", type=Path, metavar="DIR")
    ap.add_argument("--skip-targets", action="store_true", help="only --tuning / --speed")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.skip_targets:
            dev(args.valid, work)
            wrapped(args.example, work)
        if args.tuning:
            tuning(args.tuning)
        if args.speed:
            speed(args.speed, args.pairs, args.baseline, work)


if __name__ == "__main__":
    main()
