#!/usr/bin/env python3
"""Runs the pix2pix training step in tsgan and in PyTorch side by side and tabulates the results.

For each config and thread count it runs build/bench/tsgan-bench-pix2pix and
bench/reference/pix2pix.py, alternating which goes first from round to round, takes the JSON
object each prints as its last line, and prints a markdown table: median ms/step over the rounds,
the tsgan/PyTorch ratio, achieved GFLOP/s (bench/flops.py's count over the median time), that rate
as a share of the machine's best SGEMM at the same thread count, and peak resident memory.

    /usr/bin/python3 bench/run_pix2pix.py                        # both configs, 1 and 2 threads
    /usr/bin/python3 bench/run_pix2pix.py --configs small --rounds 1 --steps 10
    /usr/bin/python3 bench/run_pix2pix.py --sgemm-json gemm.json --write-doc docs/performance.md

The SGEMM ceiling comes from --sgemm-json files (tsgan-bench-gemm* run with
--benchmark_format=json), or else from running the gemm benchmarks that are built (square sizes
only). When tsgan-bench-pix2pix is not built, only PyTorch runs, and the output says so.

Contract for tsgan-bench-pix2pix: it accepts `--config small|paper --threads N --steps K
--warmup W --seed S` and prints as its last line the JSON object pix2pix.py prints, with
"framework": "tsgan".
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import re
import shlex
import statistics
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import flops  # noqa: E402

BEGIN, END = "<!-- pix2pix:begin -->", "<!-- pix2pix:end -->"


def blas_env() -> dict:
    """The environment for BLAS-using programs. OpenBLAS 0.3.21 and BLIS 0.9 (Debian 12) do not
    recognise recent Xeons and fall back to slow kernels (OpenBLAS: SSE3 "Prescott"; BLIS: AVX2
    "haswell", because it cannot tell the number of FMA units). On an AVX-512 CPU they get their
    AVX-512 kernels unless the caller already chose."""
    env = dict(os.environ)
    try:
        avx512 = " avx512f" in pathlib.Path("/proc/cpuinfo").read_text()
    except OSError:
        avx512 = False
    if avx512:
        env.setdefault("OPENBLAS_CORETYPE", "SkylakeX")
        env.setdefault("BLIS_ARCH_TYPE", "0")  # BLIS 0.9 reads an arch id; 0 is skx
    return env


def machine() -> str:
    model, cpus = platform.processor() or "unknown CPU", os.cpu_count()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        model = fields.get("Model name", model).strip()
        cpus = fields.get("CPU(s)", str(cpus)).strip()
        cores = int(fields.get("Core(s) per socket", "0")) * int(fields.get("Socket(s)", "1"))
        return f"{model}, {cpus} CPUs ({cores} cores)"
    except (OSError, subprocess.CalledProcessError, ValueError):
        return f"{model}, {cpus} CPUs"


# ---- the SGEMM ceiling --------------------------------------------------------------------------

def sgemm_best(reports: list[dict]) -> dict[int, tuple[float, str]]:
    """Best GFLOP/s per thread count over the sgemm/* benchmarks of Google Benchmark JSON reports
    (tsgan-bench-gemm* output or run_gemm.py's sgemm.json): of aggregates, the "max" one (the
    fastest repetition: the machine's ceiling) or else the median; without aggregates, each run."""
    best: dict[int, tuple[float, str]] = {}
    for rep in reports:
        entries = rep.get("benchmarks", [])
        aggs = {e.get("aggregate_name") for e in entries if e.get("run_type") == "aggregate"}
        use = "max" if "max" in aggs else "median" if aggs else None
        for e in entries:
            m = re.match(r"sgemm/([^/]+)/([^/]+)/threads:(\d+)", e.get("run_name", e.get("name", "")))
            if not m or "GFLOPS" not in e:
                continue
            if use and e.get("aggregate_name") != use:
                continue
            rate, t = float(e["GFLOPS"]), int(m.group(3))
            if rate > best.get(t, (0.0, ""))[0]:
                best[t] = (rate, f"{m.group(1)} {m.group(2)}")
    return best


def measure_sgemm(binaries: list[pathlib.Path], extra_env: dict) -> list[dict]:
    reports = []
    for b in binaries:
        cmd = [str(b), "--benchmark_filter=^sgemm/.*/sq(1024|2048)/", "--benchmark_format=json",
               "--benchmark_min_time=0.3", "--benchmark_repetitions=3",
               "--benchmark_report_aggregates_only=true"]  # aggregates include "max"
        print(f"# measuring the SGEMM ceiling: {shlex.join(cmd)}", file=sys.stderr)
        out = subprocess.run(cmd, capture_output=True, text=True, env=blas_env() | extra_env)
        if out.returncode != 0:
            print(f"# {b.name} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
            continue
        reports.append(json.loads(out.stdout))
    return reports


# ---- the runs -----------------------------------------------------------------------------------

def run_one(cmd: list[str], timeout: float, extra_env: dict) -> dict | None:
    print(f"# {shlex.join(cmd)}", file=sys.stderr, flush=True)
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=blas_env() | extra_env)
    except subprocess.TimeoutExpired:
        print(f"#   timed out after {timeout:.0f} s", file=sys.stderr)
        return None
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        print(f"#   exit {out.returncode}, no JSON last line\n{out.stdout[-1000:]}{out.stderr[-2000:]}",
              file=sys.stderr)
        return None
    print(f"#   {result.get('ms_per_step')} ms/step (min {result.get('ms_min')}, max "
          f"{result.get('ms_max')}), peak RSS {result.get('peak_rss_mb')} MB", file=sys.stderr, flush=True)
    return result


def fmt_ms(values: list[float]) -> str:
    if not values:
        return "–"
    med = statistics.median(values)
    if len(values) == 1:
        return f"{med:.1f}"
    return f"{med:.1f} ({min(values):.0f}–{max(values):.0f})"


def table(results, configs, threads, ceiling) -> str:
    rows = ["| config | threads | tsgan ms/step | PyTorch ms/step | tsgan / PyTorch | tsgan GFLOP/s | "
            "PyTorch GFLOP/s | tsgan % of SGEMM | PyTorch % of SGEMM | tsgan peak RSS | PyTorch peak RSS |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in configs:
        fl = flops.step_flops(c)
        for t in threads:
            cell = {}
            for fw in ("tsgan", "pytorch"):
                rs = results.get((fw, c, t), [])
                ms = [r["ms_per_step"] for r in rs]
                med = statistics.median(ms) if ms else None
                gf = fl / (med * 1e6) if med else None
                peak = ceiling.get(t, (0.0, ""))[0]
                cell[fw] = {
                    "ms": fmt_ms(ms), "med": med,
                    "gf": f"{gf:.1f}" if gf else "–",
                    "pct": f"{100 * gf / peak:.0f} %" if gf and peak else "–",
                    "rss": f"{max(r['peak_rss_mb'] for r in rs):.0f} MB" if rs else "–",
                }
            ratio = (f"{cell['tsgan']['med'] / cell['pytorch']['med']:.2f}"
                     if cell["tsgan"]["med"] and cell["pytorch"]["med"] else "–")
            rows.append(f"| {c} | {t} | {cell['tsgan']['ms']} | {cell['pytorch']['ms']} | {ratio} | "
                        f"{cell['tsgan']['gf']} | {cell['pytorch']['gf']} | {cell['tsgan']['pct']} | "
                        f"{cell['pytorch']['pct']} | {cell['tsgan']['rss']} | {cell['pytorch']['rss']} |")
    return "\n".join(rows)


def without_note(args: list[str]) -> list[str]:
    """The command line as recorded in the document: the note is printed there already."""
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--note":
            skip = True
        elif not arg.startswith("--note="):
            out.append(arg)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--configs", default="small,paper", help="comma-separated: small,paper")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each program per config and thread count")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per run")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tsgan", type=pathlib.Path, default=ROOT / "build/bench/tsgan-bench-pix2pix")
    ap.add_argument("--python", default="/usr/bin/python3", help="a Python with torch (Debian's)")
    ap.add_argument("--sgemm-json", type=pathlib.Path, nargs="*", default=[],
                    help="Google Benchmark JSON of tsgan-bench-gemm*; measured here when absent")
    ap.add_argument("--no-sgemm", action="store_true", help="leave out the %% of SGEMM columns")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="set for every run of both frameworks, e.g. OMP_WAIT_POLICY=passive")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    ap.add_argument("--write-doc", type=pathlib.Path, help=f"replace the {BEGIN} section of this file")
    ap.add_argument("--note", default="", help="a sentence put above the table in --write-doc")
    a = ap.parse_args(argv)

    extra_env = {}
    for item in a.env:
        key, sep, value = item.partition("=")
        if not sep:
            ap.error(f"--env takes KEY=VALUE, not {item!r}")
        extra_env[key] = value
    configs = [c for c in a.configs.split(",") if c]
    threads = [int(t) for t in a.threads.split(",") if t]
    for c in configs:
        if c not in flops.CONFIGS:
            ap.error(f"unknown config {c}")

    notes = []
    have_tsgan = a.tsgan.is_file() and os.access(a.tsgan, os.X_OK)
    if not have_tsgan:
        shown = os.path.relpath(a.tsgan, ROOT) if a.tsgan.resolve().is_relative_to(ROOT) else a.tsgan
        notes.append(f"tsgan-bench-pix2pix is not built ({shown}): PyTorch only.")
        print(f"# {notes[-1]}", file=sys.stderr)

    ceiling: dict[int, tuple[float, str]] = {}
    if not a.no_sgemm:
        if a.sgemm_json:
            reports = [json.loads(p.read_text()) for p in a.sgemm_json]
            source = "from " + ", ".join(str(p) for p in a.sgemm_json)
        else:
            bins = sorted(p for p in (ROOT / "build/bench").glob("tsgan-bench-gemm*")
                          if p.is_file() and os.access(p, os.X_OK))
            reports = measure_sgemm(bins, extra_env)
            source = "measured now (square sizes) with " + ", ".join(p.name for p in bins)
        ceiling = sgemm_best(reports)
        for t in threads:
            if t in ceiling:
                notes.append(f"SGEMM ceiling at {t} thread{'s' if t > 1 else ''}: "
                             f"{ceiling[t][0]:.1f} GFLOP/s ({ceiling[t][1]}), {source}.")
            else:
                notes.append(f"no SGEMM figure at {t} threads {source}.")

    load_before = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    results: dict[tuple[str, str, int], list[dict]] = {}
    pytorch = [a.python, str(HERE / "reference/pix2pix.py")]
    for r in range(a.rounds):
        for c in configs:
            for t in threads:
                common = ["--config", c, "--threads", str(t), "--steps", str(a.steps),
                          "--warmup", str(a.warmup), "--seed", str(a.seed)]
                order = [("tsgan", [str(a.tsgan)]), ("pytorch", pytorch)] if have_tsgan else [("pytorch", pytorch)]
                if r % 2:
                    order.reverse()
                for fw, prog in order:
                    res = run_one(prog + common, a.timeout, extra_env)
                    if res is not None and (res.get("framework"), res.get("config"), res.get("threads")) != (fw, c, t):
                        print(f"#   ignored: it reports {res.get('framework')}/{res.get('config')}/"
                              f"{res.get('threads')} threads, not {fw}/{c}/{t}", file=sys.stderr)
                        res = None
                    if res is not None:
                        results.setdefault((fw, c, t), []).append(res)
    load_after = os.getloadavg()

    tab = table(results, configs, threads, ceiling)
    flop_line = "; ".join(f"{c} {flops.step_flops(c) / 1e9:.2f}" for c in configs)
    notes.append(f"GFLOP per step (bench/flops.py): {flop_line}. ms/step: median over {a.rounds} "
                 f"round{'s' if a.rounds > 1 else ''} of each run's median of {a.steps} steps after "
                 f"{a.warmup} warm-up steps (in brackets: lowest and highest run).")
    notes.append(f"Environment: {' '.join(a.env) or 'as inherited'} (plus, on AVX-512 CPUs, OPENBLAS_CORETYPE="
                 f"SkylakeX and BLIS_ARCH_TYPE=0 unless set). Load average (1 min) {load_before[0]:.2f} before, "
                 f"{load_after[0]:.2f} after.")
    print(tab)
    for n in notes:
        print(f"\n{n}", end="")
    print()

    if a.write_doc:
        args = without_note(argv if argv is not None else sys.argv[1:])
        cmd = shlex.join(["/usr/bin/python3", "bench/run_pix2pix.py"] + args)
        versions = sorted({r.get("version", "") for rs in results.values() for r in rs} - {""})
        section = [
            BEGIN,
            f"Run {started:%Y-%m-%d %H:%M} UTC on {machine()}.",
            f"Command: `{cmd}`" + (f"; {', '.join(versions)}." if versions else "."),
            "",
        ]
        if a.note:
            section += [a.note, ""]
        section += [tab, ""] + [f"- {n}" for n in notes] + [END]
        doc = a.write_doc.read_text()
        if BEGIN not in doc or END not in doc:
            print(f"{a.write_doc}: no {BEGIN} ... {END} markers", file=sys.stderr)
            return 1
        head, rest = doc.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        a.write_doc.write_text(head + "\n".join(section) + tail)
        print(f"# wrote {a.write_doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
