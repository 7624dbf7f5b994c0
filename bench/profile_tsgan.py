#!/usr/bin/env python3
"""Where tsgan's TSGAN train_step spends its time: `perf record` of tsgan-bench-tsgan, by phase and by op.

Runs build/bench/tsgan-bench-tsgan under `perf record --call-graph dwarf` (or reads a perf.data
that such a run wrote), drops the samples of the model's construction, of the warm-up step and of
the exit, and sorts every other sample by the frames on its stack:

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
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
POWERS_OF_TWO = {1 << i for i in range(12)}


def record(args) -> pathlib.Path:
    binary = pathlib.Path(args.build) / "bench" / "tsgan-bench-tsgan"
    if not binary.exists():
        raise SystemExit(f"{binary} is not built: cmake --build {args.build} --target tsgan-bench-tsgan")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", OMP_WAIT_POLICY="passive")
    if " avx512f" in pathlib.Path("/proc/cpuinfo").read_text():
        env["OPENBLAS_CORETYPE"] = "SkylakeX"  # as run_tsgan.py, whatever the environment says
    data = pathlib.Path(args.data)
    subprocess.run(["perf", "record", "-q", "-F", str(args.frequency), "--call-graph", "dwarf,16384", "-o", str(data),
                    str(binary), "--config", args.config, "--threads", "1", "--steps", str(args.steps),
                    "--warmup", "1"], env=env, check=True)
    return data


def stacks(data: pathlib.Path):
    out = subprocess.run(["perf", "script", "-i", str(data), "-F", "ip,sym"], capture_output=True, text=True,
                         check=True).stdout
    for block in out.split("\n\n"):
        frames = [re.sub(r"^\s*[0-9a-f]+ ", "", line) for line in block.strip().split("\n") if line.strip()]
        if frames:
            yield frames


def timed_steps(all_stacks):
    """The samples of the steps after the first, which warms the caching allocator up."""
    step, in_discriminator = 0, False
    for frames in all_stacks:
        joined = "\n".join(frames)
        if "main" not in joined or "::initialise" in joined or "__run_exit_handlers" in joined:
            continue
        d = "discriminator_step" in joined
        if d and not in_discriminator:
            step += 1
        in_discriminator = d
        if step >= 2:
            yield frames, joined


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

    phases, families, families_total, leaves = (collections.Counter() for _ in range(4))
    total = 0
    for frames, joined in timed_steps(stacks(data)):
        phase, family = classify(frames, joined)
        total += 1
        phases[phase] += 1
        families[family] += 1
        families_total[family.split(":")[0]] += 1
        leaves[frames[0].split("(")[0][:100]] += 1
    if total == 0:
        raise SystemExit(f"{data}: no samples of a timed step (run at least --steps 1 after the warm-up)")
    print(f"{total} samples of the timed steps\n")
    print(table("phase", phases, total), end="\n\n")
    print(table("op family", families_total, total), end="\n\n")
    print(table("op family and part", families, total), end="\n\n")
    print(table("innermost function (top 15)", collections.Counter(dict(leaves.most_common(15))), total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
