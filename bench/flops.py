#!/usr/bin/env python3
"""Exact FLOP count of one training step of the pix2pix benchmark workload.

The workload is specified in the design note bench-workload.md; this module is its single
description in code. It lists every convolution of the U-Net generator and the PatchGAN
discriminator for a config, counts the FLOPs each one costs in one training step, and lists the
GEMMs that an im2col implementation of each convolution performs. bench/reference/pix2pix.py
builds its networks to match this list (and checks that it does), uses step_flops() for its
GFLOP/s, and the C++ program tsgan-bench-pix2pix must count exactly the same way.

FLOP convention (both frameworks are credited with the same number, whatever they really do):
  * Only convolutions are counted. One pass of a Conv2d costs
        F = 2 * N * Cout * Hout * Wout * Cin * k * k
    (a multiply and an add per weight tap per output element; taps that fall on the zero padding
    are counted, as an im2col GEMM computes them). A ConvTranspose2d is the adjoint of the Conv2d
    with the roles of input and output swapped, so it costs
        F = 2 * N * Cin * Hin * Win * Cout * k * k.
  * Backward of a layer = weight gradient (F) + input gradient (F). The input gradient is counted
    only where autograd needs it:
      - G's first conv reads the data x: no input gradient.
      - D's first conv in the D step reads x, the detached fake and the real image: no input
        gradient; in the G step it reads the fake, so it has one.
    The weight gradient is counted only where the weights train: D's weights receive no gradient
    in the G step (requires_grad is off for D there, as pix2pix does).
  * Per step: G forward once (the fake is reused by both steps); D forward three times (detached
    fake, real, fake again for G); D backward twice with weight gradients (D step) and once with
    input gradients only (G step); G backward once. In terms of per-pass costs:
        G layer:          1 forward, 1 weight grad, 1 input grad (0 for the first layer)
        D layer:          3 forward, 2 weight grads, 3 input grads (1 for the first layer)
  * Not counted: bias adds, batch norm (forward and backward), activations, concatenation, the
    losses, Adam, and the im2col/col2im copies. They are O(elements) where a conv is
    O(elements * Cin * k * k); they are memory-bound, so their share of the time can still be
    visible, and that is exactly what the achieved GFLOP/s shows.

Command line: `flops.py --config paper` prints the totals; `--table` adds the per-layer table,
`--gemm` the im2col GEMM shapes of every layer, `--json` machine-readable totals.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys


@dataclasses.dataclass(frozen=True)
class Config:
    name: str
    size: int   # H = W
    batch: int
    base: int   # width of the first level


CONFIGS = {
    "small": Config("small", size=64, batch=4, base=32),
    "paper": Config("paper", size=128, batch=6, base=64),
}

IN_CHANNELS = 4   # RGB + occlusion mask
OUT_CHANNELS = 3  # RGB


@dataclasses.dataclass(frozen=True)
class Conv:
    """One convolution with what follows it, in the order the network applies them."""
    net: str          # "G" or "D"
    name: str         # enc1.., dec{L}..dec1 in G; d1..d5 in D
    transposed: bool  # ConvTranspose2d
    cin: int
    cout: int
    k: int
    stride: int
    pad: int
    hin: int          # input height = width
    hout: int         # output height = width
    bias: bool        # a conv followed by batch norm has no bias (pix2pix does the same)
    bn: bool
    act: str          # "lrelu" (slope 0.2), "relu", "tanh" or "none"
    concat_skip: str  # name of the encoder level concatenated after the activation, or ""

    def forward_flops(self, batch: int) -> int:
        """One forward pass over a batch; the weight and input gradients cost the same."""
        spatial = self.hin * self.hin if self.transposed else self.hout * self.hout
        return 2 * batch * self.cin * self.cout * self.k * self.k * spatial

    def params(self) -> int:
        n = self.cin * self.cout * self.k * self.k + (self.cout if self.bias else 0)
        return n + (2 * self.cout if self.bn else 0)


def _out_size(h: int, k: int, s: int, p: int, transposed: bool) -> int:
    return (h - 1) * s - 2 * p + k if transposed else (h + 2 * p - k) // s + 1


def levels(cfg: Config) -> int:
    lv = int(math.log2(cfg.size))
    assert 2 ** lv == cfg.size, "the U-Net needs a power-of-two image size"
    return lv


def level_channels(cfg: Config) -> list[int]:
    """Channels of encoder levels 1..L: base, 2 base, 4 base, 8 base, 8 base, ..."""
    return [min(cfg.base * 2 ** i, 8 * cfg.base) for i in range(levels(cfg))]


def generator(cfg: Config) -> list[Conv]:
    """U-Net: L stride-2 convs down to 1x1, then L transposed convs back up with skips."""
    ch = level_channels(cfg)
    lv = len(ch)
    layers: list[Conv] = []
    cin, h = IN_CHANNELS, cfg.size
    for i in range(lv):  # encoder level i + 1: conv -> BN (not on the first) -> LeakyReLU
        ho = _out_size(h, 4, 2, 1, False)
        layers.append(Conv("G", f"enc{i + 1}", False, cin, ch[i], 4, 2, 1, h, ho,
                           bias=(i == 0), bn=(i > 0), act="lrelu", concat_skip=""))
        cin, h = ch[i], ho
    # Decoder level i + 1 (i = L-1 .. 1): convT -> BN -> ReLU -> cat with encoder level i.
    # The innermost one reads the 1x1 bottleneck, the others the previous concatenation.
    for i in range(lv - 1, 0, -1):
        ho = _out_size(h, 4, 2, 1, True)
        layers.append(Conv("G", f"dec{i + 1}", True, cin, ch[i - 1], 4, 2, 1, h, ho,
                           bias=False, bn=True, act="relu", concat_skip=f"enc{i}"))
        cin, h = 2 * ch[i - 1], ho
    ho = _out_size(h, 4, 2, 1, True)
    layers.append(Conv("G", "dec1", True, cin, OUT_CHANNELS, 4, 2, 1, h, ho,
                       bias=True, bn=False, act="tanh", concat_skip=""))
    assert ho == cfg.size
    return layers


def discriminator(cfg: Config) -> list[Conv]:
    """PatchGAN on cat(condition, image): three stride-2 convs, two stride-1 convs."""
    b = cfg.base
    plan = [  # name, cout, stride, bias, bn, act
        ("d1", b, 2, True, False, "lrelu"),
        ("d2", 2 * b, 2, False, True, "lrelu"),
        ("d3", 4 * b, 2, False, True, "lrelu"),
        ("d4", 8 * b, 1, False, True, "lrelu"),
        ("d5", 1, 1, True, False, "none"),
    ]
    layers: list[Conv] = []
    cin, h = IN_CHANNELS + OUT_CHANNELS, cfg.size
    for name, cout, s, bias, bn, act in plan:
        ho = _out_size(h, 4, s, 1, False)
        layers.append(Conv("D", name, False, cin, cout, 4, s, 1, h, ho, bias, bn, act, ""))
        cin, h = cout, ho
    return layers


def passes(layer: Conv) -> tuple[int, int, int]:
    """(forward, weight-gradient, input-gradient) passes of a layer in one training step."""
    first = layer.name in ("enc1", "d1")
    if layer.net == "G":
        return 1, 1, 0 if first else 1
    return 3, 2, 1 if first else 3


@dataclasses.dataclass
class Row:
    layer: Conv
    pass_flops: int  # one forward pass over the batch
    fwd: int
    wgrad: int
    igrad: int

    @property
    def step_flops(self) -> int:
        return self.pass_flops * (self.fwd + self.wgrad + self.igrad)


def rows(cfg: Config) -> list[Row]:
    out = []
    for layer in generator(cfg) + discriminator(cfg):
        out.append(Row(layer, layer.forward_flops(cfg.batch), *passes(layer)))
    return out


def step_flops(cfg: Config | str) -> int:
    """FLOPs of one training step (the number GFLOP/s figures are computed from)."""
    if isinstance(cfg, str):
        cfg = CONFIGS[cfg]
    return sum(r.step_flops for r in rows(cfg))


@dataclasses.dataclass(frozen=True)
class Gemm:
    layer: str
    role: str    # fwd, wgrad, igrad
    m: int
    n: int
    k: int
    trans_a: bool
    trans_b: bool
    count: int   # how many times per training step (per image GEMMs times the batch and passes)

    @property
    def flops(self) -> int:
        return 2 * self.m * self.n * self.k


def gemms(cfg: Config) -> list[Gemm]:
    """The per-image GEMMs of an im2col implementation, row-major C[M,N] = op(A) op(B).

    Conv2d, with cols = im2col(x) of shape [Cin k k, Hout Wout]:
      fwd   y[Cout, HoWo]       = W[Cout, Cin k k]       * cols
      wgrad dW[Cout, Cin k k]   = dy[Cout, HoWo]         * cols^T     (accumulated over images)
      igrad dcols[Cin k k, HoWo] = W^T                   * dy          then col2im
    ConvTranspose2d is the same with the roles swapped (W stored [Cin, Cout k k]):
      fwd   cols[Cout k k, HiWi] = W^T                   * x[Cin, HiWi]  then col2im
      wgrad dW[Cin, Cout k k]    = x[Cin, HiWi]          * dcols^T       (dcols = im2col(dy))
      igrad dx[Cin, HiWi]        = W[Cin, Cout k k]      * dcols
    """
    out = []
    for r in rows(cfg):
        c = r.layer
        kk = c.k * c.k
        n = cfg.batch
        if not c.transposed:
            hw = c.hout * c.hout
            shapes = [("fwd", c.cout, hw, c.cin * kk, False, False, r.fwd),
                      ("wgrad", c.cout, c.cin * kk, hw, False, True, r.wgrad),
                      ("igrad", c.cin * kk, hw, c.cout, True, False, r.igrad)]
        else:
            hw = c.hin * c.hin
            shapes = [("fwd", c.cout * kk, hw, c.cin, True, False, r.fwd),
                      ("wgrad", c.cin, c.cout * kk, hw, False, True, r.wgrad),
                      ("igrad", c.cin, hw, c.cout * kk, False, False, r.igrad)]
        for role, m, nn, k, ta, tb, p in shapes:
            if p:
                out.append(Gemm(f"{c.net}.{c.name}", role, m, nn, k, ta, tb, p * n))
    return out


def _shape(c: int, h: int) -> str:
    return f"{c}x{h}x{h}"


def print_table(cfg: Config, file=sys.stdout) -> None:
    total = step_flops(cfg)
    print("| layer | op | in (C×H×W) | out | params | GFLOP/pass | passes f/w/i | GFLOP/step | share |",
          file=file)
    print("|---|---|---|---|---|---|---|---|---|", file=file)
    for r in rows(cfg):
        c = r.layer
        op = ("convT" if c.transposed else "conv") + f" k{c.k}s{c.stride}p{c.pad}"
        op += (" +bias" if c.bias else "") + (" BN" if c.bn else "") + f" {c.act}"
        if c.concat_skip:
            op += f" cat {c.concat_skip}"
        print(f"| {c.net}.{c.name} | {op} | {_shape(c.cin, c.hin)} | {_shape(c.cout, c.hout)} | "
              f"{c.params()} | {r.pass_flops / 1e9:.3f} | {r.fwd}/{r.wgrad}/{r.igrad} | "
              f"{r.step_flops / 1e9:.3f} | {100 * r.step_flops / total:.1f} % |", file=file)


def print_gemms(cfg: Config, file=sys.stdout) -> None:
    total = step_flops(cfg)
    print("| layer | role | M | N | K | op(A), op(B) | per step | GFLOP/step | share |", file=file)
    print("|---|---|---|---|---|---|---|---|---|", file=file)
    for g in sorted(gemms(cfg), key=lambda g: -g.flops * g.count):
        ops = ("Aᵀ" if g.trans_a else "A") + ", " + ("Bᵀ" if g.trans_b else "B")
        print(f"| {g.layer} | {g.role} | {g.m} | {g.n} | {g.k} | {ops} | {g.count} | "
              f"{g.flops * g.count / 1e9:.3f} | {100 * g.flops * g.count / total:.1f} % |", file=file)


def summary(cfg: Config) -> dict:
    rs = rows(cfg)
    g = sum(r.step_flops for r in rs if r.layer.net == "G")
    d = sum(r.step_flops for r in rs if r.layer.net == "D")
    return {
        "config": cfg.name, "size": cfg.size, "batch": cfg.batch, "base": cfg.base,
        "gflop_per_step": (g + d) / 1e9, "gflop_G": g / 1e9, "gflop_D": d / 1e9,
        "params_G": sum(r.layer.params() for r in rs if r.layer.net == "G"),
        "params_D": sum(r.layer.params() for r in rs if r.layer.net == "D"),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", choices=sorted(CONFIGS), default="paper")
    ap.add_argument("--table", action="store_true", help="per-layer FLOP table (markdown)")
    ap.add_argument("--gemm", action="store_true", help="im2col GEMM shapes, largest first")
    ap.add_argument("--json", action="store_true", help="print the totals as one JSON object")
    a = ap.parse_args(argv)
    cfg = CONFIGS[a.config]
    s = summary(cfg)
    if a.json:
        print(json.dumps(s))
        return 0
    print(f"config {cfg.name}: {cfg.size}x{cfg.size}, batch {cfg.batch}, base {cfg.base}; "
          f"{s['gflop_per_step']:.3f} GFLOP per training step "
          f"(G {s['gflop_G']:.3f}, D {s['gflop_D']:.3f}); "
          f"parameters G {s['params_G']:,}, D {s['params_D']:,}")
    if a.table:
        print()
        print_table(cfg)
    if a.gemm:
        print()
        print_gemms(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
