// Host threading. tsgan's CPU loops split work with OpenMP when the target links it (the tsgan
// CMake target does) and run serially otherwise. The thread count is one process-wide setting
// that also drives Eigen's matrix products and the BLAS library, so `set_num_threads(1)` really
// means one core.
#pragma once

#include <algorithm>
#include <thread>

#include "tsgan/core/config.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace tsgan {

namespace detail {
inline int& thread_setting() {
  static int n = [] {
#if defined(_OPENMP)
    return omp_get_max_threads();
#else
    return 1;
#endif
  }();
  return n;
}

// Set by the BLAS binding (kernels/cpu/gemm.hpp) so that set_num_threads reaches it too.
inline void (*&blas_thread_hook())(int) {
  static void (*hook)(int) = nullptr;
  return hook;
}
}  // namespace detail

inline int num_threads() { return detail::thread_setting(); }

// Whether the caller runs inside an OpenMP parallel region (tsgan's or anyone's). Work started there
// stays on the calling thread: parallel_for runs its body directly, and OpenBLAS's OpenMP build and
// Eigen's product run single-threaded inside a region.
inline bool in_parallel() {
#if defined(_OPENMP)
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

inline void set_num_threads(int n) {
  n = std::max(1, n);
  detail::thread_setting() = n;
#if defined(_OPENMP)
  omp_set_num_threads(n);
#endif
  if (auto hook = detail::blas_thread_hook()) hook(n);
}

// The least work worth a parallel region, in elements touched: below it, waking and joining the
// other threads costs more than the work (many times more when they must be woken from sleep, as
// with OMP_WAIT_POLICY=passive, or when another job holds the core a thread is waiting for).
inline constexpr index_t parallel_min_elements = 32768;

// The grain (items per chunk) for parallel_for over items of `elements` elements each.
inline index_t grain_for(index_t elements) {
  return std::max<index_t>(1, parallel_min_elements / std::max<index_t>(1, elements));
}

// Calls body(begin, end) on disjoint chunks of [0, n) on up to num_threads() threads. Chunk
// boundaries depend only on n, `grain` and the thread count, never on timing. There are up to
// four chunks per thread, handed out as threads become free: on a machine shared with other jobs a
// thread that loses its core for a while does not hold the others up with a fixed share of the
// work.
template <class Body>
void parallel_for(index_t n, index_t grain, Body&& body) {
  if (n <= 0) return;
  const index_t max_chunks = std::max<index_t>(1, n / std::max<index_t>(1, grain));
  const int threads = static_cast<int>(std::min<index_t>(num_threads(), max_chunks));
  if (threads <= 1 || in_parallel()) {
    body(index_t{0}, n);
    return;
  }
#if defined(_OPENMP)
  const index_t chunks = std::min<index_t>(max_chunks, index_t{4} * threads);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (index_t c = 0; c < chunks; ++c) {
    const index_t begin = n * c / chunks, end = n * (c + 1) / chunks;
    if (begin < end) body(begin, end);
  }
#else
  body(index_t{0}, n);
#endif
}

// Calls body(item, slot) for every item in [0, items), one item at a time, on up to `threads`
// threads; slot < threads is the same for every item one thread runs, so it can index per-thread
// scratch. For items of equal, large work (whole images of a convolution) that are better run side
// by side, each single-threaded, than one after the other with every thread inside each.
template <class Body>
void parallel_items(index_t items, int threads, Body&& body) {
  threads = static_cast<int>(std::min<index_t>(std::max(1, threads), items));
  if (threads <= 1 || in_parallel()) {
    for (index_t i = 0; i < items; ++i) body(i, 0);
    return;
  }
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
  {
    const int slot = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
    for (index_t i = 0; i < items; ++i) body(i, slot);
  }
#endif
}

}  // namespace tsgan
