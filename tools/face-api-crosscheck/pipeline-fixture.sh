#!/usr/bin/env bash
# Regenerates tests/fixtures/face_api/pipeline.json: face-api's boxes, scores and 68 landmarks on a
# few shared faces (LFW View 2 and extra; CMU grey 64x60 in left, right and sunglasses variants)
# and the raw outputs on the synthetic pattern. The images are decoded once by tsgan's own reader
# (decode-with-tsgan.cpp, compiled here with c++, fmt, libjpeg and libpng), so face-api sees the pixels tsgan sees.
# Needs `npm ci` here, the models (scripts/fetch-face-models.sh) and the shared data
# (../shared/data or $TSGAN_SHARED_DATA).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
data=${TSGAN_SHARED_DATA:-$root/../shared/data}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
images=(
  lfw-deepfunneled-view2/images/Abel_Pacheco/Abel_Pacheco_0001.jpg
  lfw-deepfunneled-view2/images/Colin_Farrell/Colin_Farrell_0001.jpg
  lfw-deepfunneled-view2/images/AJ_Lamas/AJ_Lamas_0001.jpg
  lfw-deepfunneled-extra/images/AJ_Cook/AJ_Cook_0001.jpg
  cmu-face-images-half/images/alex/alex_left_angry_eyes.pgm
  cmu-face-images-half/images/alex/alex_right_angry_eyes.pgm
  cmu-face-images-half/images/alex/alex_forward_angry_sunglasses.pgm
  cmu-face-images-half/images/bob/bob_right_neutral_eyes.pgm
  cmu-face-images-half/images/carl/carl_right_neutral_eyes.pgm
)
c++ -std=c++20 -O1 -I"$root/include" -isystem /usr/include/eigen3 "$here/decode-with-tsgan.cpp" -o "$tmp/decode" -lfmt -ljpeg -lpng
"$tmp/decode" "$data/faces" "$tmp/pixels" "${images[@]}"
node "$here/pipeline.mjs" --data "$data/faces" --decoded "$tmp/pixels" \
  --out "$root/tests/fixtures/face_api/pipeline.json" "${images[@]}"
