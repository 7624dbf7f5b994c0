#!/usr/bin/env bash
# Fault trials of the trainer (issue 11, docs/reliability.md): each must keep the last good
# checkpoint.
#
#   scripts/reliability-trials.sh BUILD_DIR [KILLS] [WORK_DIR]
#
# BUILD_DIR has examples/tsgan-train and examples/poison_checkpoint (built with
# -DTSGAN_BUILD_TESTS=ON). Trains config::Tiny on data/cmu-faces-demo with one thread, saving
# every step, and:
#   kill      KILLS times: starts a resumed run, kills it with SIGKILL after a random 0.2-2.5 s
#             (during a step or a save), then checks that the checkpoint loads (the next resume)
#             and counts the temporary files the kill left; the next run must remove them.
#   disk-full saves step 1 into a run folder on a tmpfs of 16 MiB that holds one checkpoint
#             (11 MiB) but not a second beside it, then resumes: the save of step 2 fails with
#             ENOSPC, the run exits 1, and the checkpoint of step 1 is intact. Without permission to mount, RLIMIT_FSIZE below the
#             checkpoint's size gives EFBIG instead (SIGXFSZ ignored).
#   diverge   weights scaled by 1e30 (poison_checkpoint): the next step is non-finite, the run
#             exits 1 naming the step and the term, and the checkpoint is unchanged.
#   signal    SIGTERM and SIGINT during training: exit status 143 and 130, the step is saved.
# Prints one line per trial and a summary; exit status 1 when any trial lost the checkpoint.
set -u
build=${1:?usage: reliability-trials.sh BUILD_DIR [KILLS] [WORK_DIR]}
kills=${2:-24}
work=${3:-$(mktemp -d /tmp/tsgan-trials-XXXXXX)}
root=$(cd "$(dirname "$0")/.." && pwd)
train="$build/examples/tsgan-train"
poison="$build/examples/poison_checkpoint"
data="$root/data/cmu-faces-demo"
export OMP_WAIT_POLICY=PASSIVE
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
common=(--config tiny --data "$data" --seed 1 --threads 1 --log-every 1)
run() { "$train" "${common[@]}" "$@"; }
step_of() { sed -n 's/.*resumed from .* at step \([0-9]*\).*/\1/p' "$1" | tail -1; }

mkdir -p "$work"
echo "work folder: $work"

# ---- kill -9 ----
out="$work/kill"
run --out "$out" --steps 2 > /dev/null 2>&1 || fail "the first run failed"
during_save=0 removed=0 loaded=0 steps=2
for i in $(seq 1 "$kills"); do
  "$train" "${common[@]}" --out "$out" --steps 1000000 --resume > "$work/kill.out" 2> "$work/kill.err" &
  pid=$!  # the trainer itself, not a subshell
  sleep "$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 0.2 + rand() * 2.3 }')"
  kill -9 "$pid" 2> /dev/null
  wait "$pid" 2> /dev/null
  left=$(find "$out" -name '.checkpoint.safetensors.tmp.*' | wc -l)
  [ "$left" -gt 0 ] && during_save=$((during_save + 1))
  # The next resume loads the checkpoint in full (names, shapes, dtypes, finiteness) and removes
  # what the kill left.
  if run --out "$out" --steps $((steps + 1)) --resume > /dev/null 2> "$work/check.err"; then
    loaded=$((loaded + 1))
    steps=$(($(step_of "$work/check.err") + 1))
    grep -q "removed $left temporary" "$work/check.err" && removed=$((removed + left))
    [ "$left" -eq 0 ] || grep -q "removed $left temporary" "$work/check.err" || fail "kill $i: $left temporary files not removed"
  else
    fail "kill $i: the checkpoint does not load: $(cat "$work/check.err")"
  fi
  left_after=$(find "$out" -name '.checkpoint.safetensors.tmp.*' | wc -l)
  [ "$left_after" -eq 0 ] || fail "kill $i: $left_after temporary files remain"
done
echo "kill -9: $kills kills ($during_save during a save); checkpoint loaded after $loaded of $kills; $removed temporary files removed; now at step $steps"

# ---- disk full ----
out="$work/full"
mkdir -p "$out"
mounted=0
if mount -t tmpfs -o size=16m tmpfs "$out" 2> /dev/null; then mounted=1; fi
run --out "$out" --steps 1 > /dev/null 2>&1 || fail "disk-full: the first run failed"
before=$(sha256sum "$out/checkpoint.safetensors" | cut -d' ' -f1)
if [ "$mounted" -eq 1 ]; then
  run --out "$out" --steps 4 --resume > /dev/null 2> "$work/full.err"
  rc=$?
  how="tmpfs of 16 MiB"
else
  size_kb=$(($(stat -c %s "$out/checkpoint.safetensors") / 1024 / 2))
  (trap '' XFSZ; ulimit -f "$size_kb"; exec "$train" "${common[@]}" --out "$out" --steps 4 --resume) > /dev/null \
    2> "$work/full.err"
  rc=$?
  how="RLIMIT_FSIZE of $size_kb KiB"
fi
after=$(sha256sum "$out/checkpoint.safetensors" | cut -d' ' -f1)
left=$(find "$out" -name '.checkpoint.safetensors.tmp.*' | wc -l)
message=$(grep -m1 "cannot" "$work/full.err")
if [ "$rc" -eq 1 ] && [ "$before" = "$after" ] && [ "$left" -eq 0 ]; then
  echo "disk full ($how): exit status $rc, checkpoint of step 1 unchanged, no temporary file; message: $message"
else
  fail "disk full ($how): exit status $rc, checkpoint unchanged: $([ "$before" = "$after" ] && echo yes || echo no), $left temporary files; $(cat "$work/full.err")"
fi
[ "$mounted" -eq 1 ] && umount "$out"

# ---- divergence ----
out="$work/diverge"
mkdir -p "$out"
"$poison" "$work/kill/checkpoint.safetensors" "$out/checkpoint.safetensors" scale gd. || fail "poison_checkpoint failed"
before=$(sha256sum "$out/checkpoint.safetensors" | cut -d' ' -f1)
run --out "$out" --steps 1000000 --resume > /dev/null 2> "$work/diverge.err"
rc=$?
after=$(sha256sum "$out/checkpoint.safetensors" | cut -d' ' -f1)
message=$(grep -m1 "diverged" "$work/diverge.err")
if [ "$rc" -eq 1 ] && [ "$before" = "$after" ] && [ -n "$message" ]; then
  echo "divergence (weights x 1e30): exit status 1, checkpoint unchanged; message: $message"
else
  fail "divergence: exit status $rc, checkpoint unchanged: $([ "$before" = "$after" ] && echo yes || echo no); $(cat "$work/diverge.err")"
fi

# ---- SIGTERM, SIGINT ----
for sig in TERM INT; do
  out="$work/sig$sig"
  "$train" "${common[@]}" --out "$out" --steps 1000000 > /dev/null 2> "$work/sig.err" &
  pid=$!
  for _ in $(seq 1 100); do [ -f "$out/checkpoint.safetensors" ] && break; sleep 0.2; done
  kill -s "$sig" "$pid"
  wait "$pid"
  rc=$?
  want=$([ "$sig" = TERM ] && echo 143 || echo 130)
  line=$(grep -m1 "stopped by SIG$sig after step" "$work/sig.err")
  saved=$(echo "$line" | sed -n 's/.*after step \([0-9]*\).*/\1/p')
  if [ "$rc" -eq "$want" ] && [ -n "$saved" ] && run --out "$out" --steps $((saved + 1)) --resume > /dev/null 2> "$work/sig2.err" &&
     [ "$(step_of "$work/sig2.err")" = "$saved" ]; then
    echo "SIG$sig: exit status $rc, step $saved saved and resumed"
  else
    fail "SIG$sig: exit status $rc (want $want), saved step '$saved'; $(cat "$work/sig.err")"
  fi
done

echo "failures: $failures"
[ "$failures" -eq 0 ]
