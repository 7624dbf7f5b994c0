#!/usr/bin/env bash
# Installs what tsgan needs on a fresh Debian 12 machine: compilers, CMake, the header libraries,
# the BLAS, and the peers the tests compare against (PyTorch, Node.js for the face models).
# Idempotent: when everything is present it only checks and returns.
#
#   scripts/setup.sh               everything: build, tests, benchmarks and their peers
#   scripts/setup.sh --build-only  what building the library and the examples needs (the demo)
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates
  libeigen3-dev libfmt-dev doctest-dev nlohmann-json3-dev libcli11-dev libpng-dev libjpeg62-turbo-dev
  libbenchmark-dev libopenblas-dev
)
if [[ "${1:-}" != "--build-only" ]]; then
  packages+=(
    libopenblas-pthread-dev libopenblas-openmp-dev libblis-openmp-dev   # the SGEMM benchmarks (bench/)
    python3 python3-numpy python3-torch   # golden values and the side-by-side benchmark
    libtcmalloc-minimal4   # the allocator both sides of bench/run_tsgan.py run with
    clang-14 libomp-14-dev libclang-rt-14-dev   # the clang build and the libFuzzer harnesses (scripts/test.sh, scripts/fuzz.sh)
  )
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The face-model fetcher needs npm; any Node.js with npm will do (Debian's or NodeSource's).
[[ "${1:-}" == "--build-only" ]] || command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if ((${#missing[@]} == 0)); then
  echo "setup: all dependencies present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
