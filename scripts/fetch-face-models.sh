#!/usr/bin/env bash
# Fetches the pretrained face models tsgan uses (docs/face-models.md) from the npm package
# @vladmandic/face-api@1.7.15: the recognizer (dlib's ResNet, the identity network of the losses),
# and the small 68-landmark and tiny-detector models for alignment. Every file is checked against
# the sha256 sums below (those of the verified spec, docs/face-models.md), so the check needs no
# network. Optionally, when Debian's libdlib-dev (dlib 19.24) is installed, it also exports dlib's
# frontal face detector (tools/dlib-hog/export.cpp; `--landmarks dlib` uses it) and checks its
# sha256; without libdlib-dev it says so and goes on.
#
# Usage: scripts/fetch-face-models.sh [--dir DIR]
#   DIR defaults to $TSGAN_MODELS_DIR, else ~/.cache/tsgan/models (where tsgan looks for them).
# Idempotent: when every file is present and verified it touches no network and prints DIR.
# On success the last line of stdout is DIR, so `dir=$(scripts/fetch-face-models.sh)` works.
set -euo pipefail

package="@vladmandic/face-api@1.7.15"
tarball="vladmandic-face-api-1.7.15.tgz"
tarball_sha1="10cddf5c405f6f52f37605c9ee28c91ac6a23ead"
tarball_integrity="sha512-WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw=="

# Ordered so that the recognizer, the one the losses need, comes first in every message.
files=(
  face_recognition_model.bin
  face_recognition_model-weights_manifest.json
  face_landmark_68_model.bin
  face_landmark_68_model-weights_manifest.json
  tiny_face_detector_model.bin
  tiny_face_detector_model-weights_manifest.json
)
declare -A sha256=(
  [face_recognition_model.bin]=b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589
  [face_recognition_model-weights_manifest.json]=cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b
  [face_landmark_68_model.bin]=4611ef65c87d836d03d684b30eec4d195d8b219fa1dd58fc58945831c6b9299b
  [face_landmark_68_model-weights_manifest.json]=ca4886639f86e99b39fed0c155f81b63317225773bd9616716e887b0153389c9
  [tiny_face_detector_model.bin]=b7503ce7df31039b1c43316a9b865cab6a70dd748cc602d3fa28b551503c3871
  [tiny_face_detector_model-weights_manifest.json]=5d1af4849ac48d5b985f4a9b16010c512353ddd6fcc63d50fd0bc9e9e64296e5
)

fetch_name=fetch-face-models
usage_end=14
# shellcheck source=scripts/lib/npm-fetch.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib/npm-fetch.sh"
parse_dir_option "$@"

# dlib's frontal face detector, the bytes of dlib's get_serialized_frontal_faces(): exported by
# tools/dlib-hog/export.cpp, built against libdlib-dev; optional, so every problem is a note.
dlib_detector=dlib_frontal_face_detector.dat
dlib_detector_sha256=f3f7aa833fb4a14a46fc48689f45b98d85ef72d6dfaf8bdc012b7d3c522a5426
export_dlib_detector() {
  local target="$dir/$dlib_detector" tmp got
  if [[ -f "$target" ]]; then
    [[ "$(sha256_of "$target")" == "$dlib_detector_sha256" ]] && return 0
    note "$target has the wrong sha256; deleting it and exporting it again"
    rm -f -- "$target"
  fi
  if ! pkg-config --exists dlib-1 2>/dev/null || [[ ! -f /usr/include/dlib/image_processing/frontal_face_detector.h ]]; then
    note "skipped dlib's frontal face detector ($dlib_detector): Debian's libdlib-dev is not installed" \
      "(--landmarks dlib then frames faces with face-api's box; docs/face-models.md)"
    return 0
  fi
  command -v c++ >/dev/null 2>&1 || { note "skipped dlib's frontal face detector: no C++ compiler (c++)"; return 0; }
  mkdir -p -- "$dir" || die "cannot create the model folder $dir"
  tmp="$(mktemp -d "$dir/.export-dlib-detector.XXXXXX")" || die "cannot create a temporary folder in $dir"
  # shellcheck disable=SC2046 # pkg-config's flags are words
  if ! c++ -std=c++17 -O1 "$(dirname "$0")/../tools/dlib-hog/export.cpp" -o "$tmp/export" \
    $(pkg-config --cflags --libs dlib-1) 2>"$tmp/err" || ! "$tmp/export" "$tmp/$dlib_detector" 2>>"$tmp/err"; then
    note "skipped dlib's frontal face detector: exporting it failed: $(tail -n 5 "$tmp/err")"
    rm -rf -- "$tmp"
    return 0
  fi
  got="$(sha256_of "$tmp/$dlib_detector")"
  if [[ "$got" != "$dlib_detector_sha256" ]]; then
    note "skipped dlib's frontal face detector: this libdlib-dev's has sha256 $got, not dlib 19.24's" \
      "$dlib_detector_sha256; not installed"
  else
    mv -f -- "$tmp/$dlib_detector" "$target"
    note "installed $dlib_detector (exported from libdlib-dev)"
  fi
  rm -rf -- "$tmp"
}
export_dlib_detector

exit_if_installed

command -v tar >/dev/null 2>&1 || die "tar not found"
make_work_dir
npm_pack_pinned "$package" "$tarball" "$tarball_sha1" "$tarball_integrity"

members=()
for f in "${needed[@]}"; do members+=("package/model/$f"); done
tar -xzf "$work/$tarball" -C "$work" "${members[@]}" 2>"$work/tar.err" ||
  die "cannot extract ${needed[*]} from the tarball: $(cat "$work/tar.err")"
install_checked "$work/package/model"
