#!/usr/bin/env bash
# Does FaceFitter's refinement keep the fit of frontal photos? Builds frontal_fit.cpp (tsgan only)
# and runs it on the first N photos (default 50) of a face folder's index.csv, then prints the
# median distance of FaceMesh's 68 points to face-api's per number of refinement passes (inner 51
# points and all 68, in outer-eye-corner distances). Writes OUT/frontal.csv.
#
#   tools/yaw-check/frontal.sh FACE_FOLDER OUT [N]
#   e.g. tools/yaw-check/frontal.sh ../shared/data/faces/lfw-deepfunneled-extra /tmp/frontal 50
set -euo pipefail
(($# == 2 || $# == 3)) || { sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 2; }
data=$(cd "$1" && pwd)
count=${3:-50}
[[ ! -e "$2" ]] || { echo "frontal.sh: $2 exists (nothing is overwritten)" >&2; exit 1; }
mkdir -p "$2"
out=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
c++ -std=c++20 -O2 -DNDEBUG -march=native -I"$here/../../include" -isystem /usr/include/eigen3 "$here/frontal_fit.cpp" \
  -o "$out/frontal_fit" -lfmt -lpng -ljpeg -lz
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
python3 - "$data" "$count" >"$out/paths.txt" <<'PY'
import csv, os, sys
rows = list(csv.DictReader(open(os.path.join(sys.argv[1], "index.csv"))))[: int(sys.argv[2])]
for r in rows:
    print(os.path.join(sys.argv[1], r["path"]))
PY
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
