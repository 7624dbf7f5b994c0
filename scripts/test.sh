#!/usr/bin/env bash
# The test command: set up, configure, build, run every test. Also compiles the CUDA build of the
# tests and examples when nvcc is present, so GPU code that does not compile cannot land.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# The tests on the real face models skip themselves when the models cannot be fetched.
scripts/fetch-face-models.sh >/dev/null || echo "test: face models unavailable; their tests will be skipped"
jobs=$(nproc)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"
