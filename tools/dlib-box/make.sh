#!/usr/bin/env bash
# Builds boxes.cpp against Debian's libdlib-dev and runs it on a folder with an index.csv, writing
# boxes.csv here (not committed: 232 KB, 30 s to remake); then fit.py fits the map from face-api's
# boxes to dlib's.
#
#   tools/dlib-box/make.sh /path/to/lfw-deepfunneled-extra && /usr/bin/python3 tools/dlib-box/fit.py tools/dlib-box/boxes.csv
set -euo pipefail
data=$(cd "$1" && pwd)
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
c++ -std=c++20 -O2 -DNDEBUG -I../../include -isystem /usr/include/eigen3 boxes.cpp -o "$tmp/boxes" \
  $(pkg-config --libs dlib-1) -lfmt -lpng -ljpeg
OMP_NUM_THREADS=1 "$tmp/boxes" "$data" > boxes.csv
