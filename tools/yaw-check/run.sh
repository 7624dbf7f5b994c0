#!/usr/bin/env bash
# Checks the yaw measure of tsgan-make-pairs --yaw-check on real turned heads (issue 15 item 5(a)):
# builds yaw_pairs.cpp (tsgan only) and runs it, one detector + FaceMesh + face-api 68-point
# pipeline for every image, on
#   real:     each CMU person's forward photo against their left, right and up photo of the same
#             expression (eyes open; sunglasses left out: they hide the eyes both estimators use);
#   cmu-face, cmu-head: the same forward photos rendered by tsgan-make-pairs (--both-sides
#             --frames: at the photo's size) turned by 30, 45 and 60 degrees, face only and --head,
#             against the photo;
#   lfw-face, lfw-head: the first 60 photos of LFW's extra folder rendered at 15-60 degrees, the
#             same way.
# With --sweep it runs one set instead, lfw-sweep: the same 60 photos, --head, both sides of every
# yaw from 15 to 75 degrees (where the estimators stop following the turn), with make-pairs'
# own --yaw-check beside it (OUT/lfw-sweep-pairs/yaw.csv).
# Writes OUT/<set>.csv (yaw_pairs' output) and prints per set and pose the median yaw each
# estimator reads, signed so that the expected turn is positive (CMU "left" is a turn to the
# image's left, +θ in render::yaw's sign, as in scripts/cmu-pose-check.sh).
#
#   tools/yaw-check/run.sh SHARED_FACES_DIR MAKE_PAIRS_BINARY OUT [--sweep]
#   e.g. tools/yaw-check/run.sh ../shared/data/faces build/examples/tsgan-make-pairs /tmp/yaw-check
set -euo pipefail
source "$(dirname "$0")/lib.sh"
usage() { sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 2; }
sweep=
case $# in
  3) ;;
  4) [[ $4 == --sweep ]] || usage; sweep=1 ;;
  *) usage ;;
esac
faces=$(cd "$1" && pwd)
make_pairs=$(realpath "$2")
out=$(new_out "$3")
build_tool yaw_pairs "$out"

cmu="$faces/cmu-face-images-half"
lfw="$faces/lfw-deepfunneled-extra"
python3 - "$cmu" >"$out/real.pairs" <<'PY'
import csv, os, sys
rows = list(csv.DictReader(open(os.path.join(sys.argv[1], "index.csv"))))
by = {(r["identity"], r["pose"], r["expression"], r["eyes"]): r["path"] for r in rows}
for (person, pose, expression, eyes), path in sorted(by.items()):
    forward = by.get((person, "forward", expression, eyes))
    if pose != "forward" and eyes == "eyes" and forward:
        print(f"{sys.argv[1]}/{forward},{sys.argv[1]}/{path}")
PY
# Rendered frames against their source photo, from make-pairs' index.csv (source column).
frame_pairs() {
  python3 - "$1" "$2" "$3" <<'PY'
import csv, os, sys
data, pairs, eyes_only = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
for r in csv.DictReader(open(os.path.join(pairs, "index.csv"))):
    if r["pose"] == "frontal" or (eyes_only and "_sunglasses" in r["source"]):
        continue
    frame = os.path.join(pairs, "frames", os.path.dirname(r["path"])[len("images/"):], r["pose"] + ".png")
    print(f"{data}/{r['source']},{frame}")
PY
}
if [[ -n $sweep ]]; then
  "$make_pairs" --data "$lfw" --out "$out/lfw-sweep-pairs" --limit 60 --yaws 15,30,45,50,55,60,65,70,75 --both-sides \
    --frames --threads 1 --head --detector-retry --yaw-check >"$out/lfw-sweep-pairs.log" 2>&1
  frame_pairs "$lfw" "$out/lfw-sweep-pairs" 0 >"$out/lfw-sweep.pairs"
  sets=(lfw-sweep)
else
  sets=(real cmu-face cmu-head lfw-face lfw-head)
  for head in face head; do
    flag=(); [[ $head == head ]] && flag=(--head)
    "$make_pairs" --data "$cmu" --out "$out/cmu-$head-pairs" --yaws 30,45,60 --both-sides --frames --threads 1 "${flag[@]}" \
      >"$out/cmu-$head-pairs.log" 2>&1
    frame_pairs "$cmu" "$out/cmu-$head-pairs" 1 >"$out/cmu-$head.pairs"
    "$make_pairs" --data "$lfw" --out "$out/lfw-$head-pairs" --limit 60 --yaws 15,30,45,60 --frames --threads 1 "${flag[@]}" \
      >"$out/lfw-$head-pairs.log" 2>&1
    frame_pairs "$lfw" "$out/lfw-$head-pairs" 0 >"$out/lfw-$head.pairs"
  done
fi
for set in "${sets[@]}"; do
  "$out/yaw_pairs" <"$out/$set.pairs" >"$out/$set.csv" 2>"$out/$set.log"
done

python3 - "$out" "${sets[@]}" <<'PY'
import csv, os, re, statistics, sys
out = sys.argv[1]
print("set       pose     pairs  found  facemesh: median  landmarks: median  (degrees, expected turn > 0)")
for name in sys.argv[2:]:
    groups = {}
    for r in csv.DictReader(open(os.path.join(out, name + ".csv"))):
        if name == "real":
            pose = re.search(r"_(left|right|up)_", os.path.basename(r["b"])).group(1)
            sign = {"left": 1, "right": -1, "up": 1}[pose]
        else:
            yaw = float(re.search(r"yaw([+-]\d+)\.png$", r["b"]).group(1))
            pose, sign = f"{abs(yaw):g}", (1 if yaw > 0 else -1)
        g = groups.setdefault(pose, [0, [], []])
        g[0] += 1
        if r["facemesh"]:
            g[1].append(sign * float(r["facemesh"]))
            g[2].append(sign * float(r["landmarks"]))
    for pose, (n, fm, lm) in sorted(groups.items(), key=lambda kv: (len(kv[0]), kv[0])):
        med = lambda v: f"{statistics.median(v):6.1f}" if v else "     -"
        print(f"{name:9} {pose:7} {n:6} {len(fm):6}  {med(fm):>16}  {med(lm):>17}")
PY
