#!/usr/bin/env bash
# Does FaceFitter's refinement keep the fit of frontal photos? Builds frontal_fit.cpp (tsgan only)
# and runs it on the first N photos (default 50) of a face folder's index.csv, then prints the
# median distance of FaceMesh's 68 points to face-api's per number of refinement passes (inner 51
# points and all 68, in outer-eye-corner distances). Writes OUT/frontal.csv.
#
#   tools/yaw-check/frontal.sh FACE_FOLDER OUT [N]
#   e.g. tools/yaw-check/frontal.sh ../shared/data/faces/lfw-deepfunneled-extra /tmp/frontal 50
set -euo pipefail
source "$(dirname "$0")/lib.sh"
(($# == 2 || $# == 3)) || { sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 2; }
data=$(cd "$1" && pwd)
count=${3:-50}
out=$(new_out "$2")
build_tool frontal_fit "$out"
first_photos "$data" "$count" >"$out/paths.txt"
"$out/frontal_fit" <"$out/paths.txt" >"$out/frontal.csv"
python3 - "$out/frontal.csv" <<'PY'
import csv, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if all(r[f"inner_p{k}"] for k in range(3))]
print(f"{len(rows)} photos fitted with 0, 1 and 2 passes; median distance to face-api's 68 (outer-eye-corner distances)")
for k in range(3):
    inner = [float(r[f"inner_p{k}"]) for r in rows]
    both = [float(r[f"all_p{k}"]) for r in rows]
    print(f"passes {k}: inner 51 {statistics.median(inner):.4f}  all 68 {statistics.median(both):.4f}")
PY
