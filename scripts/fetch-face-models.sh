#!/usr/bin/env bash
# Fetches the pretrained face models tsgan uses (docs/face-models.md) from the npm package
# @vladmandic/face-api@1.7.15: the recognizer (dlib's ResNet, the identity network of the losses),
# and the small 68-landmark and tiny-detector models for alignment. Every file is checked against
# the sha256 sums below (those of the verified spec, docs/face-models.md), so the check needs no
# network.
#
# Usage: scripts/fetch-face-models.sh [--dir DIR]
#   DIR defaults to $TSGAN_MODELS_DIR, else ~/.cache/tsgan/models (where tsgan looks for them).
# Idempotent: when every file is present and verified it touches no network and prints DIR.
# On success the last line of stdout is DIR, so `dir=$(scripts/fetch-face-models.sh)` works.
set -euo pipefail

package="@vladmandic/face-api@1.7.15"
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

die() {
  echo "fetch-face-models: error: $*" >&2
  exit 1
}
note() { echo "fetch-face-models: $*" >&2; }

usage() {
  sed -n '2,11s/^# \{0,1\}//p' "$0"
}

dir="${TSGAN_MODELS_DIR:-$HOME/.cache/tsgan/models}"
while (($#)); do
  case "$1" in
    --dir)
      (($# >= 2)) || die "--dir needs a folder"
      dir="$2"
      shift 2
      ;;
    --dir=*)
      dir="${1#--dir=}"
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown argument '$1' (usage: scripts/fetch-face-models.sh [--dir DIR])" ;;
  esac
done
[[ -n "$dir" ]] || die "the model folder is empty (set TSGAN_MODELS_DIR or pass --dir DIR)"

command -v sha256sum >/dev/null 2>&1 || die "sha256sum not found (it is part of coreutils)"

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Lists the files of $dir that are missing or fail their checksum; deletes the ones that fail so
# that a half-written or tampered file can never be mistaken for a good one.
needed=()
check_present() {
  needed=()
  local f
  for f in "${files[@]}"; do
    if [[ ! -f "$dir/$f" ]]; then
      needed+=("$f")
    elif [[ "$(sha256_of "$dir/$f")" != "${sha256[$f]}" ]]; then
      note "$dir/$f has the wrong sha256; deleting it and fetching it again"
      rm -f -- "$dir/$f"
      needed+=("$f")
    fi
  done
}

check_present
if ((${#needed[@]} == 0)); then
  echo "$dir"
  exit 0
fi

command -v npm >/dev/null 2>&1 ||
  die "npm not found: install Node.js and npm (scripts/setup.sh does), then run this again"
command -v tar >/dev/null 2>&1 || die "tar not found"

mkdir -p -- "$dir" || die "cannot create the model folder $dir"
# The download and extraction happen in a private folder inside $dir, so the final moves are
# renames on one file system and an interrupted run leaves no partial model file behind.
work="$(mktemp -d "$dir/.fetch.XXXXXX")" || die "cannot create a temporary folder in $dir"
trap 'rm -rf -- "$work"' EXIT

note "downloading $package from $(npm config get registry 2>/dev/null || echo 'the npm registry')"
if ! (cd "$work" && npm pack "$package" --loglevel=error >"$work/npm.out" 2>"$work/npm.err"); then
  tail -n 15 "$work/npm.err" >&2 || true
  die "npm pack $package failed (network or registry failure; npm's messages are above)"
fi
tgz="$work/vladmandic-face-api-1.7.15.tgz"
[[ -f "$tgz" ]] || die "npm pack succeeded but wrote no $(basename "$tgz") (npm said: $(cat "$work/npm.out"))"

# npm checks the registry's own integrity field; these pin the tarball to the one the spec read.
got_sha1="$(sha1sum "$tgz" | cut -d' ' -f1)"
[[ "$got_sha1" == "$tarball_sha1" ]] ||
  die "the downloaded tarball has sha1 $got_sha1, expected $tarball_sha1 (registry mirror serving another file?)"
got_integrity="sha512-$(node -e 'const c=require("crypto"),f=require("fs");
  process.stdout.write(c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$tgz")"
[[ "$got_integrity" == "$tarball_integrity" ]] ||
  die "the downloaded tarball has integrity $got_integrity, expected $tarball_integrity"

members=()
for f in "${needed[@]}"; do members+=("package/model/$f"); done
tar -xzf "$tgz" -C "$work" "${members[@]}" 2>"$work/tar.err" ||
  die "cannot extract ${needed[*]} from the tarball: $(cat "$work/tar.err")"

bad=()
for f in "${needed[@]}"; do
  got="$(sha256_of "$work/package/model/$f")"
  if [[ "$got" != "${sha256[$f]}" ]]; then
    rm -f -- "$work/package/model/$f"
    note "checksum mismatch: $f has sha256 $got, expected ${sha256[$f]}; deleted"
    bad+=("$f")
  fi
done
((${#bad[@]} == 0)) || die "checksum mismatch for ${bad[*]}; nothing was installed"

for f in "${needed[@]}"; do
  mv -f -- "$work/package/model/$f" "$dir/$f"
done
note "installed ${needed[*]}"
echo "$dir"
