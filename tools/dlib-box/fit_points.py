#!/usr/bin/python3
"""Fits ShapePredictor::box_for (points.csv from points.cpp): dlib's box from the centroid (px, py) and
spread s of the predictor's points on the mapped face-api box, by least squares,
    centre_x = px + a s,  centre_y = py + b s,  side = c s,
leaving out the photos whose dlib box is on another face (centres further apart than a third of the
side). Prints a, b, c and the residuals."""
import csv
import sys

import numpy as np

rows = list(csv.DictReader(open(sys.argv[1])))
px, py, s, l, t, r, b = (np.array([float(x[k]) for x in rows]) for k in ("px", "py", "spread", "left", "top", "right", "bottom"))
cx, cy, side = (l + r + 1) / 2, (t + b + 1) / 2, r - l + 1
same = np.hypot(cx - px, cy - py) < side / 3
print(f"{(~same).sum()} photos with the boxes on different faces left out, {same.sum()} fitted")
px, py, s, cx, cy, side = (v[same] for v in (px, py, s, cx, cy, side))
a = np.linalg.lstsq(s[:, None], cx - px, rcond=None)[0][0]
bb = np.linalg.lstsq(s[:, None], cy - py, rcond=None)[0][0]
c = np.linalg.lstsq(s[:, None], side, rcond=None)[0][0]
print(f"a = {a:.5f}, b = {bb:.5f}, c = {c:.5f}")
for name, e in (("centre x", cx - px - a * s), ("centre y", cy - py - bb * s), ("side", side - c * s)):
    print(f"{name}: rms {np.sqrt((e ** 2).mean()):.2f} px, 95th percentile |e| {np.percentile(np.abs(e), 95):.2f} px")
