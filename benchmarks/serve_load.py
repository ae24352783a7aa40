#!/usr/bin/env python3
"""A bounded load test of ``nertag serve`` on this machine's loopback interface.

It starts ``nertag serve --port 0`` (1 worker, then 2), and for one-sentence requests
and for 5 KB documents, at concurrency 1, 8 and 32, sends ``POST /tag`` requests on
kept-alive connections for a fixed time (after a short warm-up), then reports
requests/s, p50/p99/max latency and, for documents, tokens/s through the server next
to ``nertag tag``'s one-process rate on the same documents.  Each connection first
asks ``/health`` which worker it is on: the split of the connections between the
workers (the kernel's choice) is reported with each figure, and so are the reconnections
(a busy worker closes a connection now and then so that the load spreads, see
``nertag.serve.app.Rebalancer``) and the CPU time each worker used.  Then it starts a new
server with 2 workers, sends it ``--memory-requests`` one-sentence requests and
reports each worker's memory (RSS) at start, after the first 1,000 requests and at
the end.  Every phase is bounded in time and in requests, each server is stopped at
its end (also on Ctrl-C), and the load average is recorded with every figure: the
machine may be shared.

    python benchmarks/serve_load.py                       # ~5 minutes
    python benchmarks/serve_load.py --seconds 2 --memory-requests 5000 --json out.json

Texts: the sentences of ``data/example.txt``; documents of about 5 KB made of its
paragraphs in rotating order (or of ``--text FILE``'s paragraphs, e.g. the
``big5.txt`` of the README's Performance section).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only
CONCURRENCY = (1, 8, 32)


# ---------------------------------------------------------------------- texts
def sentences_of(text: str) -> list[str]:
    from nertag.text.tokenize import split_flat

    out = []
    for para in re.split(r"\n\s*\n", text):
        flat = split_flat(para)
        for a, b in zip(flat.cuts, flat.cuts[1:]):
            if b > a:
                out.append(para[int(flat.starts[a]):int(flat.ends[b - 1])])
    return out


def documents_of(text: str, size: int = 5000, count: int = 64) -> list[str]:
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    docs, i = [], 0
    while len(docs) < count:
        parts: list[str] = []
        while sum(len(p) + 2 for p in parts) < size:
            parts.append(paras[i % len(paras)])
            i += 1
        docs.append("\n\n".join(parts)[:size + 500])
        if i > 50 * count * len(paras):
            break
    return docs


def n_tokens(text: str) -> int:
    from nertag.text.tokenize import split_flat

    return len(split_flat(text).texts)


# ---------------------------------------------------------------------- the server
class Server:
    """``nertag serve --port 0 --workers N`` in a subprocess, stopped on exit."""

    def __init__(self, workers: int, model: str | None):
        cmd = [sys.executable, "-m", "nertag", "serve", "--host", HOST, "--port", "0",
               "--workers", str(workers), "--max-texts", "1000"]
        if model:
            cmd += ["--model", model]
        self.workers = workers
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        line = self.proc.stderr.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if not m:
            self.stop()
            raise SystemExit(f"the server did not start: {line}{self.proc.stderr.read()}")
        self.port = int(m.group(1))
        deadline = time.monotonic() + 60
        while len(self.worker_pids()) < workers or not self._healthy():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise SystemExit("the server's workers did not start within 60 s")
            time.sleep(0.2)

    def _healthy(self) -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://{HOST}:{self.port}/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        if self.workers == 1:
            return [self.proc.pid]
        kids = []  # uvicorn's workers: spawned children (not a resource tracker)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (stat.parent / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == self.proc.pid and b"spawn_main" in cmdline:
                kids.append(int(stat.parent.name))
        return sorted(kids)

    def rss_mb(self) -> dict[int, float]:
        out = {}
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[pid] = int(line.split()[1]) / 1024
        return out

    def cpu_seconds(self) -> dict[int, float]:
        """CPU time (user + system) each worker has used so far."""
        out = {}
        for pid in self.worker_pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------- the client
def request_bytes(port: int, text: str) -> bytes:
    body = json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")
    return (f"POST /tag HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json"
            f"\r\nContent-Length: {len(body)}\r\n\r\n").encode("ascii") + body


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, whether the server closes the connection after it)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
    return status, await reader.readexactly(length), b"\r\nconnection: close" in head.lower()


async def _load(port: int, requests: list[bytes], concurrency: int, seconds: float,
                max_requests: int, warmup: float) -> dict:
    """``concurrency`` connections, each sending its next request when the last is answered."""
    lat: list[float] = []
    pids: list[int] = []
    errors, reconnects = [0], [0]
    sent = [0]
    clock = time.perf_counter
    start = clock()
    measure_from = start + warmup
    stop_at = measure_from + seconds

    first: dict[int, tuple] = {}  # worker -> (requests, model calls) at start, at end
    last: dict[int, tuple] = {}

    async def health(reader, writer) -> dict:
        writer.write(f"GET /health HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
        h = json.loads((await _response(reader))[1])
        now = (h["requests"], h["model_calls"])
        first[h["pid"]] = min(first.get(h["pid"], now), now)
        last[h["pid"]] = max(last.get(h["pid"], now), now)
        return h

    async def one(k: int) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        pids.append((await health(reader, writer))["pid"])  # this connection's worker
        i = k
        try:
            while clock() < stop_at and sent[0] < max_requests:
                req = requests[i % len(requests)]
                i += concurrency
                t0 = clock()
                if writer is None:  # as an HTTP client's pool does: a new connection
                    reader, writer = await asyncio.open_connection(HOST, port)
                    reconnects[0] += 1
                    await health(reader, writer)  # (for the worker's counts)
                writer.write(req)
                status, _, close = await _response(reader)
                t1 = clock()
                if close:
                    writer.close()
                    writer = None
                if status != 200:
                    errors[0] += 1
                if t0 >= measure_from:
                    lat.append(t1 - t0)
                    sent[0] += 1
            if writer is not None:
                await health(reader, writer)
        finally:
            if writer is not None:
                writer.close()

    await asyncio.gather(*(one(k) for k in range(concurrency)))
    per_call = [round((last[p][0] - first[p][0]) / max(1, last[p][1] - first[p][1]), 1)
                for p in sorted(last, key=lambda p: first[p][0] - last[p][0])]
    elapsed = min(clock(), stop_at) - measure_from
    lat.sort()
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1e3 if lat else float("nan")  # noqa
    return {"requests": len(lat), "errors": errors[0], "seconds": round(elapsed, 2),
            "rps": round(len(lat) / elapsed, 1), "p50_ms": round(pct(0.50), 2),
            "p99_ms": round(pct(0.99), 2), "max_ms": round(lat[-1] * 1e3, 2) if lat else None,
            "connections_per_worker": sorted(Counter(pids).values(), reverse=True),
            "reconnects": reconnects[0], "requests_per_model_call": per_call}


def load(port, requests, concurrency, seconds, max_requests, warmup=1.0) -> dict:
    before = os.getloadavg()[0]
    out = asyncio.run(_load(port, requests, concurrency, seconds, max_requests, warmup))
    out["loadavg"] = [round(before, 2), round(os.getloadavg()[0], 2)]
    return out


# ---------------------------------------------------------------------- nertag tag
def tag_command_rate(docs: list[str], tokens: int, model: str | None) -> dict:
    """``nertag tag -f jsonl`` (one process) on the documents, repeated to ~1 MB: tokens/s,
    with the start-up (a one-line file's run) subtracted, and the whole command's."""
    reps = max(1, 1_000_000 // sum(map(len, docs)))
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp) / "docs.txt", Path(tmp) / "one.txt"
        big.write_text("\n\n".join(docs * reps) + "\n", encoding="utf-8")
        small.write_text("Laura Okafor flew to Geneva.\n", encoding="utf-8")
        extra = ["--model", model] if model else []

        def timed(path: Path) -> float:
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "nertag", "tag", str(path), "-f", "jsonl",
                            "-o", os.devnull, *extra], check=True, cwd=ROOT)
            return time.perf_counter() - t

        whole = min(timed(big) for _ in range(3))
        startup = min(timed(small) for _ in range(3))
    n = tokens * reps
    return {"tokens": n, "seconds": round(whole, 2), "startup_s": round(startup, 2),
            "tokens_per_s": round(n / (whole - startup)),
            "tokens_per_s_whole_command": round(n / whole),
            "loadavg": round(os.getloadavg()[0], 2)}


# ---------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="measured time per phase")
    ap.add_argument("--max-requests", type=int, default=200_000, help="bound per phase")
    ap.add_argument("--memory-requests", type=int, default=100_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--model", help="model directory (default: the shipped model)")
    ap.add_argument("--text", type=Path, default=ROOT / "data" / "example.txt")
    ap.add_argument("--kinds", nargs="+", default=["sentence", "document"],
                    choices=["sentence", "document"], help="which requests to send")
    ap.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCY))
    ap.add_argument("--no-tag-command", action="store_true",
                    help="do not measure nertag tag's rate")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    args = ap.parse_args()

    raw = args.text.read_text(encoding="utf-8")
    sents, docs = sentences_of(raw), documents_of(raw)
    doc_tokens = sum(map(n_tokens, docs)) / len(docs)
    print(f"{len(sents)} sentences; {len(docs)} documents of {sum(map(len, docs)) // len(docs)}"
          f" characters, {doc_tokens:.0f} tokens on average; {os.cpu_count()} cores")
    results: dict = {"phases": [], "cores": os.cpu_count()}
    for workers in args.workers:
        server = Server(workers, args.model)
        try:
            for kind, texts in (("sentence", sents), ("5KB document", docs)):
                if kind.split()[-1] not in args.kinds:
                    continue
                reqs = [request_bytes(server.port, t) for t in texts]
                for c in args.concurrency:
                    cpu = server.cpu_seconds()
                    r = load(server.port, reqs, c, args.seconds, args.max_requests)
                    r["worker_cpu_s"] = sorted((round(v - cpu.get(p, 0), 1) for p, v in
                                                server.cpu_seconds().items()), reverse=True)
                    r.update(workers=workers, kind=kind, concurrency=c)
                    if kind != "sentence":
                        r["tokens_per_s"] = round(r["rps"] * doc_tokens)
                    results["phases"].append(r)
                    print(f"{workers} worker(s)  {kind:<13} c={c:<3} {r['rps']:>8.1f} req/s  "
                          f"p50 {r['p50_ms']:>7.2f} ms  p99 {r['p99_ms']:>7.2f} ms  "
                          + (f"{r['tokens_per_s']:>8,} tokens/s  " if "tokens_per_s" in r
                             else "") + f"split {'/'.join(map(str, r['connections_per_worker']))} "
                          f"(reconnects {r['reconnects']}, worker CPU s "
                          f"{'/'.join(map(str, r['worker_cpu_s']))}, requests per model "
                          f"call {'/'.join(map(str, r['requests_per_model_call']))})  "
                          f"errors {r['errors']}  load {r['loadavg']}",
                          flush=True)
        finally:
            server.stop()
    if args.memory_requests:  # a fresh server: its first 1,000 requests, then the rest
        server = Server(max(args.workers), args.model)
        try:
            results["memory"] = memory_phase(server, sents, args.memory_requests)
        finally:
            server.stop()
    if not args.no_tag_command:
        results["nertag_tag"] = tag_command_rate(docs, round(doc_tokens * len(docs)), args.model)
        print(f"nertag tag, one process, the same documents: "
              f"{results['nertag_tag']['tokens_per_s']:,} tokens/s (start-up excluded; "
              f"{results['nertag_tag']['tokens_per_s_whole_command']:,} with it), load "
              f"{results['nertag_tag']['loadavg']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def memory_phase(server: Server, sents: list[str], total: int) -> dict:
    """``total`` one-sentence requests at concurrency 8 on connections spread evenly over
    the workers; each worker's RSS at start, once every worker has answered 1,000
    requests, and at the end."""
    reqs = [request_bytes(server.port, t) for t in sents]
    before = os.getloadavg()[0]
    t = time.perf_counter()
    out = asyncio.run(_memory(server, reqs, 8, min(1000, total), total))
    out.update(seconds=round(time.perf_counter() - t, 1),
               loadavg=[round(before, 2), round(os.getloadavg()[0], 2)])
    out["rps"] = round(total / out["seconds"], 1)
    rss = out["rss_mb"]
    for pid, start in rss["start"].items():
        a, b = rss["first"].get(pid), rss["end"].get(pid)
        if a and b:
            print(f"worker {pid}: {start:.1f} MB at start, {a:.1f} MB after its first "
                  f"{out['first_requests'][pid]:,} requests, {b:.1f} MB after its "
                  f"{out['requests'][pid]:,} ({(b - a) / a:+.1%})")
    print(f"memory phase: {total:,} requests in {out['seconds']} s ({out['rps']} req/s over "
          f"{len(rss['start'])} workers), errors {out['errors']}, load {out['loadavg']}")
    return out


async def _memory(server: Server, reqs: list[bytes], concurrency: int, first: int,
                  total: int) -> dict:
    port, workers = server.port, server.worker_pids()
    rss = {"start": server.rss_mb()}

    async def connect() -> tuple:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(f"GET /health HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
        return reader, writer, json.loads((await _response(reader))[1])["pid"]

    conns: list[tuple] = []  # the same number of connections on each worker
    share = -(-concurrency // len(workers))
    for _ in range(50 * concurrency):
        if len(conns) == concurrency:
            break
        c = await connect()
        if sum(p == c[2] for _, _, p in conns) < share:
            conns.append(c)
        else:
            c[1].close()
    counts: Counter = Counter()
    done, errors, snap = [0], [0], {}

    async def one(reader, writer, pid) -> None:
        i = len(counts)
        while done[0] < total:
            done[0] += 1
            writer.write(reqs[i % len(reqs)])
            i += 1
            status, _, close = await _response(reader)
            errors[0] += status != 200
            counts[pid] += 1
            if not snap and all(counts[p] >= first for p in workers):
                snap.update(rss=server.rss_mb(), counts=dict(counts))
            if close:  # a busy worker asked the client to reconnect
                writer.close()
                reader, writer, pid = await connect()
        writer.close()

    await asyncio.gather(*(one(*c) for c in conns))
    rss["first"] = snap.get("rss", {})
    rss["end"] = server.rss_mb()
    return {"requests": dict(counts), "first_requests": snap.get("counts", {}),
            "errors": errors[0], "connections_per_worker": sorted(
                Counter(p for _, _, p in conns).values(), reverse=True),
            "rss_mb": {k: {p: round(v, 1) for p, v in d.items()} for k, d in rss.items()}}


if __name__ == "__main__":
    main()
