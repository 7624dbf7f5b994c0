#!/usr/bin/env python3
"""The OpenBLAS products of TSGAN's training step, by shape: time, calls and GFLOP/s per step.

Runs build/bench/tsgan-bench-tsgan with build/bench/libtsgan-gemm-shapes.so preloaded (it times
every cblas_sgemm call; bench/gemm_shapes.cpp), keeps the calls the benchmark made between its
timed_from_s and timed_to_s (so the warm-up step, whose first touches of fresh memory make the
large outputs look slow, is left out) and prints a markdown table of the shapes, the costliest
first, with the totals. Builds nothing:

    cmake --build build --target tsgan-bench-tsgan tsgan-gemm-shapes
    /usr/bin/python3 bench/gemm_shapes.py --config paper --threads 1 [--steps 2] [--top 30]

A call's time is its own wall-clock time. With several threads, products that run side by side
(one image per thread, kernels/cpu/conv.hpp) each count their full time, so the table then adds up
thread time for those and wall time for the products that use every thread.

The environment is the one bench/run_tsgan.py gives tsgan (its `environment`): the thread counts,
OMP_WAIT_POLICY=passive, OPENBLAS_CORETYPE=SkylakeX on AVX-512 CPUs.
"""
from __future__ import annotations

import argparse
import collections
import json
import pathlib
import subprocess
import sys
import tempfile

from run_tsgan import environment

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", choices=["small", "paper", "release"], default="paper")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=2, help="timed steps after the warm-up step")
    ap.add_argument("--top", type=int, default=30, help="shapes to list")
    ap.add_argument("--build", default=str(ROOT / "build"))
    args = ap.parse_args(argv)

    bench = pathlib.Path(args.build) / "bench" / "tsgan-bench-tsgan"
    shim = pathlib.Path(args.build) / "bench" / "libtsgan-gemm-shapes.so"
    for path, target in ((bench, "tsgan-bench-tsgan"), (shim, "tsgan-gemm-shapes")):
        if not path.exists():
            raise SystemExit(f"{path} is not built: cmake --build {args.build} --target {target}")
    env = environment(args.threads, "auto")
    env["LD_PRELOAD"] = str(shim)
    with tempfile.TemporaryDirectory() as tmp:
        env["TSGAN_GEMM_SHAPES_OUT"] = str(pathlib.Path(tmp) / "calls.tsv")
        out = subprocess.run([str(bench), "--config", args.config, "--threads", str(args.threads), "--steps",
                              str(args.steps), "--warmup", "1"], env=env, check=True, capture_output=True,
                             text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        lines = pathlib.Path(env["TSGAN_GEMM_SHAPES_OUT"]).read_text().splitlines()
    start, end = result["timed_from_s"], result["timed_to_s"]

    ms, calls = collections.Counter(), collections.Counter()
    for line in lines:
        t, trans, m, n, k, lda, ldb, ldc, beta_zero, ns = line.split("\t")
        if not start <= float(t) <= end:
            continue
        key = (trans, int(m), int(n), int(k), f"{lda},{ldb},{ldc}", beta_zero == "1")
        ms[key] += int(ns) * 1e-6 / args.steps
        calls[key] += 1 / args.steps
    if not ms:
        raise SystemExit("no cblas_sgemm call in the timed steps (is tsgan linked to OpenBLAS?)")
    flops = {key: 2.0 * key[1] * key[2] * key[3] * calls[key] for key in ms}
    total_ms, total_gflop = sum(ms.values()), sum(flops.values()) * 1e-9

    print(f"tsgan-bench-tsgan --config {args.config} --threads {args.threads}: {result['ms_per_step']:.0f} ms per "
          f"step; OpenBLAS calls {total_ms:.0f} ms per step ({100 * total_ms / result['ms_per_step']:.1f} %), "
          f"{total_gflop:.1f} GFLOP, {total_gflop / total_ms * 1e3:.0f} GFLOP/s\n")
    print("| op | M × N × K | lda, ldb, ldc | β | calls/step | ms/step | share | cumulative | GFLOP/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    running = 0.0
    for key, t in sorted(ms.items(), key=lambda kv: -kv[1])[:args.top]:
        trans, m, n, k, lds, beta_zero = key
        running += t
        print(f"| {trans} | {m} × {n} × {k} | {lds} | {0 if beta_zero else 1} | {calls[key]:.0f} | {t:.1f} | "
              f"{100 * t / total_ms:.1f} % | {100 * running / total_ms:.1f} % | {flops[key] / t * 1e-6:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
