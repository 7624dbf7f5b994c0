#!/usr/bin/env python3
"""The pix2pix benchmark workload in PyTorch: the reference tsgan-bench-pix2pix is compared with.

One training step exactly as bench-workload.md specifies it: a U-Net generator and a PatchGAN
discriminator (layer list: bench/flops.py, which this script checks its networks against), the D
step on the detached fake and the real image, then the G step with BCE + 100 L1, Adam(1e-4,
betas (0.5, 0.999)) on each, batch norm in training mode, float32.

    /usr/bin/python3 bench/reference/pix2pix.py --config small --threads 2 --steps 10
    python3 bench/reference/pix2pix.py --config paper --device cuda --batch 64 --tf32 1

The last line printed is one JSON object; a C++ program that prints the same keys (with
"framework": "tsgan") can be compared by bench/run_pix2pix.py:
    framework, config, threads, ms_per_step (median), ms_min, ms_max, gflops (bench/flops.py's
    FLOPs per step / median time), peak_rss_mb (getrusage maxrss), steps.
Extra keys, for the record only: cpu_ms_per_step (median process CPU time of a step, all threads:
on a machine shared with other jobs the steadier figure at one thread), warmup, seed, gflop_per_step, base_rss_mb (resident memory
before the networks exist: interpreter and libraries), loss_d, loss_g (of the last step),
version, blas_core, blas_threads.
With --device cuda (the GPU check, next to tsgan-bench-pix2pix-gpu): device (the GPU's name), mode
("eager"), batch, tf32, cudnn_benchmark, peak_device_mb (torch.cuda.max_memory_allocated) and
reserved_device_mb (max_memory_reserved). --batch overrides the config's batch (FLOPs follow it);
--tf32 sets both torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32, as
tsgan's one switch does.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import flops  # noqa: E402  (bench/flops.py)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", choices=sorted(flops.CONFIGS), default="small")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10, help="timed steps (the spec asks for >= 10)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--blas-threads", type=int, default=None,
                    help="OpenBLAS's own thread count (default: --threads); an experiment knob")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--batch", type=int, default=None, help="batch size (default: the config's)")
    ap.add_argument("--tf32", type=int, choices=[0, 1], default=1,
                    help="CUDA only: allow TF32 in cuDNN convolutions and cuBLAS products")
    return ap.parse_args(argv)


ARGS = parse_args()
# Thread pools are sized when the libraries load, so the environment comes before `import torch`.
# PyTorch's own pool follows torch.set_num_threads, but Debian's build calls a generic BLAS
# (OpenBLAS through libblas.so.3) that sizes its pool from OPENBLAS_NUM_THREADS; without it a
# "1 thread" run could use both cores inside the BLAS.
BLAS_THREADS = ARGS.blas_threads or ARGS.threads
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
os.environ["OPENBLAS_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(BLAS_THREADS)
# OpenBLAS 0.3.21 (Debian 12) does not know recent Xeons (e.g. family 6 model 207) and falls back
# to its SSE3 "Prescott" kernels, 7x slower than its AVX-512 ones. On a CPU with AVX-512 the
# reference gets the SkylakeX kernels unless the caller chose a core type.
if "OPENBLAS_CORETYPE" not in os.environ:
    try:
        if " avx512f" in pathlib.Path("/proc/cpuinfo").read_text():
            os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
    except OSError:
        pass

import dataclasses  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def blas_core() -> str:
    """The kernel set the process's OpenBLAS chose, or "" when there is none."""
    import ctypes
    try:
        lib = ctypes.CDLL("libopenblas.so.0", mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return "openblas " + lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return ""


# ---- the networks -------------------------------------------------------------------------------
# Written out level by level so that the C++ version can follow it line by line. Names match
# flops.py (enc1.., dec{L}..dec1, d1..d5); check_against_flops() holds the two together.

def conv(cin, cout, stride, bias):
    return nn.Conv2d(cin, cout, kernel_size=4, stride=stride, padding=1, bias=bias)


def convT(cin, cout, bias):
    return nn.ConvTranspose2d(cin, cout, kernel_size=4, stride=2, padding=1, bias=bias)


class UNetGenerator(nn.Module):
    """Encoder: conv(4,2,1) -> BN (not on enc1) -> LeakyReLU(0.2), down to 1x1.
    Decoder: convT(4,2,1) -> BN -> ReLU -> cat(encoder level of the same size); dec1 -> tanh.
    A conv followed by batch norm has no bias (its bias would be cancelled by the mean)."""

    def __init__(self, cfg: flops.Config):
        super().__init__()
        ch = flops.level_channels(cfg)  # base, 2 base, 4 base, 8 base, 8 base, ...
        lv = len(ch)                    # log2(H) levels: 6 for small, 7 for paper
        self.levels = lv
        self.enc = nn.ModuleDict()
        cin = flops.IN_CHANNELS
        for i in range(1, lv + 1):
            layers = [conv(cin, ch[i - 1], stride=2, bias=(i == 1))]
            if i > 1:
                layers.append(nn.BatchNorm2d(ch[i - 1]))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            self.enc[f"enc{i}"] = nn.Sequential(*layers)
            cin = ch[i - 1]
        self.dec = nn.ModuleDict()
        for i in range(lv, 1, -1):  # dec{L} reads the bottleneck, the others a concatenation
            cin = ch[lv - 1] if i == lv else 2 * ch[i - 1]
            self.dec[f"dec{i}"] = nn.Sequential(convT(cin, ch[i - 2], bias=False),
                                                nn.BatchNorm2d(ch[i - 2]), nn.ReLU(inplace=True))
        self.dec["dec1"] = convT(2 * ch[0], flops.OUT_CHANNELS, bias=True)

    def forward(self, x):
        skips = []
        for i in range(1, self.levels + 1):
            x = self.enc[f"enc{i}"](x)
            skips.append(x)
        x = skips.pop()                       # the 1x1 bottleneck, enc{L}
        for i in range(self.levels, 1, -1):
            x = self.dec[f"dec{i}"](x)
            x = torch.cat([x, skips.pop()], 1)  # enc{i-1}
        return torch.tanh(self.dec["dec1"](x))


class PatchDiscriminator(nn.Module):
    """On cat(condition, image), 7 channels: d1..d3 stride 2, d4 and d5 stride 1; logits out."""

    def __init__(self, cfg: flops.Config):
        super().__init__()
        b = cfg.base
        lrelu = lambda: nn.LeakyReLU(0.2, inplace=True)  # noqa: E731
        self.net = nn.Sequential()
        self.net.add_module("d1", nn.Sequential(conv(flops.IN_CHANNELS + flops.OUT_CHANNELS, b, 2, True), lrelu()))
        self.net.add_module("d2", nn.Sequential(conv(b, 2 * b, 2, False), nn.BatchNorm2d(2 * b), lrelu()))
        self.net.add_module("d3", nn.Sequential(conv(2 * b, 4 * b, 2, False), nn.BatchNorm2d(4 * b), lrelu()))
        self.net.add_module("d4", nn.Sequential(conv(4 * b, 8 * b, 1, False), nn.BatchNorm2d(8 * b), lrelu()))
        self.net.add_module("d5", conv(8 * b, 1, 1, True))

    def forward(self, x):
        return self.net(x)


def init_weights(m: nn.Module) -> None:
    """pix2pix's 'normal' init: conv weights N(0, 0.02), BN weights N(1, 0.02), biases 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def check_against_flops(cfg, G, D, x, real) -> None:
    """Every conv of G and D, in order, has flops.py's channels, kernel, stride, padding, bias
    and input/output sizes, so the FLOP count is that of the networks that run."""
    seen = []

    def hook(mod, inp, out):
        seen.append((mod, inp[0].shape, out.shape))

    convs = [m for net in (G, D) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    handles = [m.register_forward_hook(hook) for m in convs]
    with torch.no_grad():
        G.eval(), D.eval()
        D(torch.cat([x, G(x)], 1))
        G.train(), D.train()
    for h in handles:
        h.remove()
    expected = flops.generator(cfg) + flops.discriminator(cfg)
    assert len(seen) == len(expected), (len(seen), len(expected))
    for (m, si, so), e in zip(seen, expected):
        got = (isinstance(m, nn.ConvTranspose2d), m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0],
               m.padding[0], si[2], so[2], m.bias is not None)
        want = (e.transposed, e.cin, e.cout, e.k, e.stride, e.pad, e.hin, e.hout, e.bias)
        assert got == want, f"{e.net}.{e.name}: network has {got}, flops.py says {want}"


# ---- the training step --------------------------------------------------------------------------

def main() -> int:
    a = ARGS
    torch.set_num_interop_threads(1)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    cfg = flops.CONFIGS[a.config]
    if a.batch is not None:
        cfg = dataclasses.replace(cfg, batch=a.batch)
    dev = torch.device(a.device)
    if a.device == "cuda":
        torch.backends.cudnn.allow_tf32 = bool(a.tf32)
        torch.backends.cuda.matmul.allow_tf32 = bool(a.tf32)
    base_rss = rss_mb()

    G = UNetGenerator(cfg)
    D = PatchDiscriminator(cfg)
    G.apply(init_weights)
    D.apply(init_weights)
    G.to(dev)
    D.to(dev)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.5, 0.999))

    # One fixed batch: RGB in [-1, 1] plus a 0/1 occlusion mask, and the target image.
    n, h = cfg.batch, cfg.size
    x = torch.cat([torch.rand(n, 3, h, h) * 2 - 1, (torch.rand(n, 1, h, h) > 0.7).float()], 1).to(dev)
    real = (torch.rand(n, 3, h, h) * 2 - 1).to(dev)
    check_against_flops(cfg, G, D, x, real)
    G.train(), D.train()

    def set_requires_grad(net, flag):
        for p in net.parameters():
            p.requires_grad_(flag)

    def step():
        fake = G(x)
        # D step: no gradient reaches G (fake is detached), D's first conv needs no input gradient.
        set_requires_grad(D, True)
        opt_d.zero_grad(set_to_none=True)
        logit_fake = D(torch.cat([x, fake.detach()], 1))
        logit_real = D(torch.cat([x, real], 1))
        loss_d = 0.5 * (F.binary_cross_entropy_with_logits(logit_fake, torch.zeros_like(logit_fake))
                        + F.binary_cross_entropy_with_logits(logit_real, torch.ones_like(logit_real)))
        loss_d.backward()
        opt_d.step()
        # G step: D is frozen (no weight gradients), only its input gradients flow back to G.
        set_requires_grad(D, False)
        opt_g.zero_grad(set_to_none=True)
        logit = D(torch.cat([x, fake], 1))
        loss_g = (F.binary_cross_entropy_with_logits(logit, torch.ones_like(logit))
                  + 100.0 * F.l1_loss(fake, real))
        loss_g.backward()
        opt_g.step()
        return loss_d.item(), loss_g.item()

    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    for _ in range(a.warmup):
        step()
    sync()
    if a.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times, cpu_times = [], []
    for _ in range(a.steps):
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        loss_d, loss_g = step()  # .item() waits for the GPU
        sync()
        cpu_times.append((time.process_time() - c0) * 1e3)
        times.append((time.perf_counter() - t0) * 1e3)

    med = statistics.median(times)
    total = flops.step_flops(cfg)
    gpu = {}
    if a.device == "cuda":
        gpu = {"device": torch.cuda.get_device_name(), "mode": "eager", "batch": cfg.batch, "tf32": bool(a.tf32),
               "cudnn_benchmark": torch.backends.cudnn.benchmark,
               "cudnn_version": torch.backends.cudnn.version(),
               "peak_device_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1),
               "reserved_device_mb": round(torch.cuda.max_memory_reserved() / 2**20, 1)}
    print(json.dumps({
        "framework": "pytorch", "config": cfg.name, "threads": a.threads,
        "ms_per_step": round(med, 3), "ms_min": round(min(times), 3), "ms_max": round(max(times), 3),
        "cpu_ms_per_step": round(statistics.median(cpu_times), 3),
        "gflops": round(total / (med * 1e6), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "steps": a.steps, "warmup": a.warmup, "seed": a.seed, "gflop_per_step": round(total / 1e9, 4),
        "base_rss_mb": round(base_rss, 1), "loss_d": round(loss_d, 5), "loss_g": round(loss_g, 5),
        "version": f"torch {torch.__version__}", "blas_core": blas_core(), "blas_threads": BLAS_THREADS,
        **gpu,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
