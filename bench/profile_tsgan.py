#!/usr/bin/env python3
"""Where tsgan's TSGAN train_step spends its time: `perf record` of tsgan-bench-tsgan, by phase and by op.

Runs build/bench/tsgan-bench-tsgan under `perf record --call-graph dwarf -k CLOCK_MONOTONIC` (or
reads a perf.data that such a run wrote, with the benchmark's JSON line beside it), keeps the
samples between the benchmark's timed_from_s and timed_to_s (dropping the model's construction, the
warm-up step and the exit), and sorts them by the frames on their stacks:

  - phase: the discriminator step or the generator steps (a step starts with its discriminator
    step); forward, backward (a graph node's backward on the stack) or Adam; φ where the sample
    is in the face recognizer's forward, or in the backward of a node whose planes are not a power
    of two wide (φ's 150-pixel chip and what follows it; every other network's planes are);
  - op family: convolution forward, data gradient and weight gradient (a transposed convolution's
    forward is a convolution's data gradient and the other way round, so the pass decides, not the
    kernel), each split into the GEMM (OpenBLAS, its packing included) and the unfolding (im2col,
    col2im, the batch reshuffles, bias); the other GEMMs (mask attention's batched products, φ's
    chip map); Adam; batch norm; pooling; fused elementwise expressions; allocation.

    /usr/bin/python3 bench/profile_tsgan.py --config paper --steps 2 [--build build] [--data perf.data]

It prints two markdown tables (shares of the samples of the timed steps) and the innermost
functions, and builds nothing. bench/flops_tsgan.py gives the FLOP shares to set beside them.
"""
from __future__ import annotations

import argparse
import collections
import json
import pathlib
import re
import subprocess
import sys

from run_tsgan import environment

ROOT = pathlib.Path(__file__).resolve().parent.parent
POWERS_OF_TWO = {1 << i for i in range(12)}


def record(args) -> pathlib.Path:
    binary = pathlib.Path(args.build) / "bench" / "tsgan-bench-tsgan"
    if not binary.exists():
        raise SystemExit(f"{binary} is not built: cmake --build {args.build} --target tsgan-bench-tsgan")
    env = environment(1, "auto")  # run_tsgan.py's, at one thread
    data = pathlib.Path(args.data)
    run = subprocess.run(["perf", "record", "-q", "-k", "CLOCK_MONOTONIC", "-F", str(args.frequency), "--call-graph",
                          "dwarf,16384", "-o", str(data), str(binary), "--config", args.config, "--threads", "1",
                          "--steps", str(args.steps), "--warmup", "1"], env=env, check=True, stdout=subprocess.PIPE,
                         text=True)
    line = run.stdout.strip().splitlines()[-1]
    print(line)
    json_path(data).write_text(line + "\n")
    return data


def json_path(data: pathlib.Path) -> pathlib.Path:
    return data.with_name(data.name + ".json")


def stacks(data: pathlib.Path):
    """(time in seconds, frames innermost first) of every sample."""
    out = subprocess.run(["perf", "script", "-i", str(data), "-F", "time,ip,sym"], capture_output=True, text=True,
                         check=True).stdout
    for block in out.split("\n\n"):
        lines = [line for line in block.strip().split("\n") if line.strip()]
        if len(lines) < 2:
            continue
        stamp = re.search(r"(\d+\.\d+):", lines[0])
        frames = [re.sub(r"^\s*[0-9a-f]+ ", "", line) for line in lines[1:]]
        if stamp:
            yield float(stamp.group(1)), frames


def timed_steps(all_stacks, window):
    """The samples of the timed steps: those the benchmark took between timed_from_s and timed_to_s."""
    start, end = window
    for time, frames in all_stacks:
        if start <= time <= end:
            yield frames, "\n".join(frames)


def in_phi_backward(frames) -> bool:
    for f in frames:
        if "Node<" in f and "::backward" in f:
            m = re.search(r"Shape<\d+l, \d+l, (\d+)l, \d+l>", f)
            if m:
                return int(m.group(1)) not in POWERS_OF_TWO
    return False


def classify(frames, joined):
    adam = "Adam<float, tsgan::cpu>::step" in joined or "OptimKernels" in joined
    backward = any(("Node<" in f and "::backward" in f) or "Shape<>, tsgan::cpu>::backward" in f for f in frames)
    phi = "FaceRecognizer" in joined or (backward and in_phi_backward(frames))
    phase = "discriminator step" if "discriminator_step" in joined else "generator steps"
    phase += ": Adam" if adam else (": backward" if backward else ": forward")
    phase += " (φ)" if phi and not adam else ""

    # OpenBLAS's frames, or Eigen's product where tsgan falls back to it (kernels/cpu/gemm.hpp)
    gemm = any(k in joined for k in ("kernels::gemm<", "cblas_sgemm", "sgemm_", "Eigen::internal::gebp",
                                     "general_matrix_matrix_product"))
    if "col2im" in joined:
        unfold = "col2im"
    elif "im2col" in joined:
        unfold = "im2col"
    else:
        unfold = "batch reshuffles, bias"
    part = "GEMM" if gemm else unfold
    conv = "ConvKernels<tsgan::cpu>::forward" in joined or "backward_data" in joined
    if "backward_weight" in joined:
        family = f"convolution weight gradient: {part}"
    elif conv and backward:
        family = f"convolution data gradient: {part}"
    elif conv:
        family = f"convolution forward: {part}"
    elif gemm:
        family = "other GEMMs (attention's batched products, φ's chip map)"
    elif adam:
        family = "Adam"
    elif "NormKernels" in joined:
        family = "batch norm"
    elif "PoolKernels" in joined:
        family = "pooling"
    elif re.search(r"page_fault|malloc|_int_free|munmap|CachingAllocator", joined):
        family = "allocation"
    elif re.search(r"tsgan::assign|FusedNode|expr::|UnaryNode|BinaryNode|Var<.*>::Var<tsgan::expr", joined):
        family = "elementwise expressions, layout copies"
    else:
        family = "other"
    return phase, family


def table(title, counter, total):
    lines = [f"| {title} | share of the samples |", "|---|---|"]
    lines += [f"| {k} | {100 * v / total:.1f} % |" for k, v in sorted(counter.items(), key=lambda kv: -kv[1])]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", choices=["small", "paper", "release"], default="paper")
    ap.add_argument("--steps", type=int, default=2, help="timed steps after the warm-up step")
    ap.add_argument("--frequency", type=int, default=250, help="samples per second")
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--data", default="perf-tsgan.data", help="perf.data to write, or with --no-record to read")
    ap.add_argument("--no-record", action="store_true", help="only read --data")
    args = ap.parse_args(argv)
    data = pathlib.Path(args.data) if args.no_record else record(args)
    if not json_path(data).exists():
        raise SystemExit(f"{json_path(data)}: missing (the benchmark's JSON line, which a recording run writes)")
    result = json.loads(json_path(data).read_text())
    if "timed_from_s" not in result:
        raise SystemExit(f"{json_path(data)}: no timed_from_s (a tsgan-bench-tsgan older than this script)")
    window = (result["timed_from_s"], result["timed_to_s"])

    phases, families, families_total, leaves = (collections.Counter() for _ in range(4))
    total = 0
    for frames, joined in timed_steps(stacks(data), window):
        phase, family = classify(frames, joined)
        total += 1
        phases[phase] += 1
        families[family] += 1
        families_total[family.split(":")[0]] += 1
        leaves[frames[0].split("(")[0][:100]] += 1
    if total == 0:
        raise SystemExit(f"{data}: no samples between {window[0]:.3f} and {window[1]:.3f} s: was it recorded with "
                         "-k CLOCK_MONOTONIC?")
    print(f"{total} samples of the timed steps\n")
    print(table("phase", phases, total), end="\n\n")
    print(table("op family", families_total, total), end="\n\n")
    print(table("op family and part", families, total), end="\n\n")
    print(table("innermost function (top 15)", collections.Counter(dict(leaves.most_common(15))), total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
