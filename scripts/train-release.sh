#!/usr/bin/env bash
# Trains the released model, models/tsgan-restore.safetensors (docs/model.md), from LFW photos:
# tsgan-make-pairs turns each photo of --data by 15-75 degrees (profile mode) and there and back
# (round-trip mode), tsgan-train trains TSGAN<config::Release> (64 x 64) on both pair sets with
# synthetic occlusions of every type, and tsgan-export writes the generators as an F16 model file.
#
#   scripts/train-release.sh --data LFW_FOLDER [--out DIR] [--steps N] [--seed S] [--resume]
#
# LFW_FOLDER holds an index.csv (path,identity,pose) and the LFW deep-funneled photos of the people
# to train on; the release used the 1,533 photos of the 1,452 LFW people who are not in View 2, so
# that all ten View 2 folds stay unseen for evaluation (docs/model.md says where LFW comes from and
# its terms). Writes DIR/pairs/{profile,roundtrip}, DIR/run (checkpoint, log.jsonl, grids) and
# DIR/tsgan-restore.safetensors (default DIR: out/release); copy that file to models/ to release
# it. --resume continues DIR/run to --steps in total. Needs the face models
# (scripts/fetch-face-models.sh, scripts/fetch-face-mesh.sh; run here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

data="" out=out/release steps=8000 seed=1 resume=()
while (($#)); do
  case "$1" in
    --data) data="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --resume) resume=(--resume); shift ;;
    *) echo "usage: scripts/train-release.sh --data LFW_FOLDER [--out DIR] [--steps N] [--seed S] [--resume]" >&2; exit 2 ;;
  esac
done
[[ -n "$data" ]] || { echo "train-release: --data LFW_FOLDER is required (a folder with index.csv)" >&2; exit 2; }
[[ -f "$data/index.csv" ]] || { echo "train-release: $data/index.csv: not found" >&2; exit 2; }

scripts/setup.sh --build-only
scripts/fetch-face-models.sh
scripts/fetch-face-mesh.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTSGAN_CUDA=OFF "-DTSGAN_EXAMPLE_CONFIGS=release;tiny" >/dev/null
cmake --build build --target tsgan-make-pairs tsgan-train tsgan-export -j "$(nproc)"

export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
if [[ ! -f "$out/pairs/profile/index.csv" ]]; then
  build/examples/tsgan-make-pairs --data "$data" --out "$out/pairs/profile" --mode profile --seed 1
fi
if [[ ! -f "$out/pairs/roundtrip/index.csv" ]]; then
  build/examples/tsgan-make-pairs --data "$data" --out "$out/pairs/roundtrip" --mode roundtrip --seed 2
fi
# One thread: measured on a 2-core machine, the second thread gains less than it loses whenever
# anything else runs (docs/performance.md, "Small models: one thread").
build/examples/tsgan-train --config release --data "$out/pairs/profile" --data "$out/pairs/roundtrip" \
  --out "$out/run" --steps "$steps" --log-every 100 --seed "$seed" --threads 1 "${resume[@]}"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
build/examples/tsgan-export --checkpoint "$out/run/checkpoint.safetensors" --out "$out/tsgan-restore.safetensors" --overwrite \
  --note "scripts/train-release.sh --data $(basename "$data") --steps $steps --seed $seed; commit $commit; LFW (research use, THIRD-PARTY.md)"
echo "train-release: $out/tsgan-restore.safetensors (loss curves: scripts/plot.py log $out/run/log.jsonl)"
