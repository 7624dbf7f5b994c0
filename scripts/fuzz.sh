#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang (in build-fuzz/) and runs each one from
# its seed corpus (tests/fuzz/corpus/<name>/, never written to: new inputs go to a scratch folder).
# A crash, a sanitizer report, a leak or an uncaught exception stops that harness and fails the
# script; libFuzzer leaves the input as crash-* (or leak-*, timeout-*, oom-*) in build-fuzz/findings/.
#
#   scripts/fuzz.sh                      every harness for 12 s (what scripts/test.sh runs)
#   scripts/fuzz.sh --seconds 600 image  one harness for 10 minutes
#   scripts/fuzz.sh --runs 1000000       every harness for 10^6 executions (docs/reliability.md)
#   --timeout S                          an input running longer than S s (default 30) is a finding;
#                                        raise it on a loaded machine, where libFuzzer's wall-clock
#                                        timer also counts the time the process waits for a core
set -euo pipefail
cd "$(dirname "$0")/.."

limit=(-max_total_time=12)
timeout=30
harnesses=()
while (($#)); do
  case $1 in
    --seconds) limit=(-max_total_time="$2"); shift 2 ;;
    --runs) limit=(-runs="$2"); shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "fuzz: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) harnesses+=("$1"); shift ;;
  esac
done
all=(safetensors checkpoint image tfjs_manifest index_csv pairs_txt multipie_names landmarks_jsonl)
((${#harnesses[@]})) || harnesses=("${all[@]}")

clang=$(command -v clang++ || command -v clang++-14 || true)
[[ -n $clang ]] || { echo "fuzz: clang++ not found (Debian: apt install clang libclang-rt-14-dev)" >&2; exit 1; }
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$clang" -DTSGAN_CUDA=OFF \
  -DTSGAN_FUZZ=ON -DTSGAN_BUILD_EXAMPLES=OFF -DTSGAN_BUILD_BENCH=OFF >/dev/null
start=$SECONDS
cmake --build build-fuzz -j "$(nproc)" --target "${harnesses[@]/#/tsgan_fuzz_}"
echo "fuzz: built in $((SECONDS - start)) s"

findings=$PWD/build-fuzz/findings
mkdir -p "$findings"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One harness (libFuzzer runs single-threaded); its verdict goes to $work/$h.result.
fuzz_one() {
  local h=$1 start=$SECONDS runs
  mkdir -p "$work/$h"
  # The scratch files of the harnesses that read files go to a RAM disk where there is one.
  if TMPDIR=$([[ -d /dev/shm ]] && echo /dev/shm || echo "${TMPDIR:-/tmp}") \
     ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1 \
     "build-fuzz/tests/fuzz/tsgan_fuzz_$h" "${limit[@]}" -rss_limit_mb=2560 -timeout="$timeout" \
       -print_final_stats=1 -artifact_prefix="$findings/$h-" "$work/$h" "tests/fuzz/corpus/$h" \
       >"$work/$h.log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$h.log")
    echo "fuzz: $h: $runs executions in $((SECONDS - start)) s, no crash" >"$work/$h.result"
  else
    echo failed >"$work/$h.result"
  fi
}
# As many harnesses at a time as there are cores.
cores=$(nproc)
for h in "${harnesses[@]}"; do
  while (($(jobs -rp | wc -l) >= cores)); do wait -n || true; done
  fuzz_one "$h" &
done
wait
failed=()
for h in "${harnesses[@]}"; do
  if [[ $(cat "$work/$h.result" 2>/dev/null) == fuzz:* ]]; then
    cat "$work/$h.result"
  else
    echo "fuzz: $h FAILED; its log:" >&2
    tail -n 60 "$work/$h.log" >&2
    failed+=("$h")
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: failed: ${failed[*]} (inputs in $findings)" >&2
  exit 1
fi
