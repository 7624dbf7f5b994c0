#!/usr/bin/env bash
# Is FaceMesh's depth shallower than a real face's? Builds depth_fit.cpp (tsgan only) and runs it
# on the first N photos (default 60: the DEV photos of item 5 (a)) of a face folder's index.csv,
# then prints the median and spread of the depth scale d of the canonical face fitted to each
# photo's 468 points (and of the spread ratio), over the near-frontal photos (|yaw| and |pitch|
# of the fit at most 10°) and over all fitted ones. Writes OUT/depth.csv. Given the yaw.csv of a
# tsgan-make-pairs --yaw-check run on the same photos, also prints per yaw the rank correlation
# between a photo's d and the yaw read on its render over the requested one.
#
#   tools/yaw-check/depth.sh FACE_FOLDER OUT [N [YAW_CSV]]
#   e.g. tools/yaw-check/depth.sh ../shared/data/faces/lfw-deepfunneled-extra /tmp/depth 60
set -euo pipefail
source "$(dirname "$0")/lib.sh"
(($# >= 2 && $# <= 4)) || { sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 2; }
data=$(cd "$1" && pwd)
count=${3:-60}
yaw_csv=${4:+$(realpath "$4")}
out=$(new_out "$2")
build_tool depth_fit "$out"
first_photos "$data" "$count" >"$out/paths.txt"
"$out/depth_fit" <"$out/paths.txt" >"$out/depth.csv"
python3 - "$out/depth.csv" <<'PY'
import csv, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]))]
fitted = [r for r in rows if r["d"]]
frontal = [r for r in fitted if abs(float(r["yaw"])) <= 10 and abs(float(r["pitch"])) <= 10]
def summary(name, sel):
    for key in ("d", "spread_ratio"):
        v = sorted(float(r[key]) for r in sel)
        if not v:
            print(f"{name}: none"); return
        q = statistics.quantiles(v, n=4) if len(v) > 1 else [v[0]] * 3
        print(f"{name:26} {key:12} n={len(v):3}  median {statistics.median(v):.3f}  quartiles {q[0]:.3f}-{q[2]:.3f}  "
              f"range {v[0]:.3f}-{v[-1]:.3f}")
print(f"{len(rows)} photos, {len(fitted)} fitted, {len(frontal)} near-frontal (|yaw|, |pitch| <= 10 deg)")
summary("near-frontal", frontal)
summary("all fitted", fitted)
rms_d = statistics.median(float(r["rms_d"]) for r in fitted)
rms_1 = statistics.median(float(r["rms_1"]) for r in fitted)
print(f"median rms residual (px): {rms_d:.3f} with the fitted d, {rms_1:.3f} with d = 1")
PY
[[ -n $yaw_csv ]] || exit 0
python3 - "$out/depth.csv" "$data" "$yaw_csv" <<'PY'
import csv, os, statistics, sys
# A render's path in yaw.csv is images/<the photo's path without its extension>/yaw±θ.png.
depth = {os.path.splitext(os.path.relpath(r["path"], sys.argv[2]))[0]: float(r["d"])
         for r in csv.DictReader(open(sys.argv[1])) if r["d"]}
def ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0] * len(v)
    for k, i in enumerate(order):
        r[i] = k
    return r
renders = list(csv.DictReader(open(sys.argv[3])))
print("yaw  fitted  rank correlation of d and read/requested  median d: fitted  missed")
for yaw in sorted({abs(int(r["yaw"])) for r in renders}):
    d_fit, ratio, d_miss = [], [], []
    for r in renders:
        source = os.path.dirname(r["path"])
        if abs(int(r["yaw"])) != yaw or source not in depth:
            continue
        if r["miss"]:
            d_miss.append(depth[source])
        else:
            d_fit.append(depth[source])
            ratio.append(float(r["measured"]) / float(r["yaw"]))
    corr = statistics.correlation(ranks(d_fit), ranks(ratio)) if len(d_fit) > 2 else float("nan")
    miss = f"{statistics.median(d_miss):.3f}" if d_miss else "-"
    print(f"{yaw:3}  {len(d_fit):6}  {corr:40.3f}  {statistics.median(d_fit):15.3f}  {miss:>6}")
PY
