// 2-D pooling on the GPU: PoolKernels<cuda>, the same calls and semantics as PoolKernels<cpu>
// (kernels/cpu/pool.hpp), with our own kernels.
//
// Not cuDNN: cudnnPoolingForward keeps no argmax, so its max-pooling backward re-derives the
// winner from x and y and sends the gradient to every tied maximum (or whichever its kernel
// meets), while tsgan (like PyTorch) sends it to the first maximum in scan order; and cuDNN's
// pooling API is deprecated in cuDNN 9. Ours mirror the CPU exactly: one thread per output scans
// its window row by row keeping the first maximum (a NaN wins) and saves its position. The
// backward passes are gathers, not scatters: one thread per input element adds, in output order,
// the gradients of the windows that contain it (max: only those whose saved position is this
// element), so no atomics and the same bits on every run.
#pragma once

#include <cstdint>

#include "tsgan/kernels/cpu/pool.hpp"
#include "tsgan/kernels/cuda/launch.cuh"

namespace tsgan::kernels {
namespace cuda_detail {

// The clipped window of output (oy, ox), as cpu_detail::pool_window.
TSGAN_HD inline cpu_detail::PoolWindow pool_window(const PoolGeometry& g, index_t oy, index_t ox) {
  const index_t ys = oy * g.stride - g.pad, xs = ox * g.stride - g.pad;
  const index_t ye = ys + g.kernel < g.h_in + g.pad ? ys + g.kernel : g.h_in + g.pad;
  const index_t xe = xs + g.kernel < g.w_in + g.pad ? xs + g.kernel : g.w_in + g.pad;
  return {ys > 0 ? ys : 0, ys + g.kernel < g.h_in ? ys + g.kernel : g.h_in, xs > 0 ? xs : 0,
          xs + g.kernel < g.w_in ? xs + g.kernel : g.w_in, (ye - ys) * (xe - xs)};
}

TSGAN_HD inline index_t pool_divisor(const PoolGeometry& g, const cpu_detail::PoolWindow& w) {
  return g.count_include_pad ? w.padded_area : (w.y1 - w.y0) * (w.x1 - w.x0);
}

// The outputs along one axis whose windows contain input position i: [lo, hi).
TSGAN_HD inline void covering(index_t i, index_t pad, index_t kernel, index_t stride, index_t out, index_t& lo,
                              index_t& hi) {
  // o·stride − pad <= i < o·stride − pad + kernel
  const index_t a = i + pad - kernel + 1;  // o·stride >= a
  lo = a <= 0 ? 0 : (a + stride - 1) / stride;
  hi = (i + pad) / stride + 1;
  if (hi > out) hi = out;
}

}  // namespace cuda_detail

template <>
struct PoolKernels<cuda> {
  template <class T>
  static void max_forward(const PoolGeometry& g, const T* x, T* y, std::int32_t* argmax) {
    const PoolGeometry geo = g;
    const index_t in_plane = g.in_plane(), out_plane = g.out_plane();
    cuda_detail::for_each(g.planes * g.out_plane(), [=] __device__(index_t o) {
      const index_t plane = o / out_plane, r = o % out_plane;
      const auto w = cuda_detail::pool_window(geo, r / geo.w_out, r % geo.w_out);
      const T* src = x + plane * in_plane;
      index_t best = w.y0 * geo.w_in + w.x0;
      T best_v = src[best];
      for (index_t iy = w.y0; iy < w.y1; ++iy)
        for (index_t ix = w.x0; ix < w.x1; ++ix) {
          const T v = src[iy * geo.w_in + ix];
          if (v > best_v || v != v) {
            best = iy * geo.w_in + ix;
            best_v = v;
          }
        }
      y[o] = best_v;
      if (argmax) argmax[o] = static_cast<std::int32_t>(best);
    }, "tsgan::kernels::PoolKernels<cuda>::max_forward");
  }

  template <class T>
  static void max_backward(const PoolGeometry& g, const T* dy, const std::int32_t* argmax, T* dx, bool accumulate) {
    const PoolGeometry geo = g;
    const index_t in_plane = g.in_plane(), out_plane = g.out_plane();
    cuda_detail::for_each(g.planes * g.in_plane(), [=] __device__(index_t i) {
      const index_t plane = i / in_plane, pos = i % in_plane;
      const index_t iy = pos / geo.w_in, ix = pos % geo.w_in;
      index_t y0, y1, x0, x1;
      cuda_detail::covering(iy, geo.pad, geo.kernel, geo.stride, geo.h_out, y0, y1);
      cuda_detail::covering(ix, geo.pad, geo.kernel, geo.stride, geo.w_out, x0, x1);
      T s = 0;
      for (index_t oy = y0; oy < y1; ++oy)
        for (index_t ox = x0; ox < x1; ++ox) {
          const index_t o = plane * out_plane + oy * geo.w_out + ox;
          if (argmax[o] == pos) s += dy[o];
        }
      dx[i] = accumulate ? dx[i] + s : s;
    }, "tsgan::kernels::PoolKernels<cuda>::max_backward");
  }

  template <class T>
  static void avg_forward(const PoolGeometry& g, const T* x, T* y) {
    const PoolGeometry geo = g;
    const index_t in_plane = g.in_plane(), out_plane = g.out_plane();
    cuda_detail::for_each(g.planes * g.out_plane(), [=] __device__(index_t o) {
      const index_t plane = o / out_plane, r = o % out_plane;
      const auto w = cuda_detail::pool_window(geo, r / geo.w_out, r % geo.w_out);
      const T* src = x + plane * in_plane;
      T s = 0;
      for (index_t iy = w.y0; iy < w.y1; ++iy)
        for (index_t ix = w.x0; ix < w.x1; ++ix) s += src[iy * geo.w_in + ix];
      y[o] = s / T(cuda_detail::pool_divisor(geo, w));
    }, "tsgan::kernels::PoolKernels<cuda>::avg_forward");
  }

  template <class T>
  static void avg_backward(const PoolGeometry& g, const T* dy, T* dx, bool accumulate) {
    const PoolGeometry geo = g;
    const index_t in_plane = g.in_plane(), out_plane = g.out_plane();
    cuda_detail::for_each(g.planes * g.in_plane(), [=] __device__(index_t i) {
      const index_t plane = i / in_plane, pos = i % in_plane;
      const index_t iy = pos / geo.w_in, ix = pos % geo.w_in;
      index_t y0, y1, x0, x1;
      cuda_detail::covering(iy, geo.pad, geo.kernel, geo.stride, geo.h_out, y0, y1);
      cuda_detail::covering(ix, geo.pad, geo.kernel, geo.stride, geo.w_out, x0, x1);
      T s = 0;
      for (index_t oy = y0; oy < y1; ++oy)
        for (index_t ox = x0; ox < x1; ++ox) {
          const auto w = cuda_detail::pool_window(geo, oy, ox);
          s += dy[plane * out_plane + oy * geo.w_out + ox] / T(cuda_detail::pool_divisor(geo, w));
        }
      dx[i] = accumulate ? dx[i] + s : s;
    }, "tsgan::kernels::PoolKernels<cuda>::avg_backward");
  }

  template <class T>
  static void adaptive_avg_forward(const AdaptivePoolGeometry& g, const T* x, T* y) {
    const AdaptivePoolGeometry geo = g;
    const index_t in_plane = g.in_plane(), out_plane = g.out_plane();
    cuda_detail::for_each(g.planes * g.out_plane(), [=] __device__(index_t o) {
      const index_t plane = o / out_plane, oy = o % out_plane / geo.w_out, ox = o % geo.w_out;
      const index_t y0 = cpu_detail::adaptive_begin(oy, geo.h_in, geo.h_out), y1 = cpu_detail::adaptive_end(oy, geo.h_in, geo.h_out);
      const index_t x0 = cpu_detail::adaptive_begin(ox, geo.w_in, geo.w_out), x1 = cpu_detail::adaptive_end(ox, geo.w_in, geo.w_out);
      const T* src = x + plane * in_plane;
      T s = 0;
      for (index_t iy = y0; iy < y1; ++iy)
        for (index_t ix = x0; ix < x1; ++ix) s += src[iy * geo.w_in + ix];
      y[o] = s / T((y1 - y0) * (x1 - x0));
    }, "tsgan::kernels::PoolKernels<cuda>::adaptive_avg_forward");
  }

  // A gather like avg_backward: input i along an axis lies in the bins
  // [floor(i·out / in), ceil((i + 1)·out / in)).
  template <class T>
  static void adaptive_avg_backward(const AdaptivePoolGeometry& g, const T* dy, T* dx, bool accumulate) {
    const AdaptivePoolGeometry geo = g;
    const index_t in_plane = g.in_plane(), out_plane = g.out_plane();
    cuda_detail::for_each(g.planes * g.in_plane(), [=] __device__(index_t i) {
      const index_t plane = i / in_plane, iy = i % in_plane / geo.w_in, ix = i % geo.w_in;
      const index_t oy0 = cpu_detail::adaptive_begin(iy, geo.h_out, geo.h_in), oy1 = cpu_detail::adaptive_end(iy, geo.h_out, geo.h_in);
      const index_t ox0 = cpu_detail::adaptive_begin(ix, geo.w_out, geo.w_in), ox1 = cpu_detail::adaptive_end(ix, geo.w_out, geo.w_in);
      T s = 0;
      for (index_t oy = oy0; oy < oy1; ++oy) {
        const index_t rows = cpu_detail::adaptive_end(oy, geo.h_in, geo.h_out) - cpu_detail::adaptive_begin(oy, geo.h_in, geo.h_out);
        for (index_t ox = ox0; ox < ox1; ++ox) {
          const index_t cols = cpu_detail::adaptive_end(ox, geo.w_in, geo.w_out) - cpu_detail::adaptive_begin(ox, geo.w_in, geo.w_out);
          s += dy[plane * out_plane + oy * geo.w_out + ox] / T(rows * cols);
        }
      }
      dx[i] = accumulate ? dx[i] + s : s;
    }, "tsgan::kernels::PoolKernels<cuda>::adaptive_avg_backward");
  }
};

}  // namespace tsgan::kernels
