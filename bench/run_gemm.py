#!/usr/bin/env python3
"""Runs the SGEMM benchmarks (tsgan-bench-gemm*) and tabulates GFLOP/s per shape and backend.

    /usr/bin/python3 bench/run_gemm.py                                # run, save JSON, print
    /usr/bin/python3 bench/run_gemm.py --write-doc docs/performance.md
    /usr/bin/python3 bench/run_gemm.py --from-json                    # tabulate saved results

Each built binary runs once per round, the binaries alternating, and the table shows the fastest
round (other jobs on a shared machine only ever slow a run down; --stat median for the median).
Eigen is measured in tsgan-bench-gemm only. The BLAS libraries get their AVX-512 kernels on
AVX-512 CPUs (see run_pix2pix.blas_env); one extra short run without that shows what each picks
by default. The JSON goes to build/results/; build/results/sgemm.json (best and median round of
every benchmark) is what run_pix2pix.py --sgemm-json reads.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import re
import shlex
import statistics
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from run_pix2pix import blas_env, machine, without_note  # noqa: E402

BEGIN, END = "<!-- sgemm:begin -->", "<!-- sgemm:end -->"
BINARIES = ["tsgan-bench-gemm", "tsgan-bench-gemm-openblas-omp", "tsgan-bench-gemm-blis"]
NAME = re.compile(r"(sgemm|conv)/([^/]+)/([^/]+)/threads:(\d+)")
BACKEND_ORDER = ["eigen", "openblas", "openblas-omp", "blis"]


def run(build: pathlib.Path, out: pathlib.Path, rounds: int, min_time: float, extra_env: dict,
        filter_: str) -> list[str]:
    """Runs each built binary once per round, rotating their order, so slow phases of a shared
    machine are spread over all of them; returns the binaries that ran."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("tsgan-bench-gemm*.json"):
        old.unlink()
    names = [n for n in BINARIES if (build / "bench" / n).is_file()]
    for n in set(BINARIES) - set(names):
        print(f"# {n} not built, skipped", file=sys.stderr)
    env = blas_env() | extra_env
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            # Eigen once, from the first binary (a --filter cannot be combined with the exclusion,
            # so then the others run it too and load() drops it).
            flt = ([f"--benchmark_filter={filter_}"] if filter_ else
                   [] if name == BINARIES[0] else ["--benchmark_filter=-/eigen/"])
            cmd = [str(build / "bench" / name), f"--benchmark_min_time={min_time}", "--benchmark_out_format=json",
                   f"--benchmark_out={out / f'{name}.round{r}.json'}"] + flt
            print(f"# round {r + 1}/{rounds}: {shlex.join(cmd)}", file=sys.stderr, flush=True)
            subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    # What each library chooses on its own (the kernels its CPU detection picks).
    default_env = {k: v for k, v in env.items() if k not in ("OPENBLAS_CORETYPE", "BLIS_ARCH_TYPE")}
    for name in names:
        cmd = [str(build / "bench" / name), "--benchmark_filter=^sgemm/[^e].*/sq1024/threads:1",
               "--benchmark_min_time=0.2", f"--benchmark_out={out / f'{name}.default.json'}",
               "--benchmark_out_format=json"]
        subprocess.run(cmd, check=True, env=default_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return names


def load(out: pathlib.Path):
    """{(kind, backend, label, threads): [GFLOPS of each round]} by wall-clock time and, for one
    thread, by the process's CPU time; contexts; default-kernel lines."""
    rates, cpu_rates, contexts, defaults = {}, {}, {}, []
    for name in BINARIES:
        for p in sorted(out.glob(f"{name}.round*.json")):
            rep = json.loads(p.read_text())
            contexts.setdefault(name, rep.get("context", {}))  # round 0: when it started
            for e in rep["benchmarks"]:
                m = NAME.match(e.get("run_name", e["name"]))
                if (m and "GFLOPS" in e and e.get("run_type", "iteration") == "iteration"
                        and (m.group(2) != "eigen" or name == BINARIES[0])):
                    key = (m.group(1), m.group(2), m.group(3), int(m.group(4)))
                    rates.setdefault(key, []).append(float(e["GFLOPS"]))
                    if key[3] == 1 and e.get("cpu_time"):
                        cpu_rates.setdefault(key, []).append(float(e["GFLOPS"]) * e["real_time"] / e["cpu_time"])
        d = out / f"{name}.default.json"
        if d.is_file():
            rep = json.loads(d.read_text())
            for e in rep["benchmarks"]:
                m = NAME.match(e.get("run_name", e["name"]))
                if m and m.group(2) != "eigen":
                    defaults.append(f"{rep['context'].get('gemm_blas', name)}: {float(e['GFLOPS']):.0f} GFLOP/s "
                                    f"on sq1024 at 1 thread")
    return rates, cpu_rates, contexts, defaults


def write_combined(rates, contexts, path: pathlib.Path) -> None:
    """One Google-Benchmark-shaped file with the best and the median round of every benchmark,
    for run_pix2pix.py --sgemm-json."""
    entries = []
    for (kind, b, label, t), vals in rates.items():
        name = f"{kind}/{b}/{label}/threads:{t}"
        for agg, v in (("max", max(vals)), ("median", statistics.median(vals))):
            entries.append({"name": f"{name}_{agg}", "run_name": name, "run_type": "aggregate",
                            "aggregate_name": agg, "GFLOPS": v, "rounds": len(vals)})
    path.write_text(json.dumps({"context": contexts, "benchmarks": entries}, indent=1))


def shapes_from(rates, kind):
    seen = []
    for (k, _, label, _) in rates:
        if k == kind and label not in seen:
            seen.append(label)
    return seen


def table(rates, kind: str, dims: dict[str, str], stat) -> str:
    backends = [b for b in BACKEND_ORDER if any(k[0] == kind and k[1] == b for k in rates)]
    threads = sorted({k[3] for k in rates if k[0] == kind})
    cols = [(b, t) for t in threads for b in backends]
    head = "| shape | M × N × K | " + " | ".join(f"{b} {t}T" for b, t in cols) + " |"
    rows = [head, "|---|---|" + "---|" * len(cols)]
    for label in shapes_from(rates, kind):
        cells = []
        for t in threads:
            vals = {b: stat(rates[(kind, b, label, t)]) if (kind, b, label, t) in rates else None
                    for b in backends}
            best = max((v for v in vals.values() if v), default=None)
            for b in backends:
                v = vals[b]
                cells.append("–" if v is None else (f"**{v:.0f}**" if v == best else f"{v:.0f}"))
        rows.append(f"| {label} | {dims.get(label, '')} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def dims_from_source() -> dict[str, str]:
    """M × N × K and op() of each label, read from bench_gemm.cpp's shape list."""
    src = (HERE / "bench_gemm.cpp").read_text()
    out = {}
    for m in re.finditer(r'\{"([^"]+)", (\d+), (\d+), (\d+), (true|false), (true|false)\}', src):
        ops = ("Aᵀ" if m.group(5) == "true" else "") + ("Bᵀ" if m.group(6) == "true" else "")
        out[m.group(1)] = f"{m.group(2)} × {m.group(3)} × {m.group(4)}" + (f" ({ops})" if ops else "")
    return out


def summary(rates, stat) -> list[str]:
    lines = []
    for t in sorted({k[3] for k in rates}):
        per = {}
        for (kind, b, label, tt), v in rates.items():
            if kind == "sgemm" and tt == t:
                per.setdefault(b, []).append(stat(v))
        best = max(((stat(v), b, label) for (kind, b, label, tt), v in rates.items()
                    if kind == "sgemm" and tt == t), default=None)
        if best:
            means = ", ".join(f"{b} {statistics.geometric_mean(per[b]):.0f}" for b in BACKEND_ORDER if b in per)
            lines.append(f"{t} thread{'s' if t > 1 else ''}: best {best[0]:.0f} GFLOP/s ({best[1]}, {best[2]}); "
                         f"geometric mean over all shapes: {means}.")
    return lines


def parse_env(items: list[str]) -> dict:
    env = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--env takes KEY=VALUE, not {item!r}")
        env[key] = value
    return env


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", type=pathlib.Path, default=ROOT / "build")
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / "build/results")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each binary, alternating")
    ap.add_argument("--min-time", type=float, default=0.3, help="seconds per benchmark and round")
    ap.add_argument("--stat", choices=["best", "median"], default="best",
                    help="which round to report: the fastest (default; load only slows) or the median")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="set for every run, e.g. OMP_WAIT_POLICY=passive")
    ap.add_argument("--filter", default="", help="only benchmarks matching this regex (Google Benchmark's)")
    ap.add_argument("--from-json", action="store_true", help="do not run; tabulate the JSON in --out")
    ap.add_argument("--write-doc", type=pathlib.Path, help=f"replace the {BEGIN} section of this file")
    ap.add_argument("--note", default="", help="a sentence put above the tables in --write-doc")
    a = ap.parse_args(argv)
    stat = max if a.stat == "best" else statistics.median

    load_before = os.getloadavg()
    if not a.from_json:
        run(a.build, a.out, a.rounds, a.min_time, parse_env(a.env), a.filter)
    load_after = os.getloadavg()
    rates, cpu_rates, contexts, defaults = load(a.out)
    if not rates:
        print(f"no results in {a.out}", file=sys.stderr)
        return 1
    write_combined(rates, contexts, a.out / "sgemm.json")
    rounds = max(len(v) for v in rates.values())
    dims = dims_from_source()
    which = "fastest" if a.stat == "best" else "median"
    parts = [f"GFLOP/s, {which} of {rounds} round{'s' if rounds > 1 else ''} (binaries alternating); "
             "the best of each thread count in bold.", "",
             table(rates, "sgemm", dims, stat), ""]
    if any(k[0] == "conv" for k in rates):
        parts += ["The same GEMMs between two OpenMP-parallel passes (an im2col-sized copy before, bias + "
                  "LeakyReLU after), as in a convolution layer; GFLOP/s counts the GEMM only:", "",
                  table(rates, "conv", dims, stat), ""]
    if cpu_rates:
        parts += ["One thread, GFLOP per second of the process's CPU time: what the thread computes while "
                  "it runs. Other jobs on the machine take turns on the core but hardly change this "
                  "figure, so on a loaded machine it is the better estimate of the quiet rate (at 2 threads "
                  "CPU time includes spin-waiting and says nothing):", "",
                  table(cpu_rates, "sgemm", dims, stat), ""]
    notes = summary(rates, stat) + [f"Per CPU second, {line}" for line in summary(cpu_rates, stat)]
    notes += [f"{name}: {ctx.get('gemm_blas', '')}" for name, ctx in contexts.items()]
    if BINARIES[0] in contexts:
        notes.append(f"Eigen {contexts[BINARIES[0]].get('eigen', '')}")
    notes += [f"Default kernel choice (no OPENBLAS_CORETYPE / BLIS_ARCH_TYPE): {d}" for d in defaults]
    if not a.from_json:
        extra = " ".join(a.env)
        notes.append(f"Environment: {extra or 'nothing beyond the BLAS kernel choice'}. Load average (1 min) "
                     f"{load_before[0]:.2f} before, {load_after[0]:.2f} after.")
    text = "\n".join(parts) + "\n" + "\n".join(f"- {n}" for n in notes)
    print(text)

    if a.write_doc:
        args = without_note(argv if argv is not None else sys.argv[1:])
        cmd = shlex.join(["/usr/bin/python3", "bench/run_gemm.py"] + args)
        # When the benchmarks ran (their own context), not when the table was written.
        dates = sorted(c["date"] for c in contexts.values() if c.get("date"))
        stamp = (datetime.datetime.fromisoformat(dates[0]) if dates else datetime.datetime.now(datetime.timezone.utc))
        stamp = stamp.astimezone(datetime.timezone.utc)
        section = [BEGIN, f"Run {stamp:%Y-%m-%d %H:%M} UTC on {machine()}. Command: `{cmd}`.", ""]
        if a.note:
            section += [a.note, ""]
        section += [text, END]
        doc = a.write_doc.read_text()
        if BEGIN not in doc or END not in doc:
            print(f"{a.write_doc}: no {BEGIN} ... {END} markers", file=sys.stderr)
            return 1
        head, rest = doc.split(BEGIN, 1)
        a.write_doc.write_text(head + "\n".join(section) + rest.split(END, 1)[1])
        print(f"# wrote {a.write_doc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
