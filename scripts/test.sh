#!/usr/bin/env bash
# The test command: set up, configure, build, run every test. Also compiles the CUDA targets (the
# tests compiled as CUDA, the GPU benchmarks and tsgan-train-multipie-gpu) when nvcc is present,
# so GPU code that does not compile cannot land; they run only where `nvidia-smi -L` lists a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# The tests on the real face models skip themselves when the models cannot be fetched.
scripts/fetch-face-models.sh >/dev/null || echo "test: face models unavailable; their tests will be skipped"
scripts/fetch-face-mesh.sh >/dev/null || echo "test: face mesh model unavailable; its tests will be skipped"
jobs=$(nproc)

# The example programs' tests run config::Tiny; compiling the other configurations into them too
# would triple their compile time (docs/performance.md) and add nothing that the model tests, which
# compile config::Paper, do not already check.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTSGAN_CUDA=OFF -DTSGAN_EXAMPLE_CONFIGS=tiny
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

# ---- CUDA: compiled wherever nvcc is, run only where a GPU is ---------------------------------
nvcc=$(command -v nvcc || true)
if [[ -z $nvcc && -x /usr/local/cuda/bin/nvcc ]]; then nvcc=/usr/local/cuda/bin/nvcc; fi
if [[ -z $nvcc ]]; then
  echo "test: nvcc not found: no CUDA build"
  exit 0
fi
# The GPU trainer with config::Tiny only, as above (config::Paper is compiled for the GPU by
# tsgan-bench-tsgan-gpu).
cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DTSGAN_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_COMPILER="$nvcc" -DTSGAN_EXAMPLE_CONFIGS=tiny
start=$SECONDS
# Only the targets nvcc compiles: the host compiler's targets of build-cuda are those of build/
# (already built and run above) with other flags, and compiling them twice would double the time.
cuda_targets=(tsgan_tests_cuda tsgan-bench-pix2pix-gpu tsgan-bench-tsgan-gpu tsgan-train-multipie-gpu)
cmake --build build-cuda -j "$jobs" --target "${cuda_targets[@]}"
echo "test: the CUDA build compiled in $((SECONDS - start)) s"
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
  build-cuda/tests/tsgan_tests_cuda
else
  echo "test: no GPU here: the CUDA build was compiled, not run"
fi
