// 2-D max and average pooling on the CPU, per (image, channel) plane of an NCHW tensor.
//
// Windows start at o·stride − padding and are clipped to the input: padding cells never win a
// maximum (as if −inf) and are counted in an average's divisor only with count_include_pad. In
// ceil mode the last window may reach past the right padding; as in PyTorch, what lies beyond the
// padding is never counted.
// Max pooling keeps the first maximum in scan order (rows, then columns) and lets a NaN win, as
// PyTorch does, and saves its position (within the plane) for the backward pass, which adds
// each output gradient to that position. Planes run in parallel; a plane's gradient is written
// by one thread, so overlapping windows need no atomics and results do not depend on threads.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "tsgan/core/parallel.hpp"
#include "tsgan/core/tensor.hpp"
#include "tsgan/kernels/cpu/planes.hpp"

namespace tsgan::kernels {

struct AdaptivePoolGeometry {
  index_t planes;  // n · c
  index_t h_in, w_in, h_out, w_out;

  index_t in_plane() const { return h_in * w_in; }
  index_t out_plane() const { return h_out * w_out; }
  index_t grain() const { return std::max<index_t>(1, 4096 / std::max<index_t>(1, in_plane())); }
};

struct PoolGeometry {
  index_t planes;  // n · c
  index_t h_in, w_in, h_out, w_out;
  index_t kernel, stride, pad;
  bool count_include_pad;

  index_t in_plane() const { return h_in * w_in; }
  index_t out_plane() const { return h_out * w_out; }
  index_t grain() const { return std::max<index_t>(1, 4096 / std::max<index_t>(1, in_plane())); }
};

template <class D>
struct PoolKernels;

namespace cpu_detail {

// The window of output (oy, ox), clipped to the input: rows [y0, y1), columns [x0, x1); and its
// cells inside the padded input (the divisor of count_include_pad).
struct PoolWindow {
  index_t y0, y1, x0, x1;
  index_t padded_area;
};
inline PoolWindow pool_window(const PoolGeometry& g, index_t oy, index_t ox) {
  const index_t ys = oy * g.stride - g.pad, xs = ox * g.stride - g.pad;
  const index_t padded = (std::min(ys + g.kernel, g.h_in + g.pad) - ys) * (std::min(xs + g.kernel, g.w_in + g.pad) - xs);
  return {std::max<index_t>(ys, 0), std::min(ys + g.kernel, g.h_in), std::max<index_t>(xs, 0),
          std::min(xs + g.kernel, g.w_in), padded};
}

// Adaptive average pooling's bins along one axis (PyTorch's rule): output o averages inputs
// [floor(o·in / out), ceil((o + 1)·in / out)), so bins cover the input and neighbours may overlap.
TSGAN_HD inline index_t adaptive_begin(index_t o, index_t in, index_t out) { return o * in / out; }
TSGAN_HD inline index_t adaptive_end(index_t o, index_t in, index_t out) { return ((o + 1) * in + out - 1) / out; }

}  // namespace cpu_detail

template <>
struct PoolKernels<cpu> {
  // y = the maximum of each window; argmax (may be null) = its position in the input plane.
  template <class T>
  static void max_forward(const PoolGeometry& g, const T* x, T* y, std::int32_t* argmax) {
    parallel_for(g.planes, g.grain(), [&](index_t b, index_t e) {
      for (index_t i = b; i < e; ++i) {
        const T* src = x + i * g.in_plane();
        for (index_t oy = 0; oy < g.h_out; ++oy)
          for (index_t ox = 0; ox < g.w_out; ++ox) {
            const auto w = cpu_detail::pool_window(g, oy, ox);
            index_t best = w.y0 * g.w_in + w.x0;
            T top = src[best];  // kept in a register: src[best] would be a load dependent on the last compare
            for (index_t iy = w.y0; iy < w.y1; ++iy)
              for (index_t ix = w.x0; ix < w.x1; ++ix) {
                const T v = src[iy * g.w_in + ix];
                if (v > top || std::isnan(v)) {
                  top = v;
                  best = iy * g.w_in + ix;
                }
              }
            const index_t o = i * g.out_plane() + oy * g.w_out + ox;
            y[o] = top;
            if (argmax) argmax[o] = static_cast<std::int32_t>(best);
          }
      }
    });
  }

  template <class T>
  static void max_backward(const PoolGeometry& g, const T* dy, const std::int32_t* argmax, T* dx, bool accumulate) {
    cpu_detail::for_each_grad_plane(g, dx, accumulate, [&](index_t i) {
      T* dst = dx + i * g.in_plane();
      for (index_t o = i * g.out_plane(); o < (i + 1) * g.out_plane(); ++o) dst[argmax[o]] += dy[o];
    });
  }

  template <class T>
  static void avg_forward(const PoolGeometry& g, const T* x, T* y) {
    parallel_for(g.planes, g.grain(), [&](index_t b, index_t e) {
      for (index_t i = b; i < e; ++i) {
        const T* src = x + i * g.in_plane();
        for (index_t oy = 0; oy < g.h_out; ++oy)
          for (index_t ox = 0; ox < g.w_out; ++ox) {
            const auto w = cpu_detail::pool_window(g, oy, ox);
            T s = 0;
            for (index_t iy = w.y0; iy < w.y1; ++iy)
              for (index_t ix = w.x0; ix < w.x1; ++ix) s += src[iy * g.w_in + ix];
            y[i * g.out_plane() + oy * g.w_out + ox] = s / T(divisor(g, w));
          }
      }
    });
  }

  template <class T>
  static void avg_backward(const PoolGeometry& g, const T* dy, T* dx, bool accumulate) {
    cpu_detail::for_each_grad_plane(g, dx, accumulate, [&](index_t i) {
      T* dst = dx + i * g.in_plane();
      for (index_t oy = 0; oy < g.h_out; ++oy)
        for (index_t ox = 0; ox < g.w_out; ++ox) {
          const auto w = cpu_detail::pool_window(g, oy, ox);
          const T d = dy[i * g.out_plane() + oy * g.w_out + ox] / T(divisor(g, w));
          for (index_t iy = w.y0; iy < w.y1; ++iy)
            for (index_t ix = w.x0; ix < w.x1; ++ix) dst[iy * g.w_in + ix] += d;
        }
    });
  }

  // y = the mean of each adaptive bin (cpu_detail::adaptive_begin/end).
  template <class T>
  static void adaptive_avg_forward(const AdaptivePoolGeometry& g, const T* x, T* y) {
    parallel_for(g.planes, g.grain(), [&](index_t b, index_t e) {
      for (index_t i = b; i < e; ++i) {
        const T* src = x + i * g.in_plane();
        for (index_t oy = 0; oy < g.h_out; ++oy) {
          const index_t y0 = cpu_detail::adaptive_begin(oy, g.h_in, g.h_out), y1 = cpu_detail::adaptive_end(oy, g.h_in, g.h_out);
          for (index_t ox = 0; ox < g.w_out; ++ox) {
            const index_t x0 = cpu_detail::adaptive_begin(ox, g.w_in, g.w_out), x1 = cpu_detail::adaptive_end(ox, g.w_in, g.w_out);
            T s = 0;
            for (index_t iy = y0; iy < y1; ++iy)
              for (index_t ix = x0; ix < x1; ++ix) s += src[iy * g.w_in + ix];
            y[i * g.out_plane() + oy * g.w_out + ox] = s / T((y1 - y0) * (x1 - x0));
          }
        }
      }
    });
  }

  template <class T>
  static void adaptive_avg_backward(const AdaptivePoolGeometry& g, const T* dy, T* dx, bool accumulate) {
    cpu_detail::for_each_grad_plane(g, dx, accumulate, [&](index_t i) {
      T* dst = dx + i * g.in_plane();
      for (index_t oy = 0; oy < g.h_out; ++oy) {
        const index_t y0 = cpu_detail::adaptive_begin(oy, g.h_in, g.h_out), y1 = cpu_detail::adaptive_end(oy, g.h_in, g.h_out);
        for (index_t ox = 0; ox < g.w_out; ++ox) {
          const index_t x0 = cpu_detail::adaptive_begin(ox, g.w_in, g.w_out), x1 = cpu_detail::adaptive_end(ox, g.w_in, g.w_out);
          const T d = dy[i * g.out_plane() + oy * g.w_out + ox] / T((y1 - y0) * (x1 - x0));
          for (index_t iy = y0; iy < y1; ++iy)
            for (index_t ix = x0; ix < x1; ++ix) dst[iy * g.w_in + ix] += d;
        }
      }
    });
  }

 private:
  static index_t divisor(const PoolGeometry& g, const cpu_detail::PoolWindow& w) {
    return g.count_include_pad ? w.padded_area : (w.y1 - w.y0) * (w.x1 - w.x0);
  }
};

}  // namespace tsgan::kernels
