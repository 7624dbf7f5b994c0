// Process-wide numeric settings of the GPU backend. They live here, not in kernels/cuda/, so that
// code compiled by a host compiler (a test runner, a training program's main) can set them too;
// on the CPU they change nothing.
//
//  - TF32: float convolutions (cuDNN) and matrix products (cuBLAS) may run on the tensor cores
//    with TF32 inputs (a 10-bit mantissa, FP32 accumulation): several times faster on Ampere and
//    later, with a relative error of about 1e-3 instead of 1e-6. Off by default, so a float on the
//    GPU means what it means on the CPU; training programs turn it on (`set_tf32(true)`), parity
//    tests leave it off. PyTorch's defaults differ (on for cuDNN, off for cuBLAS); tsgan has one
//    switch for both.
//  - Deterministic algorithms: cuDNN's backward algorithms that add with atomics (so give other
//    bits on every run) are never chosen while this is on (the default). Everything else tsgan
//    runs on the GPU is deterministic by construction.
//
// The settings are read when a convolution or product is queued; changing them between steps is
// fine (cuDNN's algorithm choice is cached per setting), changing them while another thread
// queues work is not.
#pragma once

#include <atomic>

namespace tsgan {

namespace detail {
inline std::atomic<bool>& tf32_setting() {
  static std::atomic<bool> on{false};
  return on;
}
inline std::atomic<bool>& deterministic_setting() {
  static std::atomic<bool> on{true};
  return on;
}
}  // namespace detail

inline void set_tf32(bool on) { detail::tf32_setting().store(on, std::memory_order_relaxed); }
inline bool tf32_enabled() { return detail::tf32_setting().load(std::memory_order_relaxed); }

inline void set_deterministic(bool on) { detail::deterministic_setting().store(on, std::memory_order_relaxed); }
inline bool deterministic_enabled() { return detail::deterministic_setting().load(std::memory_order_relaxed); }

// Sets TF32 for the lifetime of the guard, then restores the previous setting.
class Tf32Scope {
 public:
  explicit Tf32Scope(bool on) : previous_(tf32_enabled()) { set_tf32(on); }
  ~Tf32Scope() { set_tf32(previous_); }
  Tf32Scope(const Tf32Scope&) = delete;
  Tf32Scope& operator=(const Tf32Scope&) = delete;

 private:
  bool previous_;
};

}  // namespace tsgan
