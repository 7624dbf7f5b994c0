// Data movement on the GPU: LayoutKernels<cuda>, the same calls and semantics as
// LayoutKernels<cpu> (kernels/cpu/layout.hpp). Copies that assign are cudaMemcpy2DAsync (the copy
// engines, no kernel); everything else is one thread per written element, so no two threads
// write the same element and `accumulate` is a plain read-add-write.
//
// permute is a gather: each thread computes its output element's input offset from the
// geometry's dimensions and strides (rank <= 8). Writes are coalesced, reads strided; a tiled
// shared-memory transpose would make both coalesced, but the model permutes little (attention's
// reshapes), so the simple kernel stays until a profile says otherwise.
#pragma once

#include "tsgan/kernels/cpu/layout.hpp"
#include "tsgan/kernels/cuda/launch.cuh"

namespace tsgan::kernels {

template <>
struct LayoutKernels<cuda> {
  // Row r of dst (len elements at r·dst_ld) (+)= row r of src (at r·src_ld), for r < rows.
  template <class T>
  static void copy_rows(index_t rows, index_t len, const T* src, index_t src_ld, T* dst, index_t dst_ld,
                        bool accumulate) {
    if (rows <= 0 || len <= 0) return;
    if (!accumulate) {
      TSGAN_CUDA_CHECK(cudaMemcpy2DAsync(dst, sizeof(T) * dst_ld, src, sizeof(T) * src_ld, sizeof(T) * len, rows,
                                         cudaMemcpyDeviceToDevice, cuda_context().stream()));
      return;
    }
    cuda_detail::for_each(rows * len, [=] __device__(index_t i) {
      const index_t r = i / len, c = i % len;
      dst[r * dst_ld + c] += src[r * src_ld + c];
    }, "tsgan::kernels::LayoutKernels<cuda>::copy_rows");
  }

  template <class T>
  static void fill(T* dst, index_t n, T value) {
    cuda_detail::for_each(n, [=] __device__(index_t i) { dst[i] = value; }, "tsgan::kernels::LayoutKernels<cuda>::fill");
  }

  // dst (+)= src with its last axis (of length len) reversed.
  template <class T>
  static void flip_last(index_t rows, index_t len, const T* src, T* dst, bool accumulate) {
    cuda_detail::for_each(rows * len, [=] __device__(index_t i) {
      const index_t r = i / len, c = i % len;
      const T v = src[r * len + len - 1 - c];
      dst[i] = accumulate ? dst[i] + v : v;
    }, "tsgan::kernels::LayoutKernels<cuda>::flip_last");
  }

  // y = x surrounded by `value`.
  template <class T>
  static void pad2d(const PadGeometry& g, const T* x, T* y, T value) {
    const index_t h = g.h, w = g.w, top = g.top, left = g.left, ho = g.h_out(), wo = g.w_out();
    cuda_detail::for_each(g.planes * ho * wo, [=] __device__(index_t i) {
      const index_t ox = i % wo, oy = i / wo % ho, plane = i / (wo * ho);
      const index_t iy = oy - top, ix = ox - left;
      y[i] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[(plane * h + iy) * w + ix] : value;
    }, "tsgan::kernels::LayoutKernels<cuda>::pad2d");
  }

  // dx (+)= the interior of dy (the adjoint of pad2d).
  template <class T>
  static void crop2d(const PadGeometry& g, const T* dy, T* dx, bool accumulate) {
    const index_t h = g.h, w = g.w, top = g.top, left = g.left, ho = g.h_out(), wo = g.w_out();
    cuda_detail::for_each(g.planes * h * w, [=] __device__(index_t i) {
      const index_t ix = i % w, iy = i / w % h, plane = i / (w * h);
      const T v = dy[(plane * ho + iy + top) * wo + ix + left];
      dx[i] = accumulate ? dx[i] + v : v;
    }, "tsgan::kernels::LayoutKernels<cuda>::crop2d");
  }

  // dst (+)= src permuted: output axis a reads the input with stride g.in_strides[a].
  template <class T>
  static void permute(const PermuteGeometry& g, const T* src, T* dst, bool accumulate) {
    index_t n = 1;
    for (int a = 0; a < g.rank; ++a) n *= g.dims[static_cast<std::size_t>(a)];
    const PermuteGeometry geo = g;
    cuda_detail::for_each(n, [=] __device__(index_t i) {
      index_t rest = i, off = 0;
      for (int a = geo.rank - 1; a >= 0; --a) {
        const index_t d = geo.dims[static_cast<std::size_t>(a)];
        off += (rest % d) * geo.in_strides[static_cast<std::size_t>(a)];
        rest /= d;
      }
      dst[i] = accumulate ? dst[i] + src[off] : src[off];
    }, "tsgan::kernels::LayoutKernels<cuda>::permute");
  }
};

}  // namespace tsgan::kernels
