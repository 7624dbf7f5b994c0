// What the CPU kernels that work plane by plane (pooling, resizing) share.
#pragma once

#include <algorithm>

#include "tsgan/core/parallel.hpp"

namespace tsgan::kernels::cpu_detail {

// Calls f(i) for every plane i of a gradient, in parallel, zeroing the plane first unless the
// gradient accumulates. One thread writes a whole plane, so scatter-adds inside it (overlapping
// windows, interpolation taps) need no atomics and do not depend on the thread count.
// G provides `planes`, in_plane() (the gradient's plane size) and grain().
template <class G, class T, class F>
void for_each_grad_plane(const G& g, T* dx, bool accumulate, F&& f) {
  parallel_for(g.planes, g.grain(), [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) {
      if (!accumulate) std::fill_n(dx + i * g.in_plane(), g.in_plane(), T(0));
      f(i);
    }
  });
}

}  // namespace tsgan::kernels::cpu_detail
