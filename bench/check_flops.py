#!/usr/bin/env python3
"""Checks that tsgan-bench-pix2pix counts FLOPs as bench/flops.py does: the same conv layers (kind,
channels, kernel, stride, padding, sizes, bias, batch norm, activation), the same passes per step
and the same FLOPs, layer by layer and in total, for every config flops.py knows.

    python3 bench/check_flops.py build/bench/tsgan-bench-pix2pix
"""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import flops  # noqa: E402


def check(binary: str, name: str) -> list[str]:
    out = subprocess.run([binary, "--config", name, "--layers"], capture_output=True, text=True, check=True).stdout
    got = json.loads(out)
    cfg = flops.CONFIGS[name]
    errors = []
    rows = flops.rows(cfg)
    if len(got["layers"]) != len(rows):
        return [f"{name}: {len(got['layers'])} layers, flops.py has {len(rows)}"]
    for g, r in zip(got["layers"], rows):
        c = r.layer
        want = {"net": c.net, "name": c.name, "transposed": c.transposed, "cin": c.cin, "cout": c.cout, "k": c.k,
                "stride": c.stride, "pad": c.pad, "hin": c.hin, "hout": c.hout, "bias": c.bias, "bn": c.bn,
                "act": c.act, "passes": [r.fwd, r.wgrad, r.igrad], "pass_flops": r.pass_flops,
                "step_flops": r.step_flops}
        for key, value in want.items():
            if g[key] != value:
                errors.append(f"{name} {c.net}.{c.name}: {key} is {g[key]!r}, flops.py says {value!r}")
    if int(got["step_flops"]) != flops.step_flops(cfg):
        errors.append(f"{name}: {got['step_flops']} FLOPs per step, flops.py says {flops.step_flops(cfg)}")
    if got["batch"] != cfg.batch:
        errors.append(f"{name}: batch {got['batch']}, flops.py says {cfg.batch}")
    return errors


def main() -> int:
    binary = sys.argv[1]
    errors = []
    for name in sorted(flops.CONFIGS):
        errors += check(binary, name)
        if not errors:
            print(f"{name}: {flops.step_flops(name) / 1e9:.3f} GFLOP per step, {len(flops.rows(flops.CONFIGS[name]))} "
                  "conv layers, equal to flops.py")
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
