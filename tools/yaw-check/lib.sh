# What the yaw-check scripts share (sourced, not run): a fresh output folder, a tool built from
# this folder's .cpp against the library, one thread, and the first N photos of an index.csv.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE

# new_out DIR: creates DIR and prints its absolute path; refuses one that exists (nothing is
# overwritten).
new_out() {
  [[ ! -e "$1" ]] || { echo "$(basename "$0"): $1 exists (nothing is overwritten)" >&2; exit 1; }
  mkdir -p "$1"
  (cd "$1" && pwd)
}

# build_tool NAME OUT: compiles NAME.cpp (tsgan only, outside CMake, so CI does not build it) to
# OUT/NAME.
build_tool() {
  c++ -std=c++20 -O2 -DNDEBUG -march=native -I"$here/../../include" -isystem /usr/include/eigen3 "$here/$1.cpp" \
    -o "$2/$1" -lfmt -lpng -ljpeg -lz
}

# first_photos FOLDER N: the paths of the first N rows of FOLDER/index.csv, one per line.
first_photos() {
  python3 - "$1" "$2" <<'PY'
import csv, os, sys
rows = list(csv.DictReader(open(os.path.join(sys.argv[1], "index.csv"))))[: int(sys.argv[2])]
for r in rows:
    print(os.path.join(sys.argv[1], r["path"]))
PY
}
