#!/usr/bin/env bash
# The main job: set up, build the training example, and train TSGAN<config::Tiny> on the face
# images shipped in data/cmu-faces-demo (12 people, frontal and side views, occluded on the fly).
# Writes PNG grids of one fixed evaluation batch (occluded input | mask | de-occluded | frontalized |
# profile target | frontal target) and a checkpoint to out/demo, in a few minutes on 2 cores. Run it again with --resume to continue, or with
# --overwrite to start again (without either, an existing run is left alone and the trainer says so).
#
#   scripts/demo.sh [--steps N] [--out DIR] [--seed S] [--resume | --overwrite]
set -euo pipefail
cd "$(dirname "$0")/.."

steps=1500
out=out/demo
extra=()
while (($#)); do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --seed) extra+=(--seed "$2"); shift 2 ;;
    --resume) extra+=(--resume); shift ;;
    --overwrite) extra+=(--overwrite); shift ;;
    *) echo "usage: scripts/demo.sh [--steps N] [--out DIR] [--seed S] [--resume | --overwrite]" >&2; exit 2 ;;
  esac
done

scripts/setup.sh --build-only
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTSGAN_CUDA=OFF >/dev/null
cmake --build build --target tsgan-train-tiny -j "$(nproc)"

# One thread: the Tiny model's layers (batch 4, 32 x 32) are too small for a second thread to pay
# for waking it, and two threads slow down many times over when another job holds a core
# (measured here: 20 ms per step on one thread, 25 on two on an idle machine, 66-2200 on two next
# to a compiler). Threads that wait passively do not fight over a small or shared machine.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
build/examples/tsgan-train-tiny --data data/cmu-faces-demo --out "$out" --steps "$steps" --log-every 250 \
  --threads 1 "${extra[@]}"
echo "demo: grids and checkpoint.safetensors are in $out (latest grid: $(ls "$out"/grid_*.png | tail -n 1))"
