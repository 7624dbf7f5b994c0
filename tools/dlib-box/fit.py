#!/usr/bin/python3
"""Fits the map from face-api's best box to dlib's frontal-face-detector box (boxes.csv from make.sh),
the one models::dlib_box_from_face_api uses. Pictures where each detector found exactly one face take
part, less those whose two boxes are not the same face (centres further apart than a third of
dlib's side). Dlib's sides come in its pyramid's steps (88, 105, 125 px on LFW), so part of the
side's residual is that quantisation. In tsgan's continuous coordinates dlib's box [left, right] covers [left, right + 1), so its
centre is (left + right + 1) / 2 and its side right - left + 1. Fitted by least squares:
    centre_x = x + w / 2 + kx * w,  centre_y = y + h / 2 + ky * h,  side = sw * w + sh * h.
Prints the coefficients and the residuals (root mean square and 95th percentile, in pixels and in
fractions of dlib's side)."""
import csv
import sys

import numpy as np

rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["score"] and r["dlib_count"] == "1"]
total = sum(1 for _ in csv.DictReader(open(sys.argv[1])))
x, y, w, h = (np.array([float(r[k]) for r in rows]) for k in ("x", "y", "width", "height"))
l, t, r, b = (np.array([float(r[k]) for r in rows]) for k in ("left", "top", "right", "bottom"))
cx, cy, side = (l + r + 1) / 2, (t + b + 1) / 2, r - l + 1
same = np.hypot(cx - (x + w / 2), cy - (y + h / 2)) < side / 3
print(f"{(~same).sum()} pairs of boxes on different faces left out")
x, y, w, h, cx, cy, side = (v[same] for v in (x, y, w, h, cx, cy, side))
rows = [r for r, k in zip(rows, same) if k]
kx = np.linalg.lstsq(w[:, None], cx - (x + w / 2), rcond=None)[0][0]
ky = np.linalg.lstsq(h[:, None], cy - (y + h / 2), rcond=None)[0][0]
(sw, sh) = np.linalg.lstsq(np.stack([w, h], 1), side, rcond=None)[0]
res = {"centre x": cx - (x + w / 2 + kx * w), "centre y": cy - (y + h / 2 + ky * h), "side": side - (sw * w + sh * h)}
print(f"{len(rows)} of {total} pictures with one face from each detector")
print(f"kx = {kx:.5f}, ky = {ky:.5f}, sw = {sw:.5f}, sh = {sh:.5f}")
print(f"dlib's side: mean {side.mean():.2f} px; face-api's box: mean {w.mean():.2f} x {h.mean():.2f} px")
for name, e in res.items():
    print(f"{name}: rms {np.sqrt((e ** 2).mean()):.2f} px ({np.sqrt(((e / side) ** 2).mean()) * 100:.2f} % of the side), "
          f"95th percentile |e| {np.percentile(np.abs(e), 95):.2f} px, max {np.abs(e).max():.2f} px")
