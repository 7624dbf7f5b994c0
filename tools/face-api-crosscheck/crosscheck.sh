#!/usr/bin/env bash
# End-to-end cross-check of tsgan's face recognizer against face-api's own FaceRecognitionNet.
#
#   tools/face-api-crosscheck/crosscheck.sh [--embed PATH] [--lfw DIR] [--count N] [--work DIR] [--tol T]
#
# 1. Decodes N LFW images (default 12, the first images named by fold 1 of pairs.txt) once, with
#    jpeg-js, into PPM files, plus non-square crops of them (250x180 and 150x250: the centred pad
#    to a square on both axes) and the synthetic image of the spec at 150 (no resize) and 97
#    (an odd upsampling). Both tools then read the same pixels.
# 2. Runs embed.mjs (face-api on tfjs's CPU backend) and tsgan-embed on every file, twice: with
#    the whole image as the crop (--crop none: 250 -> 150 downsampling, padding) and with the
#    fixed LFW centre crop (--crop center: 126 -> 150 upsampling).
# 3. compare.py: the largest |difference| per value and the largest distance, per run; exits
#    non-zero when the largest difference exceeds --tol (default 1e-5).
#
# Needs Node 18+ with `npm ci` done in this folder, python3, the models (TSGAN_MODELS_DIR or
# ~/.cache/tsgan/models) and a built tsgan-embed (default build/examples/tsgan-embed).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
embed="$root/build/examples/tsgan-embed"
lfw="${TSGAN_SHARED_DATA:-$root/../shared/data}/faces/lfw-deepfunneled-view2"
count=12
work=""
tol=1e-5
while [[ $# -gt 0 ]]; do
  case "$1" in
    --embed) embed="$2"; shift 2 ;;
    --lfw) lfw="$2"; shift 2 ;;
    --count) count="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --tol) tol="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "crosscheck.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

[[ -x "$embed" ]] || { echo "crosscheck.sh: no tsgan-embed at $embed (build it, or pass --embed)" >&2; exit 2; }
[[ -f "$lfw/pairs.txt" ]] || { echo "crosscheck.sh: no LFW at $lfw (set TSGAN_SHARED_DATA or pass --lfw)" >&2; exit 2; }
[[ -d "$here/node_modules" ]] || { echo "crosscheck.sh: run 'npm ci' in $here first" >&2; exit 2; }
if [[ -z "$work" ]]; then
  work="$(mktemp -d "${TMPDIR:-/tmp}/tsgan-crosscheck-XXXXXX")"
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/ppm"

# The first `count` distinct images of fold 1 (matched pairs: "name i j").
mapfile -t images < <(awk -v dir="$lfw/images" 'NR > 1 && NF == 3 {
    for (k = 2; k <= 3; k++) { f = sprintf("%s/%s/%s_%04d.jpg", dir, $1, $1, $k); if (!(f in seen)) { seen[f]; print f } } }' \
  "$lfw/pairs.txt" | head -n "$count")

cd "$here"
{
  node to-ppm.mjs "$work/ppm" --synthetic 150 --synthetic 97 "${images[@]}"
  node to-ppm.mjs "$work/ppm" --crop 0,35,250,180 "${images[@]:0:4}"
  node to-ppm.mjs "$work/ppm" --crop 50,0,150,250 "${images[@]:0:4}"
} > "$work/files.txt"
mapfile -t files < "$work/files.txt"
echo "images: ${#files[@]} PPM files in $work/ppm (${#images[@]} LFW images, their non-square crops, 2 synthetic)"

status=0
for crop in none center; do
  ref_args=()
  [[ "$crop" == center ]] && ref_args=(--crop center)
  # tfjs prints a banner about its native backend on stderr: kept in a log, shown on failure.
  node embed.mjs "${ref_args[@]}" "${files[@]}" > "$work/ref-$crop.txt" 2> "$work/ref-$crop.log" ||
    { cat "$work/ref-$crop.log" >&2; exit 1; }
  "$embed" --crop "$crop" "${files[@]}" > "$work/tsgan-$crop.txt"
  echo "== --crop $crop"
  python3 compare.py "$work/ref-$crop.txt" "$work/tsgan-$crop.txt" --tol "$tol" || status=$?
done
exit "$status"
