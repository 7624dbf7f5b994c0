// The dual triplet loss's negatives and running centres on the GPU: DualTripletKernels<cuda>, the
// same calls and the same double arithmetic as DualTripletKernels<cpu> (losses/dual_triplet.hpp),
// whose per-item functions both run. The number of centres is read from device memory, never
// passed by value, so a replayed CUDA graph sees the centres it filled. The batch is small: one
// thread per item chooses its negative; the update is one thread per embedding element, walking
// the items in order (an identity twice in a batch moves its centre twice, as on the CPU).
#pragma once

#include <cstdint>

#include "tsgan/kernels/cuda/launch.cuh"

namespace tsgan::kernels {

template <>
struct DualTripletKernels<cuda> {
  template <class T>
  static void negatives(const T* real, index_t n, index_t e, const std::int32_t* roll, const std::int32_t* slot,
                        const T* centres, const std::int64_t* ids, const std::int32_t* count, T* neg) {
    cuda_detail::for_each(n, [=] __device__(index_t b) {
      dual_triplet_detail::negative(real + b * e, real + roll[b] * e, e, slot[b], centres, ids, *count, neg + b * e);
    }, "tsgan::kernels::DualTripletKernels<cuda>::negatives");
  }

  template <class T>
  static void update_centres(const T* real, index_t n, index_t e, const std::int32_t* slot, double momentum, T* centres,
                             std::int32_t* count) {
    // Every thread reads the count before any writes it: the new count is written by a second
    // launch, queued after the first has finished.
    cuda_detail::for_each(e, [=] __device__(index_t k) {
      std::int32_t filled = *count;
      for (index_t b = 0; b < n; ++b) {
        const double norm = dual_triplet_detail::norm(real + b * e, e);
        const bool fresh = slot[b] >= filled;
        T& c = centres[slot[b] * e + k];
        c = dual_triplet_detail::moved(c, real[b * e + k], norm, momentum, fresh);
        if (fresh) filled = slot[b] + 1;
      }
    }, "tsgan::kernels::DualTripletKernels<cuda>::update_centres");
    cuda_detail::for_each(1, [=] __device__(index_t) {
      std::int32_t filled = *count;
      for (index_t b = 0; b < n; ++b)
        if (slot[b] >= filled) filled = slot[b] + 1;
      *count = filled;
    }, "tsgan::kernels::DualTripletKernels<cuda>::update_centres (count)");
  }
};

}  // namespace tsgan::kernels
