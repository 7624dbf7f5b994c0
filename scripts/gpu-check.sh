#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU, a CUDA toolkit (nvcc), CMake and Python but no
# Debian packages: builds tsgan_tests_cuda, tsgan-bench-tsgan-gpu and tsgan-bench-pix2pix-gpu for
# sm_90, runs the tests, times TSGAN<config::Paper>'s training step on the GPU eagerly and as a
# replayed CUDA graph against the PyTorch TSGAN (bench/reference/tsgan.py: eagerly, and with
# torch.compile where torch has it), measures TF32's error on the step's loss terms, runs the
# pix2pix training-step benchmark (tsgan eagerly and as a CUDA graph, and PyTorch's
# bench/reference/pix2pix.py on the same GPU when python3 imports torch with CUDA), runs
# compute-sanitizer's memcheck on a short selection, and writes a report with the machine, the
# date, the results, the timings, the benchmark tables and the raw logs.
#
#   here (Debian, once per change of dependencies):  scripts/make-gpu-deps.sh
#   there:                                            scripts/gpu-check.sh
#
# The header-only dependencies come from gpu-deps/ (made by make-gpu-deps.sh, git-ignored: carry it
# with the working tree). cuDNN is taken from PyTorch's pip package nvidia-cudnn-cu13 when present,
# else from site-packages or the CUDA toolkit. Output: $OUT/report.md and logs beside it, or
# ./gpu-report/ when OUT is unset. Exit status: 0 when the build, the tests and memcheck all pass.
#
# Budget: everything ends within TSGAN_GPU_CHECK_BUDGET_S seconds (default 450; the machine this
# is for allows 8 minutes): each step gets what is left, less a reserve for the steps after it.
# Order of importance: build, tests, TSGAN's step (eager, graph, without TF32, PyTorch), the pix2pix
# benchmark, memcheck. TSGAN_GPU_CHECK_BENCH=0 skips the pix2pix benchmark;
# TSGAN_GPU_CHECK_BENCH_STEPS sets the timed steps of every benchmark run (default 20).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${OUT:-$root/gpu-report}
mkdir -p "$out"
build=${TSGAN_GPU_BUILD_DIR:-$root/build-gpu}
budget=${TSGAN_GPU_CHECK_BUDGET_S:-450}
jobs=${TSGAN_GPU_CHECK_JOBS:-$(nproc)}
bench_on=${TSGAN_GPU_CHECK_BENCH:-1}
bench_steps=${TSGAN_GPU_CHECK_BENCH_STEPS:-20}
started=$SECONDS
declare -A took status
note() { echo "gpu-check: $*" | tee -a "$out/steps.log"; }

# Seconds step `name` may run: what is left of the budget less `reserve`, capped at `cap`.
allowance() {
  local cap=$1 reserve=$2 left=$((budget - (SECONDS - started) - reserve))
  ((left > cap)) && left=$cap
  ((left < 10)) && left=10
  echo "$left"
}
# step NAME CAP RESERVE LOG CMD...: runs CMD under a time limit, logs everything, records status.
step() {
  local name=$1 cap=$2 reserve=$3 log=$4
  shift 4
  local limit t0=$SECONDS
  limit=$(allowance "$cap" "$reserve")
  note "$name (limit ${limit} s): $*"
  timeout --kill-after=10 "$limit" "$@" >>"$log" 2>&1
  status[$name]=$?
  took[$name]=$((SECONDS - t0))
  ((status[$name] == 124 || status[$name] == 137)) && note "$name: stopped at its time limit"
  note "$name: exit ${status[$name]} after ${took[$name]} s"
  return "${status[$name]}"
}

: >"$out/steps.log"

# ---- the machine ---------------------------------------------------------------------------------
{
  echo "## date"; date -u +%Y-%m-%dT%H:%M:%SZ
  echo "## nvidia-smi"; nvidia-smi 2>&1 || echo "nvidia-smi failed"
  echo "## nvidia-smi -q (clocks, memory)"; nvidia-smi -q -d CLOCK,MEMORY 2>&1 | head -n 80
  echo "## CPU"; lscpu 2>&1 | head -n 20
  echo "## OS"; cat /etc/os-release 2>&1; uname -a
} >"$out/machine.txt"

nvcc=$(command -v nvcc || true)
[[ -z $nvcc && -x /usr/local/cuda/bin/nvcc ]] && nvcc=/usr/local/cuda/bin/nvcc
sanitizer=$(command -v compute-sanitizer || true)
[[ -z $sanitizer && -x /usr/local/cuda/bin/compute-sanitizer ]] && sanitizer=/usr/local/cuda/bin/compute-sanitizer
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)

# cuDNN: PyTorch's wheel first, then any site-packages, then the toolkit and the usual prefixes.
find_cudnn() {
  local d
  d=$(python3 -c "import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))" 2>/dev/null) ||
    d=$(python3 -c "import nvidia.cudnn; print(list(nvidia.cudnn.__path__)[0])" 2>/dev/null) || d=""
  if [[ -n $d && -f $d/include/cudnn.h ]]; then echo "$d"; return; fi
  local sp
  for sp in $(python3 -c "import site, sys; print(' '.join(site.getsitepackages() + [site.getusersitepackages()] + sys.path))" 2>/dev/null); do
    if [[ -f $sp/nvidia/cudnn/include/cudnn.h ]]; then echo "$sp/nvidia/cudnn"; return; fi
  done
  for d in "${CUDNN_ROOT:-}" /usr/local/cuda /usr/local/cudnn /usr; do
    if [[ -n $d && ( -f $d/include/cudnn.h || -f $d/include/x86_64-linux-gnu/cudnn.h ) ]]; then echo "$d"; return; fi
  done
}
cudnn_root=$(find_cudnn)

{
  echo "## tools"
  echo "nvcc: ${nvcc:-not found}"; [[ -n $nvcc ]] && "$nvcc" --version
  echo "cmake: $(cmake --version 2>&1 | head -n 1)"
  echo "generator: ${generator[*]:-Unix Makefiles}"
  echo "c++: $(c++ --version 2>&1 | head -n 1)"
  echo "compute-sanitizer: ${sanitizer:-not found}"
  echo "python3: $(python3 --version 2>&1)"
  echo "cuDNN root: ${cudnn_root:-not found}"
  [[ -n $cudnn_root ]] && ls "$cudnn_root" "$cudnn_root/lib" 2>&1 | head -n 30
  echo "## cuBLAS in the toolkit"
  ls "$(dirname "$(dirname "${nvcc:-/usr/local/cuda/bin/nvcc}")")"/lib64/libcublas* 2>&1 | head
  echo "## gpu-deps"; cat "$root/gpu-deps/MANIFEST.txt" 2>&1
  echo "## tsgan"; git -C "$root" log -1 --format='%H %s' 2>&1; git -C "$root" status --short 2>&1 | head -n 20
} >"$out/environment.txt" 2>&1

problems=()
[[ -d $root/gpu-deps ]] || problems+=("gpu-deps/ is missing: run scripts/make-gpu-deps.sh on the Debian machine and carry it")
[[ -n $nvcc ]] || problems+=("nvcc not found")
[[ -n $cudnn_root ]] || problems+=("cuDNN not found (nvidia-cudnn-cu13, site-packages, /usr/local/cuda)")

# ---- configure, build, test ----------------------------------------------------------------------
if ((${#problems[@]} == 0)); then
  export LD_LIBRARY_PATH="$cudnn_root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  step configure 120 330 "$out/build.log" \
    cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
      -DTSGAN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_COMPILER="$nvcc" \
      -DCUDNN_ROOT="$cudnn_root" -DCMAKE_PREFIX_PATH="$root/gpu-deps" \
      -DCMAKE_FIND_PACKAGE_PREFER_CONFIG=ON -DTSGAN_BUILD_BENCH=ON -DTSGAN_BUILD_EXAMPLES=OFF &&
  # Only the targets this check runs (nvcc is slow; the examples and CPU benchmarks are not needed).
  step build 400 130 "$out/build.log" cmake --build "$build" -j "$jobs" --target tsgan_tests_cuda \
    tsgan-bench-tsgan-gpu tsgan-bench-pix2pix-gpu
  if [[ ${status[build]:-1} == 0 ]]; then
    tests="$build/tests/tsgan_tests_cuda"
    step tests 150 70 "$out/tests.log" "$tests" --duration=true
    # TSGAN itself at the paper's size: one discriminator and two generator steps per training step,
    # every loss term, φ with random weights; eagerly (train_step) and recorded as a CUDA graph and
    # replayed (train_step_graph), with TF32; then one eager step without TF32, whose first-step
    # loss terms against the TF32 run's are TF32's accuracy cost (same weights, same batch).
    : >"$out/tsgan-step.jsonl"
    tsgan_bench() {
      local name=$1 cap=$2
      shift 2
      step "$name" "$cap" 60 "$out/$name.log" "$build/bench/tsgan-bench-tsgan-gpu" "$@"
      grep '^{' "$out/$name.log" 2>/dev/null | tail -n 1 >>"$out/tsgan-step.jsonl"
    }
    tsgan_bench tsgan-step 90 --mode eager --steps "$bench_steps" --warmup 2 --tf32 1
    tsgan_bench tsgan-graph 90 --mode graph --steps "$bench_steps" --warmup 3 --tf32 1
    tsgan_bench tsgan-exact 60 --mode eager --steps 1 --warmup 1 --tf32 0
    # The PyTorch TSGAN (bench/reference/tsgan.py, the same architecture, losses and step) on the
    # same GPU with TF32, eagerly and with torch.compile where the installed torch has it.
    if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" >>"$out/tsgan-torch.log" 2>&1; then
      step torch-tsgan 120 60 "$out/tsgan-torch.log" python3 "$root/bench/reference/tsgan.py" --config paper \
        --device cuda --tf32 1 --steps "$bench_steps" --warmup 3
      if python3 -c "import torch, sys; sys.exit(0 if hasattr(torch, 'compile') else 1)" >>"$out/tsgan-torch.log" 2>&1; then
        step torch-tsgan-compile 180 60 "$out/tsgan-torch-compile.log" python3 "$root/bench/reference/tsgan.py" \
          --config paper --device cuda --tf32 1 --compile --steps "$bench_steps" --warmup 3
        grep '^{' "$out/tsgan-torch-compile.log" 2>/dev/null | tail -n 1 >>"$out/tsgan-step.jsonl"
      else
        note "torch-tsgan-compile: torch has no torch.compile: not run"
      fi
      grep '^{' "$out/tsgan-torch.log" 2>/dev/null | tail -n 1 >>"$out/tsgan-step.jsonl"
    else
      note "torch-tsgan: python3 has no torch with CUDA: the PyTorch TSGAN is not run"
    fi
    if [[ $bench_on == 1 ]]; then
      bench="$build/bench/tsgan-bench-pix2pix-gpu"
      : >"$out/bench.jsonl"
      torch_ok=0
      if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" >>"$out/bench.log" 2>&1; then
        torch_ok=1
      else
        note "bench: python3 has no torch with CUDA: the PyTorch reference is not run"
      fi
      # bench NAME CAP CMD...: one run; its last output line (the JSON object) goes to bench.jsonl.
      bench() {
        local name=$1 cap=$2
        shift 2
        step "bench-$name" "$cap" 30 "$out/bench-$name.log" "$@"
        local last
        last=$(grep '^{' "$out/bench-$name.log" | tail -n 1)
        [[ -n $last ]] && echo "$last" >>"$out/bench.jsonl"
        return 0
      }
      for batch in 6 64; do
        for mode in eager graph; do
          bench "tsgan-$mode-b$batch" 60 "$bench" --config paper --batch "$batch" --mode "$mode" --steps "$bench_steps" --warmup 3 --tf32 1
        done
        if [[ $torch_ok == 1 ]]; then
          bench "pytorch-eager-b$batch" 90 python3 "$root/bench/reference/pix2pix.py" --config paper --batch "$batch" \
            --device cuda --steps "$bench_steps" --warmup 3 --tf32 1 --threads 1
        fi
      done
    else
      status[bench]=skipped
    fi
    if [[ -n $sanitizer ]]; then
      # The GPU instances of the elementwise, broadcast, context and graph tests (every kernel kind
      # of the expression engine, small sizes; memcheck is slow) ...
      step memcheck 120 60 "$out/memcheck.log" "$sanitizer" --tool memcheck --error-exitcode 86 \
        "$tests" --test-suite="expr.ops,expr.broadcast,cuda.context,cuda.graph,losses" --test-case-exclude="*<cpu>"
      # ... and the light cases of the op families: every op kernel at least once (the heavy
      # finite-difference cases stay out).
      step memcheck-ops 100 0 "$out/memcheck.log" "$sanitizer" --tool memcheck --error-exitcode 86 \
        "$tests" --test-case="*TF32*,*tied maxima*,*padding cells*,*NaN in a window*,*by hand*,*reshape keeps*,*flip_horizontal*,*total variation*,*mean far from zero*,*state is exposed*,*Var used twice*" \
        --test-case-exclude="*<cpu>"
    else
      status[memcheck]=skipped
      status[memcheck-ops]=skipped
    fi
  fi
else
  for p in "${problems[@]}"; do note "cannot build: $p"; done
fi

# ---- the report ----------------------------------------------------------------------------------
result() { echo "${status[$1]:-not run}"; }
seconds() { [[ -n ${took[$1]:-} ]] && echo "${took[$1]} s" || echo "-"; }
summary() { [[ -f $1 ]] && grep -E "$2" "$1" | tail -n 5 | sed 's/^/    /'; }
ok=1
for s in configure build tests tsgan-step tsgan-graph tsgan-exact; do [[ $(result "$s") == 0 ]] || ok=0; done
[[ $(result memcheck) == 0 || $(result memcheck) == skipped ]] || ok=0
[[ $(result memcheck-ops) == 0 || $(result memcheck-ops) == skipped ]] || ok=0
# A tsgan benchmark run that fails is a bug (the PyTorch reference's failures are only reported).
for s in "${!status[@]}"; do [[ $s == bench-tsgan-* && ${status[$s]} != 0 ]] && ok=0; done
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
skipped=$(grep -c 'no CUDA device: skipped' "$out/tests.log" 2>/dev/null)
# On a machine with a GPU, a GPU test that skipped itself is a failure: the binary saw no device.
if [[ -n $gpu && ${skipped:-0} -gt 0 ]]; then
  ok=0
  problems+=("nvidia-smi lists a GPU but tsgan_tests_cuda skipped ${skipped} GPU cases (cuda_available() was false)")
fi
{
  echo "# tsgan GPU check"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- machine: ${gpu:-no GPU reported by nvidia-smi}; $(nproc) CPU cores"
  echo "- tsgan: $(git -C "$root" log -1 --format='%h %s' 2>/dev/null)$( [[ -n $(git -C "$root" status --short 2>/dev/null) ]] && echo ' (with local changes)')"
  echo "- nvcc: $([[ -n $nvcc ]] && "$nvcc" --version | tail -n 1); cuDNN: ${cudnn_root:-not found}"
  echo "- result: $([[ $ok == 1 ]] && echo PASS || echo FAIL)"
  echo
  echo "| step | exit | time |"
  echo "|---|---|---|"
  for s in configure build tests tsgan-step tsgan-graph tsgan-exact torch-tsgan torch-tsgan-compile memcheck memcheck-ops; do
    echo "| $s | $(result "$s") | $(seconds "$s") |"
  done
  for s in $(printf '%s\n' "${!status[@]}" | grep '^bench-' | sort); do echo "| $s | $(result "$s") | $(seconds "$s") |"; done
  echo "| total | | $((SECONDS - started)) s |"
  echo
  for p in "${problems[@]}"; do echo "- problem: $p"; done
  echo "## tests (tsgan_tests_cuda)"
  summary "$out/tests.log" '^\[doctest\] (test cases|assertions|Status)'
  echo "  skipped GPU cases: ${skipped:-0}"
  echo "  failures:"
  grep -E "ERROR:|FATAL ERROR|CHECK\(|REQUIRE\(" "$out/tests.log" 2>/dev/null | head -n 20 | sed 's/^/    /'
  echo "  slowest test cases (doctest --duration):"
  grep -E "^[0-9.]+ s: " "$out/tests.log" 2>/dev/null | sort -rn | head -n 8 | sed 's/^/    /'
  echo
  echo "## TSGAN training step on the GPU (config::Paper: 128x128, batch 6; φ with random weights)"
  if [[ -s $out/tsgan-step.jsonl ]]; then
    python3 - "$out/tsgan-step.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| framework | mode | TF32 | ms/step (median) | min | max | peak device MB | L_G |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['framework']} | {r.get('mode', 'eager')} | {r.get('tf32')} | {r['ms_per_step']:.3f} | {r['ms_min']:.3f} | "
          f"{r['ms_max']:.3f} | {r.get('peak_device_mb')} | {r['L_G']} |")
def pick(framework, mode, tf32=True):
    return next((r for r in rows if r["framework"] == framework and r.get("mode") == mode and r.get("tf32") == tf32), None)
torch_eager = pick("torch", "eager")
for mode in ("eager", "graph"):
    ours = pick("tsgan", mode)
    for ref_mode in ("eager", "compile"):
        ref = pick("torch", ref_mode)
        if ours and ref:
            print(f"\n- tsgan {mode} / PyTorch {ref_mode}: {ours['ms_per_step'] / ref['ms_per_step']:.2f}x (goal <= 0.5x PyTorch eager)", end="")
print()
exact, fast = pick("tsgan", "eager", False), pick("tsgan", "eager", True)
if exact and fast and "first" in exact and "first" in fast:
    print("\nTF32's accuracy cost: the first step's loss terms (same weights and batch), TF32 on vs off, relative difference:\n")
    print("| term | TF32 off | TF32 on | relative difference |")
    print("|---|---|---|---|")
    worst = 0.0
    for name, off in exact["first"].items():
        on = fast["first"].get(name)
        if on is None:
            continue
        rel = abs(on - off) / abs(off) if off else abs(on)
        worst = max(worst, rel)
        print(f"| {name} | {off:.9g} | {on:.9g} | {rel:.2e} |")
    print(f"\n- worst relative difference: {worst:.2e}")
PY
    echo
    echo "  (raw JSON: tsgan-step.jsonl; logs: tsgan-step.log, tsgan-graph.log, tsgan-exact.log, tsgan-torch*.log)"
  else
    echo "  not run or no result (see steps.log and tsgan-step.log)"
  fi
  echo
  echo "## pix2pix training step on the GPU (paper config: 128x128, base 64; TF32 on)"
  if [[ -s $out/bench.jsonl ]]; then
    python3 - "$out/bench.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| framework | mode | batch | ms/step (median) | min | max | GFLOP/s | peak device MB | reserved MB |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['framework']} | {r.get('mode', 'eager')} | {r.get('batch', '')} | {r['ms_per_step']} | {r['ms_min']} | "
          f"{r['ms_max']} | {r['gflops']} | {r.get('peak_device_mb', '')} | {r.get('reserved_device_mb', '')} |")
ref = {r.get("batch"): r for r in rows if r["framework"] == "pytorch"}
for r in rows:
    p = ref.get(r.get("batch"))
    if r["framework"] == "tsgan" and p:
        print(f"\n- batch {r['batch']}, tsgan {r['mode']}: {r['ms_per_step'] / p['ms_per_step']:.2f}x PyTorch's time "
              f"(tsgan losses D {r['loss_d']}, G {r['loss_g']}; PyTorch D {p['loss_d']}, G {p['loss_g']})", end="")
print()
PY
    echo
    echo "  (raw JSON: bench.jsonl; logs: bench-*.log. Losses differ: the frameworks draw other weights and data.)"
  else
    echo "  not run or no result (see steps.log)"
  fi
  echo
  echo "## compute-sanitizer memcheck"
  [[ -z $sanitizer ]] && echo "  compute-sanitizer not found: not run"
  summary "$out/memcheck.log" 'ERROR SUMMARY|\[doctest\] (test cases|Status)'
  echo
  echo "## build"
  echo "  warnings: $(grep -c 'warning' "$out/build.log" 2>/dev/null || echo 0); errors:"
  grep -E "error" "$out/build.log" 2>/dev/null | head -n 10 | sed 's/^/    /'
  echo
  echo "Raw logs beside this file: machine.txt, environment.txt, steps.log, build.log, tests.log, tsgan-step.log, tsgan-step.jsonl, bench-*.log, bench.jsonl, memcheck.log."
} >"$out/report.md"
cat "$out/report.md"
[[ $ok == 1 ]]
