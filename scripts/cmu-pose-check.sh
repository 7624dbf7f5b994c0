#!/usr/bin/env bash
# Issue 15 item 5(c): do rendered side views look like the person's real side views?
# On a face folder with real poses (the CMU faces: index.csv with pose forward/left/right/up),
# tsgan-make-pairs renders every forward photo turned both ways by each yaw (--both-sides
# --frames: the renders at the photo's own size), then tsgan-embed --align finds the face in every
# image (face-api's detector and 68 points, dlib's 150x150 chip) and embeds it, so renders and
# real photos go through the same pipeline. For each person and side, with the same forward
# photos and the same real side photos on both sides of the comparison:
#   real     = recognizer distance (real forward photo, real side photo),
#   rendered = distance (that forward photo rendered to the side, real side photo).
# A face turned by θ > 0 turns to the image's left, which is how the CMU faces' "left" photos
# look (the nose towards the image's left): left ↔ +θ, right ↔ −θ.
#
# Usage: scripts/cmu-pose-check.sh [--data DIR] [--yaws 45,60,75] [--bin DIR] [--threads N] OUT
#   DIR: $TSGAN_SHARED_DATA/faces/cmu-face-images-half (default ../shared/data); --bin: the folder of tsgan-make-pairs and
#   tsgan-embed (build/examples). OUT must not exist. Writes OUT/pairs (make-pairs' output),
#   OUT/embeddings.txt, OUT/distances.csv (person,side,yaw,kind,forward,side_photo,distance) and
#   prints a table per person and yaw and a summary (median, share under dlib's 0.6).
set -euo pipefail

die() {
  echo "cmu-pose-check: error: $*" >&2
  exit 1
}
root="$(cd "$(dirname "$0")/.." && pwd)"
data="${TSGAN_SHARED_DATA:-$root/../shared/data}/faces/cmu-face-images-half"
yaws="45,60,75"
bin="$root/build/examples"
threads=2
out=""
while (($#)); do
  case "$1" in
    --data) data="$2"; shift 2 ;;
    --yaws) yaws="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    -h | --help) sed -n '2,19s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [[ -z "$out" ]] || die "one OUT folder expected, got '$out' and '$1'"; out="$1"; shift ;;
  esac
done
[[ -n "$out" ]] || die "no OUT folder given (see --help)"
[[ ! -e "$out" ]] || die "$out exists (nothing is overwritten; choose another OUT)"
[[ -f "$data/index.csv" ]] || die "$data/index.csv not found (--data: a face folder with real poses)"
for p in tsgan-make-pairs tsgan-embed; do
  [[ -x "$bin/$p" ]] || die "$bin/$p not found (cmake --build build --target $p, or pass --bin)"
done

mkdir -p "$out"
"$bin/tsgan-make-pairs" --data "$data" --out "$out/pairs" --yaws "$yaws" --both-sides --frames --size 128 \
  --threads "$threads" >"$out/make-pairs.log" 2>&1 || die "tsgan-make-pairs failed (see $out/make-pairs.log)"

# Every real photo of the folder and every rendered frame, embedded by one pipeline. Images in
# which the detector finds no face get no line (tsgan-embed reports them and exits with 1).
{
  tail -n +2 "$data/index.csv" | cut -d, -f1 | sed "s|^|$data/|"
  find "$out/pairs/frames" -name '*.png' | sort
} >"$out/images.txt"
xargs -a "$out/images.txt" -d '\n' "$bin/tsgan-embed" --align --threads "$threads" >"$out/embeddings.txt" \
  2>"$out/embed.log" || true
[[ -s "$out/embeddings.txt" ]] || die "tsgan-embed embedded nothing (see $out/embed.log)"

python3 - "$data" "$out" <<'PY'
import csv, math, os, re, statistics, sys

data, out = sys.argv[1], sys.argv[2]
vectors = {}
for line in open(os.path.join(out, "embeddings.txt")):
    parts = line.split()
    vectors[os.path.normpath(parts[0])] = [float(v) for v in parts[1:]]

def dist(a, b):
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))

# Real photos by person and pose; the rendered frames by source photo, side and yaw.
real = {}
for row in csv.DictReader(open(os.path.join(data, "index.csv"))):
    path = os.path.normpath(os.path.join(data, row["path"]))
    real.setdefault((row["identity"], row["pose"]), []).append(path)
rendered = {}  # (source path, side, |yaw|) -> frame path
for row in csv.DictReader(open(os.path.join(out, "pairs", "index.csv"))):
    if row["pose"] == "frontal":
        continue
    yaw = float(row["yaw"])
    frame = os.path.normpath(os.path.join(out, "pairs", "frames", row["path"][len("images/"):]))
    source = os.path.normpath(os.path.join(data, row["source"]))
    rendered[(source, "left" if yaw > 0 else "right", abs(yaw))] = frame

rows = []
yaws = sorted({k[2] for k in rendered})
persons = sorted({p for p, _ in real})
for person in persons:
    for side in ("left", "right"):
        sides = [s for s in real.get((person, side), []) if s in vectors]
        for forward in real.get((person, "forward"), []):
            if forward not in vectors:
                continue
            for yaw in yaws:
                frame = rendered.get((forward, side, yaw))
                if frame is None or frame not in vectors:
                    continue  # no fit of this photo, or no face found in the render
                for s in sides:
                    rows.append((person, side, yaw, "real", forward, s, dist(vectors[forward], vectors[s])))
                    rows.append((person, side, yaw, "rendered", forward, s, dist(vectors[frame], vectors[s])))

with open(os.path.join(out, "distances.csv"), "w") as f:
    f.write("person,side,yaw,kind,forward,side_photo,distance\n")
    for r in rows:
        f.write(",".join(str(v) for v in r) + "\n")

def stats(values):
    if not values:
        return "      -        -"
    under = sum(v < 0.6 for v in values) / len(values)
    return f"{statistics.median(values):7.3f}  {100 * under:6.1f}%"

forwards = sum(1 for p in persons for f in real.get((p, "forward"), []) if f in vectors)
frames = sum(1 for f in rendered.values() if f in vectors)
print(f"forward photos with a face: {forwards}; rendered frames: {len(rendered)}, with a face found: {frames}")
print(f"pairs (forward photo, real side photo) compared, per yaw: "
      + ", ".join(f"{y:g}°: {sum(1 for r in rows if r[2] == y and r[3] == 'real')}" for y in yaws))
print()
print("person      yaw   pairs   real: median  <0.6   rendered: median  <0.6")
for person in persons + ["all"]:
    for yaw in yaws:
        sel = [r for r in rows if r[2] == yaw and (person == "all" or r[0] == person)]
        r_real = [r[6] for r in sel if r[3] == "real"]
        r_rend = [r[6] for r in sel if r[3] == "rendered"]
        if r_real:
            print(f"{person:10} {yaw:4g}°  {len(r_real):6}   {stats(r_real)}     {stats(r_rend)}")
PY
