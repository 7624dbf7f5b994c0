// Opt-in timing of where a training step spends its time, by kind of operation.
//
// With TSGAN_PROFILE=1 in the environment (read once), ops time themselves with a Scope on the
// calling thread: a convolution's forward and backward, and inside them its GEMMs and its
// im2col/col2im copies; batch norm; fused elementwise expressions; reductions; layout copies; the
// optimizer. Without it a Scope costs one test of a cached flag. Each scope records wall-clock time
// and the process's CPU time (all threads; on a machine shared with other jobs, the CPU time of a
// one-thread run is the steadier figure). Times are inclusive (a conv's GEMM time is inside its
// forward or backward time), so the categories of one level add up to at most the step; report()
// prints them as a table. Inside a parallel region whose threads each run an op of their own (the
// image-parallel convolutions), only the region's first thread records: its wall-clock and the
// process's CPU time over its scopes stand for the team, which runs the same ops beside it, and its
// calls are counted, not the team's.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <ctime>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace tsgan::profile {

enum class Op : int {
  conv_forward,
  conv_backward,
  conv_gemm,     // inside conv_forward / conv_backward
  conv_unfold,   // im2col, col2im and the batch reshuffles, inside conv_forward / conv_backward
  norm_forward,
  norm_backward,
  elementwise_forward,
  elementwise_backward,
  reduce_forward,
  reduce_backward,
  layout_forward,
  layout_backward,
  optimizer,
  count
};

inline constexpr std::array<const char*, static_cast<int>(Op::count)> op_names{
    "conv forward",         "conv backward",         "  of which GEMM",  "  of which im2col/col2im",
    "batch norm forward",   "batch norm backward",   "elementwise forward", "elementwise backward",
    "reduction forward",    "reduction backward",    "layout forward",   "layout backward",
    "optimizer"};

// The first thread of the innermost parallel region, or a thread outside any.
inline bool recording_thread() {
#if defined(_OPENMP)
  return omp_get_thread_num() == 0;
#else
  return true;
#endif
}

inline bool enabled() {
  static const bool on = [] {
    const char* v = std::getenv("TSGAN_PROFILE");
    return v != nullptr && *v != '\0' && std::string(v) != "0";
  }();
  return on;
}

struct Totals {
  std::array<std::atomic<std::int64_t>, static_cast<int>(Op::count)> ns{};
  std::array<std::atomic<std::int64_t>, static_cast<int>(Op::count)> cpu_ns{};
  std::array<std::atomic<std::int64_t>, static_cast<int>(Op::count)> calls{};
};

// CPU time of the whole process, every thread, in nanoseconds.
inline std::int64_t process_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

inline Totals& totals() {
  static Totals t;
  return t;
}

inline void reset() {
  for (auto& v : totals().ns) v.store(0, std::memory_order_relaxed);
  for (auto& v : totals().cpu_ns) v.store(0, std::memory_order_relaxed);
  for (auto& v : totals().calls) v.store(0, std::memory_order_relaxed);
}

// Seconds recorded for an op since the last reset().
inline double seconds(Op op) { return double(totals().ns[static_cast<int>(op)].load()) * 1e-9; }
inline double cpu_seconds(Op op) { return double(totals().cpu_ns[static_cast<int>(op)].load()) * 1e-9; }
inline std::int64_t calls(Op op) { return totals().calls[static_cast<int>(op)].load(); }

class Scope {
 public:
  explicit Scope(Op op) : op_(op), on_(enabled() && recording_thread()) {
    if (!on_) return;
    start_ = std::chrono::steady_clock::now();
    cpu_start_ = process_cpu_ns();
  }
  ~Scope() {
    if (!on_) return;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start_);
    totals().ns[static_cast<int>(op_)].fetch_add(ns.count(), std::memory_order_relaxed);
    totals().cpu_ns[static_cast<int>(op_)].fetch_add(process_cpu_ns() - cpu_start_, std::memory_order_relaxed);
    totals().calls[static_cast<int>(op_)].fetch_add(1, std::memory_order_relaxed);
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  Op op_;
  bool on_;
  std::chrono::steady_clock::time_point start_{};
  std::int64_t cpu_start_ = 0;
};

// A markdown table of the ops' times per step (`steps` steps since the last reset) and their shares
// of one step's wall-clock and CPU time (step_seconds, step_cpu_seconds).
inline std::string report(int steps, double step_seconds, double step_cpu_seconds) {
  std::string out = "| op | calls/step | ms/step | share | CPU ms/step | CPU share |\n|---|---|---|---|---|---|\n";
  char line[200];
  for (int i = 0; i < static_cast<int>(Op::count); ++i) {
    const Op op = static_cast<Op>(i);
    if (calls(op) == 0) continue;
    const double s = seconds(op) / steps, c = cpu_seconds(op) / steps;
    std::snprintf(line, sizeof line, "| %s | %.0f | %.2f | %.1f %% | %.2f | %.1f %% |\n",
                  op_names[static_cast<std::size_t>(i)], double(calls(op)) / steps, 1e3 * s, 100 * s / step_seconds,
                  1e3 * c, 100 * c / step_cpu_seconds);
    out += line;
  }
  return out;
}

}  // namespace tsgan::profile
