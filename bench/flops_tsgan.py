#!/usr/bin/env python3
"""FLOPs of one TSGAN train_step, by phase and by kind of product, counted on the PyTorch twin.

bench/reference/tsgan.py runs the same step as tsgan (the CTest interop.tsgan proves it), so this
runs one of its train_steps with torch's convolution and matrix-product functions wrapped, and
credits every call with its FLOPs under bench/flops.py's convention: a Conv2d pass costs
2·N·Cout·Hout·Wout·Cin·k² (padding taps included), a ConvTranspose2d the Conv2d it transposes, a
batched product 2·b·n·m·k; a backward pass costs the same again for the input gradient where
autograd needs one (the input requires grad) and again for the weight (or second operand) gradient
where that one trains. Bias adds, batch norm, activations, losses, Adam and φ's final 256 × 128
product are not counted: they are O(elements). The table beside docs/performance.md's profile
("where the time goes") comes from

    /usr/bin/python3 bench/flops_tsgan.py --config paper

which prints, per phase (discriminator step, generator steps; forward, backward; φ or not) and
per kind (convolution forward, data gradient, weight gradient; batched products), GFLOP per step
and the share of the step, and as its last line one JSON object of the same. It counts the step
as the PyTorch twin takes it, φ of the real targets in every generator step (tsgan computes
those once per step since commit 096a0cc: 6.9 GFLOP less at Paper) and G_d and G_f run again
by the discriminator step (tsgan takes those from the first generator step's passes since
commit dcdaf8b: 41.1 GFLOP less at Paper, so tsgan's Paper step is 435.8 GFLOP).
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import pathlib
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "reference"))
import tsgan  # noqa: E402  (bench/reference/tsgan.py)


class Counter:
    def __init__(self, model):
        self.phase = "setup"
        self.phi = {id(p) for p in model.phi.parameters()}
        self.flops = collections.Counter()  # (phase, part, kind) -> FLOPs

    def add(self, flops, operand, weight):
        part = "φ" if id(weight) in self.phi else "networks"
        self.flops[(self.phase, part, "forward")] += flops
        if torch.is_grad_enabled():
            if operand.requires_grad:
                self.flops[(self.phase, part, "data gradient")] += flops
            if weight.requires_grad:
                self.flops[(self.phase, part, "weight gradient")] += flops


def instrument(counter):
    conv2d, conv_transpose2d, bmm, matmul = F.conv2d, F.conv_transpose2d, torch.bmm, torch.matmul

    def counted_conv2d(x, w, *args, **kwargs):
        y = conv2d(x, w, *args, **kwargs)
        counter.add(2 * y.numel() * w[0].numel(), x, w)
        return y

    def counted_conv_transpose2d(x, w, *args, **kwargs):
        counter.add(2 * x.numel() * w[0].numel(), x, w)
        return conv_transpose2d(x, w, *args, **kwargs)

    def product(fn, kind):
        def counted(a, b):
            y = fn(a, b)
            flops = 2 * y.numel() * a.shape[-1]
            phase = counter.phase
            counter.flops[(phase, kind, "forward")] += flops
            if torch.is_grad_enabled():
                # the chip map's resampling matrices are constants; both of the attention's operands need gradients
                for operand in (a, b):
                    if operand.requires_grad:
                        counter.flops[(phase, kind, "backward")] += flops
            return y
        return counted

    F.conv2d, F.conv_transpose2d = counted_conv2d, counted_conv_transpose2d
    torch.bmm = product(bmm, "attention products")
    torch.matmul = product(matmul, "φ's chip map")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", choices=sorted(tsgan.CONFIGS), default="paper")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    model = tsgan.TSGAN(tsgan.CONFIGS[args.config])
    model.initialise(torch.Generator().manual_seed(0))
    cfg = model.cfg
    B, S = cfg["batch"], cfg["image_size"]
    g = torch.Generator().manual_seed(2)
    profile, frontal = torch.rand(B, 3, S, S, generator=g), torch.rand(B, 3, S, S, generator=g)
    mask = torch.zeros(B, 1, S, S)
    mask[:, :, S // 4: S // 2, S // 4: 3 * S // 4] = 1
    ids = [i // 2 for i in range(B)]

    counter = Counter(model)
    instrument(counter)
    discriminator_step, generator_step = model.discriminator_step, model.generator_step

    def in_phase(name, fn):
        def run(*a, **k):
            counter.phase = name
            return fn(*a, **k)
        return run

    model.discriminator_step = in_phase("discriminator step", discriminator_step)
    model.generator_step = in_phase("generator steps", generator_step)
    model.train_step(profile, mask, frontal, ids)

    total = sum(counter.flops.values())
    by_kind, by_phase = collections.Counter(), collections.Counter()
    for (phase, part, kind), f in counter.flops.items():
        by_kind[f"convolution {kind}" if part in ("networks", "φ") else f"{part} ({kind})"] += f
        pass_ = "forward" if kind == "forward" else "backward"
        by_phase[f"{phase}: {pass_}{' (φ)' if part.startswith('φ') else ''}"] += f
    print(f"{args.config}: {total / 1e9:.1f} GFLOP per train_step")
    for title, table in (("by kind", by_kind), ("by phase", by_phase)):
        print(f"\n| {title} | GFLOP | share |\n|---|---|---|")
        for k, f in sorted(table.items(), key=lambda kv: -kv[1]):
            print(f"| {k} | {f / 1e9:.1f} | {100 * f / total:.1f} % |")
    print(json.dumps({"config": args.config, "gflop": round(total / 1e9, 2),
                      "by_kind": {k: round(v / 1e9, 3) for k, v in by_kind.items()},
                      "by_phase": {k: round(v / 1e9, 3) for k, v in by_phase.items()}}, ensure_ascii=False))
    assert math.isfinite(total) and total > 0


if __name__ == "__main__":
    main()
