// Resizing of the planes of an NCHW tensor on the CPU: nearest neighbour and bilinear.
//
// Both are separable, so each output row and column has precomputed taps (source indices and
// weights) and a plane is a gather of those taps. Bilinear source coordinates are
// src = max(0, (dst + offset)·scale − offset), which covers align_corners (offset 0,
// scale (in − 1)/(out − 1)), half-pixel centres (offset ½, scale in/out) and TensorFlow's legacy
// mode (offset 0, scale in/out); the op picks the pair. Nearest uses src = floor(dst·in/out) in
// integers, exact for every size. The backward passes scatter-add each output gradient with the
// same weights; planes run in parallel and each plane's gradient is written by one thread.
#pragma once

#include <algorithm>

#include "tsgan/core/parallel.hpp"
#include "tsgan/core/tensor.hpp"
#include "tsgan/kernels/cpu/planes.hpp"

namespace tsgan::kernels {

struct ResizeGeometry {
  index_t planes;  // n · c
  index_t h_in, w_in, h_out, w_out;
  double scale_y, scale_x, offset;  // bilinear source coordinates (see above)

  index_t in_plane() const { return h_in * w_in; }
  index_t out_plane() const { return h_out * w_out; }
  index_t grain() const { return std::max<index_t>(1, 4096 / out_plane()); }
};

template <class D>
struct ResizeKernels;

namespace cpu_detail {

// dst reads l0·src[i0] + l1·src[i1] along one axis.
template <class T>
struct LinearTap {
  index_t i0, i1;
  T l0, l1;
};

template <class T>
void linear_taps(index_t in, index_t out, double scale, double offset, LinearTap<T>* taps) {
  for (index_t d = 0; d < out; ++d) {
    const double src = std::max(0.0, (double(d) + offset) * scale - offset);
    const index_t i0 = std::min(static_cast<index_t>(src), in - 1);
    const double l = src - double(i0);
    taps[d] = {i0, i0 < in - 1 ? i0 + 1 : i0, T(1 - l), T(l)};
  }
}

// The bilinear taps of a geometry: h_out row taps, then w_out column taps.
template <class T>
Buffer<LinearTap<T>, cpu> bilinear_taps(const ResizeGeometry& g) {
  Buffer<LinearTap<T>, cpu> taps(static_cast<std::size_t>(g.h_out + g.w_out));
  linear_taps(g.h_in, g.h_out, g.scale_y, g.offset, taps.data());
  linear_taps(g.w_in, g.w_out, g.scale_x, g.offset, taps.data() + g.h_out);
  return taps;
}

// Nearest source indices: h_out rows, then w_out columns.
inline Buffer<index_t, cpu> nearest_taps(const ResizeGeometry& g) {
  Buffer<index_t, cpu> taps(static_cast<std::size_t>(g.h_out + g.w_out));
  for (index_t d = 0; d < g.h_out; ++d) taps.data()[d] = d * g.h_in / g.h_out;
  for (index_t d = 0; d < g.w_out; ++d) taps.data()[g.h_out + d] = d * g.w_in / g.w_out;
  return taps;
}

}  // namespace cpu_detail

template <>
struct ResizeKernels<cpu> {
  template <class T>
  static void nearest_forward(const ResizeGeometry& g, const T* x, T* y) {
    const auto taps = cpu_detail::nearest_taps(g);
    const index_t* rows = taps.data();
    const index_t* cols = rows + g.h_out;
    parallel_for(g.planes, g.grain(), [&](index_t b, index_t e) {
      for (index_t i = b; i < e; ++i)
        for (index_t oy = 0; oy < g.h_out; ++oy) {
          const T* src = x + i * g.in_plane() + rows[oy] * g.w_in;
          T* dst = y + i * g.out_plane() + oy * g.w_out;
          for (index_t ox = 0; ox < g.w_out; ++ox) dst[ox] = src[cols[ox]];
        }
    });
  }

  template <class T>
  static void nearest_backward(const ResizeGeometry& g, const T* dy, T* dx, bool accumulate) {
    const auto taps = cpu_detail::nearest_taps(g);
    const index_t* rows = taps.data();
    const index_t* cols = rows + g.h_out;
    cpu_detail::for_each_grad_plane(g, dx, accumulate, [&](index_t i) {
      for (index_t oy = 0; oy < g.h_out; ++oy) {
        T* dst = dx + i * g.in_plane() + rows[oy] * g.w_in;
        const T* src = dy + i * g.out_plane() + oy * g.w_out;
        for (index_t ox = 0; ox < g.w_out; ++ox) dst[cols[ox]] += src[ox];
      }
    });
  }

  template <class T>
  static void bilinear_forward(const ResizeGeometry& g, const T* x, T* y) {
    const auto taps = cpu_detail::bilinear_taps<T>(g);
    const cpu_detail::LinearTap<T>* rows = taps.data();
    const cpu_detail::LinearTap<T>* cols = rows + g.h_out;
    parallel_for(g.planes, g.grain(), [&](index_t b, index_t e) {
      for (index_t i = b; i < e; ++i)
        for (index_t oy = 0; oy < g.h_out; ++oy) {
          const auto ty = rows[oy];
          const T* r0 = x + i * g.in_plane() + ty.i0 * g.w_in;
          const T* r1 = x + i * g.in_plane() + ty.i1 * g.w_in;
          T* dst = y + i * g.out_plane() + oy * g.w_out;
          for (index_t ox = 0; ox < g.w_out; ++ox) {
            const auto tx = cols[ox];
            dst[ox] = ty.l0 * (tx.l0 * r0[tx.i0] + tx.l1 * r0[tx.i1]) + ty.l1 * (tx.l0 * r1[tx.i0] + tx.l1 * r1[tx.i1]);
          }
        }
    });
  }

  template <class T>
  static void bilinear_backward(const ResizeGeometry& g, const T* dy, T* dx, bool accumulate) {
    const auto taps = cpu_detail::bilinear_taps<T>(g);
    const cpu_detail::LinearTap<T>* rows = taps.data();
    const cpu_detail::LinearTap<T>* cols = rows + g.h_out;
    cpu_detail::for_each_grad_plane(g, dx, accumulate, [&](index_t i) {
      for (index_t oy = 0; oy < g.h_out; ++oy) {
        const auto ty = rows[oy];
        T* r0 = dx + i * g.in_plane() + ty.i0 * g.w_in;
        T* r1 = dx + i * g.in_plane() + ty.i1 * g.w_in;
        const T* src = dy + i * g.out_plane() + oy * g.w_out;
        for (index_t ox = 0; ox < g.w_out; ++ox) {
          const auto tx = cols[ox];
          const T d0 = ty.l0 * src[ox], d1 = ty.l1 * src[ox];
          r0[tx.i0] += tx.l0 * d0;
          r0[tx.i1] += tx.l1 * d0;
          r1[tx.i0] += tx.l0 * d1;
          r1[tx.i1] += tx.l1 * d1;
        }
      }
    });
  }
};

}  // namespace tsgan::kernels
