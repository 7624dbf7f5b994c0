// Data movement on the CPU: copies of blocks of rows (concatenation, slicing, reshaping),
// reversal of the last axis, constant padding of the last two axes and its adjoint (cropping),
// and axis permutations. Every kernel can assign or add (`accumulate`), so the same kernel is
// the forward pass and the backward pass of its inverse operation.
//
// A permutation is a copy with a tiled loop over the two axes that matter: the output's last
// axis (written contiguously) and the output axis that reads the input's last axis (read
// contiguously). Tiles of 32 x 32 keep both sides in cache; when the last axis stays last, rows
// are copied whole. Outer indices run in parallel; no two threads write the same element.
#pragma once

#include <algorithm>
#include <array>
#include <cstring>

#include "tsgan/core/parallel.hpp"
#include "tsgan/core/tensor.hpp"

namespace tsgan::kernels {

// pad2d's last two axes: [planes, h, w] padded to [planes, top + h + bottom, left + w + right].
struct PadGeometry {
  index_t planes, h, w;
  index_t top, bottom, left, right;

  index_t h_out() const { return top + h + bottom; }
  index_t w_out() const { return left + w + right; }
};

// A permutation's output: its dimensions and, along each output axis, the input's stride.
struct PermuteGeometry {
  static constexpr int max_rank = 8;
  int rank;
  int q;  // the output axis that reads the input's last (contiguous) axis
  std::array<index_t, max_rank> dims;
  std::array<index_t, max_rank> in_strides;
};

template <class D>
struct LayoutKernels;

namespace cpu_detail {

// dst[0, n) (+)= src[0, n).
template <class T>
void copy_or_add(const T* src, T* dst, index_t n, bool accumulate) {
  if (accumulate)
    for (index_t i = 0; i < n; ++i) dst[i] += src[i];
  else
    std::memcpy(dst, src, sizeof(T) * static_cast<std::size_t>(n));
}

inline index_t row_grain(index_t len) { return grain_for(len); }

}  // namespace cpu_detail

template <>
struct LayoutKernels<cpu> {
  // Row r of dst (len elements at r·dst_ld) (+)= row r of src (at r·src_ld), for r < rows.
  template <class T>
  static void copy_rows(index_t rows, index_t len, const T* src, index_t src_ld, T* dst, index_t dst_ld,
                        bool accumulate) {
    parallel_for(rows, cpu_detail::row_grain(len), [&](index_t b, index_t e) {
      for (index_t r = b; r < e; ++r) cpu_detail::copy_or_add(src + r * src_ld, dst + r * dst_ld, len, accumulate);
    });
  }

  template <class T>
  static void fill(T* dst, index_t n, T value) {
    std::fill_n(dst, n, value);
  }

  // dst (+)= src with its last axis (of length len) reversed.
  template <class T>
  static void flip_last(index_t rows, index_t len, const T* src, T* dst, bool accumulate) {
    parallel_for(rows, cpu_detail::row_grain(len), [&](index_t b, index_t e) {
      for (index_t r = b; r < e; ++r) {
        const T* s = src + r * len + len - 1;
        T* d = dst + r * len;
        if (accumulate)
          for (index_t i = 0; i < len; ++i) d[i] += s[-i];
        else
          for (index_t i = 0; i < len; ++i) d[i] = s[-i];
      }
    });
  }

  // y = x surrounded by `value`.
  template <class T>
  static void pad2d(const PadGeometry& g, const T* x, T* y, T value) {
    const index_t wo = g.w_out();
    parallel_for(g.planes * g.h_out(), cpu_detail::row_grain(wo), [&](index_t b, index_t e) {
      for (index_t r = b; r < e; ++r) {
        const index_t plane = r / g.h_out(), oy = r % g.h_out(), iy = oy - g.top;
        T* dst = y + r * wo;
        if (iy < 0 || iy >= g.h) {
          std::fill_n(dst, wo, value);
          continue;
        }
        std::fill_n(dst, g.left, value);
        std::memcpy(dst + g.left, x + (plane * g.h + iy) * g.w, sizeof(T) * static_cast<std::size_t>(g.w));
        std::fill_n(dst + g.left + g.w, g.right, value);
      }
    });
  }

  // dx (+)= the interior of dy (the adjoint of pad2d).
  template <class T>
  static void crop2d(const PadGeometry& g, const T* dy, T* dx, bool accumulate) {
    parallel_for(g.planes * g.h, cpu_detail::row_grain(g.w), [&](index_t b, index_t e) {
      for (index_t r = b; r < e; ++r) {
        const index_t plane = r / g.h, iy = r % g.h;
        cpu_detail::copy_or_add(dy + (plane * g.h_out() + iy + g.top) * g.w_out() + g.left, dx + r * g.w, g.w,
                                accumulate);
      }
    });
  }

  // dst (+)= src permuted (see the top of this file).
  template <class T>
  static void permute(const PermuteGeometry& g, const T* src, T* dst, bool accumulate) {
    constexpr index_t tile = 32;
    const int last = g.rank - 1;
    std::array<index_t, PermuteGeometry::max_rank> out_strides{};
    index_t running = 1;
    for (int a = last; a >= 0; --a) {
      out_strides[a] = running;
      running *= g.dims[a];
    }
    const bool rows = g.q == last;
    const index_t ni = rows ? 1 : g.dims[g.q], nj = g.dims[last];
    const index_t si = g.in_strides[g.q], sj = g.in_strides[last], di = out_strides[g.q];
    index_t outer = 1;
    for (int a = 0; a < last; ++a)
      if (a != g.q) outer *= g.dims[a];
    parallel_for(outer, cpu_detail::row_grain(ni * nj), [&](index_t b, index_t e) {
      for (index_t o = b; o < e; ++o) {
        index_t s = 0, d = 0, rest = o;
        for (int a = last - 1; a >= 0; --a) {
          if (a == g.q) continue;
          const index_t idx = rest % g.dims[a];
          rest /= g.dims[a];
          s += idx * g.in_strides[a];
          d += idx * out_strides[a];
        }
        if (rows) {
          cpu_detail::copy_or_add(src + s, dst + d, nj, accumulate);
          continue;
        }
        for (index_t i0 = 0; i0 < ni; i0 += tile)
          for (index_t j0 = 0; j0 < nj; j0 += tile) {
            const index_t i1 = std::min(i0 + tile, ni), j1 = std::min(j0 + tile, nj);
            for (index_t i = i0; i < i1; ++i) {
              const T* in = src + s + i * si;
              T* out = dst + d + i * di;
              if (accumulate)
                for (index_t j = j0; j < j1; ++j) out[j] += in[j * sj];
              else
                for (index_t j = j0; j < j1; ++j) out[j] = in[j * sj];
            }
          }
      }
    });
  }
};

}  // namespace tsgan::kernels
