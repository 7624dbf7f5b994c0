// Convolutions on the CPU (NCHW, weights OIHW as PyTorch), as im2col + GEMM.
//
// im2col unfolds the receptive field of every output pixel into a column, so a convolution is
// one matrix product: Y[Cout, P] = W[Cout, Cin·kh·kw] · col[Cin·kh·kw, P]. Backward: dW = dY·colᵀ,
// dcol = Wᵀ·dY folded back by col2im. A transposed convolution is the same pair read the other
// way round. When the output plane is small (deep U-Net levels), the images of the batch share one
// product (P = N·Hout·Wout) so the weights are streamed once; otherwise each image has its own
// product and writes its output in place. The column buffer comes from the caching allocator and
// is recomputed in the backward pass rather than kept (memory over a cheap extra pass).
#pragma once

#include <algorithm>
#include <cstring>

#include "tsgan/core/allocator.hpp"
#include "tsgan/core/parallel.hpp"
#include "tsgan/core/tensor.hpp"
#include "tsgan/kernels/cpu/gemm.hpp"

namespace tsgan::kernels {

// The geometry of a 2-D convolution from `in` ([n, c_in, h_in, w_in]) to `out` ([n, c_out, h_out,
// w_out]). For a transposed convolution it describes the forward convolution it transposes.
struct ConvGeometry {
  index_t n, c_in, h_in, w_in;
  index_t c_out, h_out, w_out;
  index_t kh, kw;
  index_t stride, pad_top, pad_left, dilation, groups;

  index_t cin_g() const { return c_in / groups; }
  index_t cout_g() const { return c_out / groups; }
  index_t col_rows() const { return cin_g() * kh * kw; }  // per group
  index_t in_plane() const { return h_in * w_in; }
  index_t out_plane() const { return h_out * w_out; }
  bool pointwise() const {  // 1x1, stride 1, no padding: the input already is the column matrix
    return kh == 1 && kw == 1 && stride == 1 && pad_top == 0 && pad_left == 0 && h_in == h_out && w_in == w_out;
  }
  // Images share one product when their output planes are small.
  bool batched() const { return out_plane() < 256 && n > 1; }
};

template <class D>
struct ConvKernels;

namespace cpu_detail {

// Unfolds channels [c0, c0 + channels) of one image into col (rows: (c, ky, kx); columns: output
// pixels), writing column `col_offset + p` of a matrix with `ld` columns.
template <class T>
void im2col(const ConvGeometry& g, const T* image, index_t c0, index_t channels, T* col, index_t ld, index_t col_offset) {
  const index_t rows = channels * g.kh * g.kw;
  parallel_for(rows, std::max<index_t>(1, 4096 / std::max<index_t>(1, g.out_plane())), [&](index_t r0, index_t r1) {
    for (index_t r = r0; r < r1; ++r) {
      const index_t c = r / (g.kh * g.kw), ky = r / g.kw % g.kh, kx = r % g.kw;
      const T* plane = image + (c0 + c) * g.in_plane();
      T* dst = col + r * ld + col_offset;
      for (index_t oy = 0; oy < g.h_out; ++oy) {
        const index_t iy = oy * g.stride - g.pad_top + ky * g.dilation;
        T* row = dst + oy * g.w_out;
        if (iy < 0 || iy >= g.h_in) {
          std::fill_n(row, g.w_out, T(0));
          continue;
        }
        const T* src = plane + iy * g.w_in;
        const index_t x0 = -g.pad_left + kx * g.dilation;
        if (g.stride == 1) {
          // Valid output range: 0 <= ox + x0 < w_in.
          const index_t lo = std::clamp<index_t>(-x0, 0, g.w_out), hi = std::clamp<index_t>(g.w_in - x0, 0, g.w_out);
          std::fill_n(row, lo, T(0));
          if (hi > lo) std::memcpy(row + lo, src + lo + x0, sizeof(T) * static_cast<std::size_t>(hi - lo));
          std::fill_n(row + std::max(lo, hi), g.w_out - std::max(lo, hi), T(0));
        } else {
          for (index_t ox = 0; ox < g.w_out; ++ox) {
            const index_t ix = ox * g.stride + x0;
            row[ox] = (ix >= 0 && ix < g.w_in) ? src[ix] : T(0);
          }
        }
      }
    }
  });
}

// Folds col back into an image, adding into it (the adjoint of im2col). Parallel over channels,
// so no two threads write the same pixel.
template <class T>
void col2im(const ConvGeometry& g, const T* col, index_t ld, index_t col_offset, index_t c0, index_t channels, T* image) {
  parallel_for(channels, 1, [&](index_t cb, index_t ce) {
    for (index_t c = cb; c < ce; ++c) {
      T* plane = image + (c0 + c) * g.in_plane();
      for (index_t ky = 0; ky < g.kh; ++ky)
        for (index_t kx = 0; kx < g.kw; ++kx) {
          const T* src = col + ((c * g.kh + ky) * g.kw + kx) * ld + col_offset;
          const index_t x0 = -g.pad_left + kx * g.dilation;
          for (index_t oy = 0; oy < g.h_out; ++oy) {
            const index_t iy = oy * g.stride - g.pad_top + ky * g.dilation;
            if (iy < 0 || iy >= g.h_in) continue;
            T* dst = plane + iy * g.w_in;
            const T* s = src + oy * g.w_out;
            for (index_t ox = 0; ox < g.w_out; ++ox) {
              const index_t ix = ox * g.stride + x0;
              if (ix >= 0 && ix < g.w_in) dst[ix] += s[ox];
            }
          }
        }
    }
  });
}

// Scatters Y_tmp[c, n·P + p] into y[n, c, p] (assigning or adding), plus an optional bias.
template <class T>
void unbatch(const T* tmp, index_t n, index_t c, index_t plane, T* y, bool accumulate, const T* bias) {
  parallel_for(n * c, std::max<index_t>(1, 4096 / std::max<index_t>(1, plane)), [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) {
      const index_t img = i / c, ch = i % c;
      const T* src = tmp + ch * n * plane + img * plane;
      T* dst = y + i * plane;
      const T add = bias ? bias[ch] : T(0);
      if (accumulate)
        for (index_t p = 0; p < plane; ++p) dst[p] += src[p] + add;
      else
        for (index_t p = 0; p < plane; ++p) dst[p] = src[p] + add;
    }
  });
}

// The reverse: y[n, c, p] into tmp[c, n·P + p].
template <class T>
void batch(const T* y, index_t n, index_t c, index_t plane, T* tmp) {
  parallel_for(n * c, std::max<index_t>(1, 4096 / std::max<index_t>(1, plane)), [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) {
      const index_t img = i / c, ch = i % c;
      std::memcpy(tmp + ch * n * plane + img * plane, y + i * plane, sizeof(T) * static_cast<std::size_t>(plane));
    }
  });
}

template <class T>
void add_bias(T* y, const T* bias, index_t n, index_t c, index_t plane) {
  parallel_for(n * c, std::max<index_t>(1, 4096 / std::max<index_t>(1, plane)), [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) {
      const T v = bias[i % c];
      T* dst = y + i * plane;
      for (index_t p = 0; p < plane; ++p) dst[p] += v;
    }
  });
}

// db[c] (+)= Σ_{n,p} dy[n, c, p]; a double accumulator per channel.
template <class T>
void bias_grad(const T* dy, index_t n, index_t c, index_t plane, T* db, bool accumulate) {
  parallel_for(c, 1, [&](index_t cb, index_t ce) {
    for (index_t ch = cb; ch < ce; ++ch) {
      double s = 0;
      for (index_t img = 0; img < n; ++img) {
        const T* src = dy + (img * c + ch) * plane;
        T part = 0;
        for (index_t p = 0; p < plane; ++p) part += src[p];
        s += part;
      }
      db[ch] = accumulate ? db[ch] + static_cast<T>(s) : static_cast<T>(s);
    }
  });
}

}  // namespace cpu_detail

template <>
struct ConvKernels<cpu> {
  // y (+)= conv(x, w) + bias (bias may be null).
  template <class T>
  static void forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y, bool accumulate = false) {
    using namespace cpu_detail;
    const index_t P = g.out_plane(), K = g.col_rows(), cg = g.cout_g();
    if (g.batched()) {
      const index_t ld = g.n * P;
      Buffer<T, cpu> col(static_cast<std::size_t>(K * ld)), tmp(static_cast<std::size_t>(g.c_out * ld));
      for (index_t grp = 0; grp < g.groups; ++grp) {
        for (index_t img = 0; img < g.n; ++img)
          im2col(g, x + img * g.c_in * g.in_plane(), grp * g.cin_g(), g.cin_g(), col.data(), ld, img * P);
        gemm<T>(false, false, cg, ld, K, T(1), w + grp * cg * K, K, col.data(), ld, T(0), tmp.data() + grp * cg * ld, ld);
      }
      unbatch(tmp.data(), g.n, g.c_out, P, y, accumulate, bias);
      return;
    }
    Buffer<T, cpu> col(g.pointwise() ? 0 : static_cast<std::size_t>(K * P));
    for (index_t img = 0; img < g.n; ++img) {
      const T* image = x + img * g.c_in * g.in_plane();
      for (index_t grp = 0; grp < g.groups; ++grp) {
        const T* cols = image + grp * g.cin_g() * g.in_plane();
        if (!g.pointwise()) {
          im2col(g, image, grp * g.cin_g(), g.cin_g(), col.data(), P, 0);
          cols = col.data();
        }
        gemm<T>(false, false, cg, P, K, T(1), w + grp * cg * K, K, cols, P, accumulate ? T(1) : T(0),
                y + (img * g.c_out + grp * cg) * P, P);
      }
    }
    if (bias) cpu_detail::add_bias(y, bias, g.n, g.c_out, P);
  }

  // dx (+)= conv's input gradient for output gradient dy.
  template <class T>
  static void backward_data(const ConvGeometry& g, const T* dy, const T* w, T* dx, bool accumulate) {
    using namespace cpu_detail;
    const index_t P = g.out_plane(), K = g.col_rows(), cg = g.cout_g();
    if (!accumulate) std::fill_n(dx, g.n * g.c_in * g.in_plane(), T(0));
    if (g.pointwise()) {  // dx_n = Wᵀ dy_n directly
      for (index_t img = 0; img < g.n; ++img)
        for (index_t grp = 0; grp < g.groups; ++grp)
          gemm<T>(true, false, K, P, cg, T(1), w + grp * cg * K, K, dy + (img * g.c_out + grp * cg) * P, P, T(1),
                  dx + (img * g.c_in + grp * g.cin_g()) * g.in_plane(), P);
      return;
    }
    if (g.batched()) {
      const index_t ld = g.n * P;
      Buffer<T, cpu> dyb(static_cast<std::size_t>(g.c_out * ld)), col(static_cast<std::size_t>(K * ld));
      batch(dy, g.n, g.c_out, P, dyb.data());
      for (index_t grp = 0; grp < g.groups; ++grp) {
        gemm<T>(true, false, K, ld, cg, T(1), w + grp * cg * K, K, dyb.data() + grp * cg * ld, ld, T(0), col.data(), ld);
        for (index_t img = 0; img < g.n; ++img)
          col2im(g, col.data(), ld, img * P, grp * g.cin_g(), g.cin_g(), dx + img * g.c_in * g.in_plane());
      }
      return;
    }
    Buffer<T, cpu> col(static_cast<std::size_t>(K * P));
    for (index_t img = 0; img < g.n; ++img)
      for (index_t grp = 0; grp < g.groups; ++grp) {
        gemm<T>(true, false, K, P, cg, T(1), w + grp * cg * K, K, dy + (img * g.c_out + grp * cg) * P, P, T(0),
                col.data(), P);
        col2im(g, col.data(), P, 0, grp * g.cin_g(), g.cin_g(), dx + img * g.c_in * g.in_plane());
      }
  }

  // dw (+)= Σ_n dy_n · col(x_n)ᵀ.
  template <class T>
  static void backward_weight(const ConvGeometry& g, const T* x, const T* dy, T* dw, bool accumulate) {
    using namespace cpu_detail;
    const index_t P = g.out_plane(), K = g.col_rows(), cg = g.cout_g();
    if (g.batched()) {
      const index_t ld = g.n * P;
      Buffer<T, cpu> dyb(static_cast<std::size_t>(g.c_out * ld)), col(static_cast<std::size_t>(K * ld));
      batch(dy, g.n, g.c_out, P, dyb.data());
      for (index_t grp = 0; grp < g.groups; ++grp) {
        for (index_t img = 0; img < g.n; ++img)
          im2col(g, x + img * g.c_in * g.in_plane(), grp * g.cin_g(), g.cin_g(), col.data(), ld, img * P);
        gemm<T>(false, true, cg, K, ld, T(1), dyb.data() + grp * cg * ld, ld, col.data(), ld, accumulate ? T(1) : T(0),
                dw + grp * cg * K, K);
      }
      return;
    }
    Buffer<T, cpu> col(g.pointwise() ? 0 : static_cast<std::size_t>(K * P));
    for (index_t img = 0; img < g.n; ++img) {
      const T* image = x + img * g.c_in * g.in_plane();
      for (index_t grp = 0; grp < g.groups; ++grp) {
        const T* cols = image + grp * g.cin_g() * g.in_plane();
        if (!g.pointwise()) {
          im2col(g, image, grp * g.cin_g(), g.cin_g(), col.data(), P, 0);
          cols = col.data();
        }
        const bool add = accumulate || img > 0;
        gemm<T>(false, true, cg, K, P, T(1), dy + (img * g.c_out + grp * cg) * P, P, cols, P, add ? T(1) : T(0),
                dw + grp * cg * K, K);
      }
    }
  }

  template <class T>
  static void add_bias(const ConvGeometry& g, T* y, const T* bias) {
    cpu_detail::add_bias(y, bias, g.n, g.c_out, g.out_plane());
  }

  template <class T>
  static void backward_bias(const ConvGeometry& g, const T* dy, T* db, bool accumulate) {
    cpu_detail::bias_grad(dy, g.n, g.c_out, g.out_plane(), db, accumulate);
  }
};

}  // namespace tsgan::kernels
