#!/usr/bin/env python3
"""Compares two descriptor files ("path v1 ... v128" per line, as embed.mjs and tsgan's embedding
tool print them): for every image, the largest absolute difference and the Euclidean distance
between the two descriptors; then the largest of each over all images.

Images are paired by path, or by line number with --by-order (when the two tools were given the
same images under different paths). Exits 1 when a descriptor is missing or malformed, and 2 when
--tol is given and the overall largest difference exceeds it. Python standard library only.
"""
import argparse
import math
import sys

DIM = 128


def read(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            # The path may hold spaces: the descriptor is the last 128 fields.
            fields = line.strip().rsplit(None, DIM)
            if len(fields) != DIM + 1:
                sys.exit(f"{path}:{number}: expected a path and {DIM} numbers")
            try:
                values = [float(v) for v in fields[1:]]
            except ValueError as e:
                sys.exit(f"{path}:{number}: {e}")
            rows.append((fields[0], values))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reference", help="descriptor file of the reference (e.g. embed.mjs)")
    ap.add_argument("candidate", help="descriptor file to check (e.g. tsgan)")
    ap.add_argument("--by-order", action="store_true", help="pair lines by position, not by path")
    ap.add_argument("--tol", type=float, help="fail (exit 2) if the overall max |diff| exceeds this")
    args = ap.parse_args()

    ref, cand = read(args.reference), read(args.candidate)
    if args.by_order:
        if len(ref) != len(cand):
            sys.exit(f"{len(ref)} descriptors in {args.reference}, {len(cand)} in {args.candidate}")
        pairs = [(r[0], r[1], c[1]) for r, c in zip(ref, cand)]
    else:
        found = dict(cand)
        missing = [p for p, _ in ref if p not in found]
        extra = sorted(set(found) - {p for p, _ in ref})
        for p in missing:
            print(f"missing in {args.candidate}: {p}", file=sys.stderr)
        for p in extra:
            print(f"only in {args.candidate}: {p}", file=sys.stderr)
        if missing:
            sys.exit(1)
        pairs = [(p, v, found[p]) for p, v in ref]

    overall, overall_at, farthest = 0.0, None, 0.0
    print(f"{'max|diff|':>12} {'distance':>12}  image")
    for path, a, b in pairs:
        diff = max(abs(x - y) for x, y in zip(a, b))
        dist = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
        print(f"{diff:12.3e} {dist:12.3e}  {path}")
        if diff >= overall:
            overall, overall_at = diff, path
        farthest = max(farthest, dist)
    print(f"overall: max |diff| {overall:.3e} ({overall_at}), largest distance {farthest:.3e}, "
          f"{len(pairs)} images")
    if args.tol is not None and overall > args.tol:
        print(f"FAIL: {overall:.3e} > tolerance {args.tol:.3e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
