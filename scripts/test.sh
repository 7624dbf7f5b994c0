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

# The example programs' tests run config::Tiny, and config::Release for the shipped model
# (examples.release, the same build as scripts/demo.sh); compiling Paper and Small into them too
# would add minutes (docs/performance.md) and nothing that the model tests, which compile
# config::Paper, do not already check.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTSGAN_CUDA=OFF "-DTSGAN_EXAMPLE_CONFIGS=release;tiny"
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

# ---- clang: the library and a subset of the tests with Debian's clang ---------------------------
# GCC builds everything above; clang compiles the unit tests of the core, expressions, autograd
# (gradcheck inside nested generic lambdas: the case clang 14 once failed to link, see
# Graph::record), modules, optimizers and safetensors, the README example and the tutorial program
# (which include nearly every header), checks the compile-time errors with clang's messages, and
# runs them. Measured in docs/performance.md (Compile time).
clang=$(command -v clang++-14 || command -v clang++ || true)
if [[ -n $clang ]]; then
  start=$SECONDS
  cmake -S . -B build-clang -G Ninja -DCMAKE_BUILD_TYPE=Release -DTSGAN_CUDA=OFF -DCMAKE_CXX_COMPILER="$clang" \
    -DTSGAN_BUILD_BENCH=OFF -DTSGAN_EXAMPLE_CONFIGS=tiny \
    -DTSGAN_UNIT_TEST_FILTER='unit/(core/tensor|expr/ops|autograd/var|nn/module|optim/optim|io/safetensors)_test'
  cmake --build build-clang -j "$jobs" --target tsgan_tests readme_example tutorial-cmu-classifier
  ctest --test-dir build-clang --output-on-failure -j "$jobs" \
    -R '^(unit\.|compile_fail\.|readme\.|examples\.tutorial$|docs\.)'
  echo "test: the clang build and its tests took $((SECONDS - start)) s"
else
  echo "test: clang++ not found: no clang build"
fi

# ---- Sanitizers and fuzzing (docs/reliability.md) ---------------------------------------------
# The unit tests of io, data, autograd, nn, optim, the allocator, the TSGAN losses, the blocks, the
# Tiny model and the trainer under ASan and UBSan (docs/reliability.md). allocator_may_return_null:
# the allocator test asks for more memory than exists and expects the allocation to fail, which
# ASan would otherwise turn into an abort. The pretrained networks' model cases
# (tsgan_pretrained_test: the recognizer as φ, config::Release) are not compiled into it, and 200
# training steps of config::Tiny run only in tsgan_tests (the step the other cases run once, at
# one to two CPU-seconds a step here against 20 ms at -O3). The pose-synthesis loader of
# datasets_test ran clean but took 46 s (FaceMesh and rendering; not among the parts above).
start=$SECONDS
cmake --build build -j "$jobs" --target tsgan_tests_sanitized
ASAN_OPTIONS=allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 OMP_WAIT_POLICY=PASSIVE \
  build/tests/tsgan_tests_sanitized --no-version \
  --test-case-exclude="200 steps on*,loader: pose synthesis on the fly*"
echo "test: the sanitized tests built and ran in $((SECONDS - start)) s"
# Every libFuzzer harness from its seed corpus for a short fixed time (clang, build-fuzz/).
start=$SECONDS
scripts/fuzz.sh --seconds 12
echo "test: the fuzz smoke run took $((SECONDS - start)) s"

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
