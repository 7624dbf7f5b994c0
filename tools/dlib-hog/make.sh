#!/usr/bin/env bash
# Builds compare.cpp against Debian's libdlib-dev (dlib 19.24) and runs it: tsgan's HogFaceDetector
# against dlib's frontal face detector on a folder with an index.csv, at adjust_threshold ADJUST
# (default -0.5, so that near misses are compared too). Needs the exported detector
# (scripts/fetch-face-models.sh).
#
#   tools/dlib-hog/make.sh FOLDER [ADJUST]
set -euo pipefail
data=$(cd "$1" && pwd)
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
c++ -std=c++20 -O2 -DNDEBUG -I../../include -isystem /usr/include/eigen3 compare.cpp -o "$tmp/compare" \
  $(pkg-config --libs dlib-1) -lfmt -lpng -ljpeg
"$tmp/compare" "${2:--0.5}" "$data"
