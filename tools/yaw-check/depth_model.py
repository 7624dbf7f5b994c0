#!/usr/bin/env python3
# What yaw does a face whose depth is c times the model's read as, when turned by θ? The
# canonical face mesh (face_mesh_canonical.txt, MediaPipe's average face) with its depth scaled by
# c is turned by θ about the vertical axis and projected orthographically; a scaled orthographic
# camera of the unscaled canonical face (yaw φ, one scale, a 2-D shift) is fitted to the projection
# by least squares, and φ is what it reads. All 468 points count (no self-occlusion). It shows
# which pattern of under-reading a depth error would give (issue 15 item 5 (a)).
#
#   /usr/bin/python3 tools/yaw-check/depth_model.py [MODELS_DIR]   (default ~/.cache/tsgan/models)
import os
import sys

import numpy as np

models = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/tsgan/models")
lines = open(os.path.join(models, "face_mesh_canonical.txt")).read().split("\n")
if lines[0] != "tsgan-face-mesh 1":
    sys.exit("depth_model.py: not a tsgan face mesh file")
canonical = np.array([[float(v) for v in line.split()[:3]] for line in lines[2:470]])


def turn(points, degrees):
    t = np.radians(degrees)
    return points @ np.array([[np.cos(t), 0, np.sin(t)], [0, 1, 0], [-np.sin(t), 0, np.cos(t)]]).T


def residual(phi, image):
    m = turn(canonical, phi)
    n = len(m)
    a = np.stack([np.r_[m[:, 0], m[:, 1]], np.r_[np.ones(n), np.zeros(n)], np.r_[np.zeros(n), np.ones(n)]], 1)
    b = np.r_[image[:, 0], image[:, 1]]
    solution = np.linalg.lstsq(a, b, rcond=None)[0]
    return np.sum((a @ solution - b) ** 2)


def read_yaw(image):
    grid = np.arange(0, 90.5, 0.5)
    phi = grid[np.argmin([residual(p, image) for p in grid])]
    lo, hi = max(phi - 0.5, 0), phi + 0.5
    g = (np.sqrt(5) - 1) / 2
    while hi - lo > 1e-4:  # golden section inside the best grid cell
        c, d = hi - g * (hi - lo), lo + g * (hi - lo)
        lo, hi = (lo, d) if residual(c, image) < residual(d, image) else (c, hi)
    return (lo + hi) / 2


if abs(read_yaw(turn(canonical, 35.0)) - 35.0) > 1e-3:
    sys.exit("depth_model.py: the fit does not give 35° back for the canonical face turned by 35°")
yaws = (15, 30, 45, 60)
print("depth c   read yaw at " + "/".join(f"{t}" for t in yaws) + "°")
for c in (0.67, 0.80, 0.88, 0.92, 0.97, 1.00, 1.03, 1.09):
    print(f"{c:7.2f}   " + "/".join(f"{read_yaw(turn(canonical * [1, 1, c], t)):.1f}" for t in yaws))
