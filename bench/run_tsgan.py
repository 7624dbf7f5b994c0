#!/usr/bin/env python3
"""Times TSGAN's training step in tsgan and in PyTorch, alternating, and prints the medians and ratios.

Each round runs build/bench/tsgan-bench-tsgan and bench/reference/tsgan.py once each (which goes
first alternates from round to round, so a change in the machine's load hits both alike), on the
same config, thread count and kind of batch; each prints its median ms per train_step (one
discriminator step, then two generator steps, or one for release) as the last line. It builds nothing: build the C++
side first with `cmake --build build --target tsgan-bench-tsgan`.

    /usr/bin/python3 bench/run_tsgan.py --config small --threads 1 --rounds 3

Both sides give φ random weights of the real recognizer's architecture (the work of a step does
not depend on the values) and use OMP_WAIT_POLICY=passive (spinning threads on a shared machine
slow the other side down) and, on AVX-512 CPUs, OPENBLAS_CORETYPE=SkylakeX (--openblas-coretype:
an inherited Haswell makes tsgan fall back to Eigen's slower product; PyTorch's convolutions are
oneDNN's either way). Both run with tcmalloc where it is installed (--malloc; Debian's
libtcmalloc-minimal4), as PyTorch's CPU tuning advice has it: PyTorch frees and allocates its
activations every step, and the C library's malloc hands blocks of 32 MB and more back to the
kernel, so each step faults them in again (about 250,000 page faults per Paper step), which on
some virtual machines costs PyTorch seconds per step. The per-round lines go to stderr; the last line on stdout is one JSON
object: config, threads, rounds, tsgan_ms and torch_ms (medians over the rounds of each run's
median), ratio (tsgan_ms / torch_ms), ratios (per round), tsgan_cpu_ms, torch_cpu_ms, cpu_ratio
and cpu_ratios (the same for each process's CPU time per step, all threads: on a shared machine
the steadier figure of a one-thread run), tsgan_faults and torch_faults (minor page faults per
step, medians), tsgan_rss_mb and torch_rss_mb (peak resident memory), malloc (the allocator both ran with),
cpu (lscpu's model name), load (the 1-minute load average before the first round; load_after,
after the last), openblas_coretype (as both sides ran), torch (its version).
"""
from __future__ import annotations

import argparse
import ctypes.util
import json
import os
import pathlib
import shlex
import statistics
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        return fields.get("Model name", "unknown").strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def environment(threads: int, coretype: str) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), OMP_WAIT_POLICY="passive")
    # OpenBLAS 0.3.21 (Debian 12) falls back to its AVX2 kernels on recent AVX-512 CPUs, and tsgan
    # then uses Eigen's product instead (kernels/cpu/gemm.hpp); an OPENBLAS_CORETYPE inherited from
    # the environment (the development machine's shell sets Haswell) would decide that silently.
    if coretype == "auto":
        if " avx512f" in pathlib.Path("/proc/cpuinfo").read_text():
            env["OPENBLAS_CORETYPE"] = "SkylakeX"
    elif coretype != "inherit":
        env["OPENBLAS_CORETYPE"] = coretype
    return env


def allocator(choice: str) -> str | None:
    """What to LD_PRELOAD into both sides: None for the C library's malloc."""
    if choice == "system":
        return None
    if choice != "auto":
        if not pathlib.Path(choice).exists():
            raise SystemExit(f"--malloc {choice}: no such file")
        return choice
    return ctypes.util.find_library("tcmalloc_minimal")


def run_one(cmd: list[str], env: dict, timeout: float) -> dict:
    print(f"# {shlex.join(cmd)}", file=sys.stderr, flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"{cmd[0]} failed (exit {out.returncode}):\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    result = json.loads(lines[-1])
    print(f"#   {result['ms_per_step']:.1f} ms/step (min {result['ms_min']:.1f}, max {result['ms_max']:.1f}), "
          f"{result['cpu_ms_per_step']:.1f} CPU ms/step, {result['faults_per_step']:.0f} page faults/step, "
          f"peak RSS {result['peak_rss_mb']:.0f} MB", file=sys.stderr, flush=True)
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", choices=["small", "paper", "release"], default="small")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=3, help="timed train_steps per run")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--build", default=str(ROOT / "build"), help="the build directory holding bench/tsgan-bench-tsgan")
    ap.add_argument("--python", default=sys.executable, help="a Python that imports torch")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--openblas-coretype", default="auto",
                    help="OPENBLAS_CORETYPE for both sides: auto (SkylakeX on AVX-512 CPUs, whatever the "
                         "environment says), inherit (the environment's), or a core name")
    ap.add_argument("--malloc", default="auto",
                    help="the allocator of both sides: auto (tcmalloc where installed, else the C library's), "
                         "system (the C library's), or the path of a malloc library to LD_PRELOAD")
    args = ap.parse_args(argv)

    binary = pathlib.Path(args.build) / "bench" / "tsgan-bench-tsgan"
    if not binary.exists():
        raise SystemExit(f"{binary} is not built: cmake --build {args.build} --target tsgan-bench-tsgan")
    common = ["--config", args.config, "--threads", str(args.threads), "--steps", str(args.steps),
              "--warmup", str(args.warmup)]
    commands = {"tsgan": [str(binary)] + common,
                "torch": [args.python, str(HERE / "reference" / "tsgan.py")] + common}
    env = environment(args.threads, args.openblas_coretype)
    malloc = allocator(args.malloc)
    if malloc:
        env["LD_PRELOAD"] = malloc
    load = os.getloadavg()[0]
    results = {"tsgan": [], "torch": []}
    for r in range(args.rounds):
        order = ["tsgan", "torch"] if r % 2 == 0 else ["torch", "tsgan"]
        for side in order:
            results[side].append(run_one(commands[side], env, args.timeout))
        ratio = results["tsgan"][-1]["ms_per_step"] / results["torch"][-1]["ms_per_step"]
        print(f"# round {r + 1}: tsgan / torch = {ratio:.3f}", file=sys.stderr, flush=True)

    def median(side, key):
        return statistics.median(x[key] for x in results[side])

    tsgan_ms, torch_ms = median("tsgan", "ms_per_step"), median("torch", "ms_per_step")
    tsgan_cpu, torch_cpu = median("tsgan", "cpu_ms_per_step"), median("torch", "cpu_ms_per_step")
    print(json.dumps({
        "config": args.config, "threads": args.threads, "rounds": args.rounds, "steps": args.steps,
        "tsgan_ms": round(tsgan_ms, 2), "torch_ms": round(torch_ms, 2), "ratio": round(tsgan_ms / torch_ms, 3),
        "ratios": [round(a["ms_per_step"] / b["ms_per_step"], 3) for a, b in zip(results["tsgan"], results["torch"])],
        "tsgan_cpu_ms": round(tsgan_cpu, 2), "torch_cpu_ms": round(torch_cpu, 2),
        "cpu_ratio": round(tsgan_cpu / torch_cpu, 3),
        "cpu_ratios": [round(a["cpu_ms_per_step"] / b["cpu_ms_per_step"], 3)
                       for a, b in zip(results["tsgan"], results["torch"])],
        "tsgan_faults": round(median("tsgan", "faults_per_step")),
        "torch_faults": round(median("torch", "faults_per_step")),
        "tsgan_rss_mb": max(x["peak_rss_mb"] for x in results["tsgan"]),
        "torch_rss_mb": max(x["peak_rss_mb"] for x in results["torch"]),
        "cpu": cpu_model(), "load": round(load, 2), "load_after": round(os.getloadavg()[0], 2),
        "openblas_coretype": env.get("OPENBLAS_CORETYPE"), "malloc": malloc or "system",
        "torch": results["torch"][0].get("version"),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
