// Convolutions on the CPU (NCHW, weights OIHW as PyTorch), as im2col + GEMM.
//
// im2col unfolds the receptive field of every output pixel into a column, so a convolution is
// one matrix product: Y[Cout, P] = W[Cout, Cin·kh·kw] · col[Cin·kh·kw, P]. Backward: dW = dY·colᵀ,
// dcol = Wᵀ·dY folded back by col2im. A transposed convolution is the same pair read the other
// way round. Where rows are wide, each tap is unfolded (and folded back) as one shifted run of a
// stride-phase plane (ShiftedTaps) rather than row by row with strided copies.
//
// Batching: when the output plane P is small (the deep levels of a U-Net, a PatchGAN's last
// layers), a GEMM per image is narrow (N = P) and runs far below the machine's SGEMM rate; so the
// images of the batch share one product with P·images columns (for the weight gradient, an inner
// dimension of P·images instead of many accumulating products), in chunks whose column buffer
// stays under batch_limit elements. The price is one reshuffle between [C, images·P] and NCHW
// per product. Large planes keep a product per image that writes its output in place; with several
// threads these images run side by side, one per thread with its own column buffer and
// single-threaded products (for_each_image), and the weight gradient sums per-image parts in image
// order, so that with as many images as threads no result depends on the thread count.
//
// The column buffer comes from the caching allocator and is recomputed in the backward pass
// rather than kept (memory over a cheap extra pass). Copies run in parallel over (image, row) or
// (image, channel) pairs, so no two threads write the same element.
#pragma once

#include <algorithm>
#include <cstring>
#include <vector>

#include "tsgan/core/allocator.hpp"
#include "tsgan/core/parallel.hpp"
#include "tsgan/core/profile.hpp"
#include "tsgan/core/tensor.hpp"
#include "tsgan/kernels/cpu/gemm.hpp"

namespace tsgan::kernels {

// The geometry of a 2-D convolution from `in` ([n, c_in, h_in, w_in]) to `out` ([n, c_out, h_out,
// w_out]), with stride and dilation per axis (y: rows, x: columns). For a transposed convolution
// it describes the forward convolution it transposes.
struct ConvGeometry {
  index_t n, c_in, h_in, w_in;
  index_t c_out, h_out, w_out;
  index_t kh, kw;
  index_t stride_y, stride_x, pad_top, pad_left, dilation_y, dilation_x, groups;

  // Images share their GEMMs when the output plane is under batch_below pixels, or under
  // batch_deep_below with a column matrix of deep_rows rows or more (the reshuffles batching adds
  // cost 1/rows of the GEMM); the column buffers of batched products stay below batch_limit
  // elements (32 MB of floats).
  static constexpr index_t batch_below = 1024, batch_deep_below = 4096, deep_rows = 512;
  static constexpr index_t batch_limit = index_t{8} << 20;

  index_t cin_g() const { return c_in / groups; }
  index_t cout_g() const { return c_out / groups; }
  index_t col_rows() const { return cin_g() * kh * kw; }  // per group
  index_t in_plane() const { return h_in * w_in; }
  index_t out_plane() const { return h_out * w_out; }
  bool pointwise() const {  // 1x1, stride 1, no padding: the input already is the column matrix
    return kh == 1 && kw == 1 && stride_y == 1 && stride_x == 1 && pad_top == 0 && pad_left == 0 && h_in == h_out && w_in == w_out;
  }
  // Few output channels against many input channels (a discriminator's logits layer, 512 -> 1):
  // the convolution is computed from the output side (see ConvKernels<cpu>), whose unfolded
  // matrix has cout·kh·kw rows over the input plane instead of cin·kh·kw rows over the output's.
  bool output_side() const { return !pointwise() && 4 * cout_g() * in_plane() <= cin_g() * out_plane(); }
  // Images per GEMM: 1 for large planes, else as many as the buffer limit allows, spread evenly.
  index_t images_per_gemm() const {
    if (output_side()) return spread((c_in + cout_g() * kh * kw) * in_plane());
    const bool small = out_plane() < batch_below || (out_plane() < batch_deep_below && col_rows() >= deep_rows);
    if (!small || n == 1) return 1;
    return spread(col_rows() * out_plane());
  }

 private:
  // Chunks of at most batch_limit / per_image images, of equal sizes but for the last.
  index_t spread(index_t per_image) const {
    const index_t fit = std::max<index_t>(1, batch_limit / std::max<index_t>(1, per_image));
    const index_t chunks = (n + fit - 1) / fit;
    return (n + chunks - 1) / chunks;
  }
};

template <class D>
struct ConvKernels;

namespace cpu_detail {

// The output positions o in [0, out) (along a row or a column) whose input position
// o·stride + offset lies in [0, in).
struct ValidRange {
  index_t lo, hi;
};
inline ValidRange valid_range(index_t out, index_t in, index_t stride, index_t offset) {
  const index_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const index_t last = in - 1 - offset;  // o·stride <= last
  const index_t hi = last < 0 ? 0 : last / stride + 1;
  const index_t l = std::min(lo, out), h = std::clamp(hi, l, out);
  return {l, h};
}

// Copies n elements src[0], src[s], src[2s], ... to dst (s = 1 and 2 get their own loops so that
// the compiler vectorises them).
template <class T>
TSGAN_INLINE void strided_copy(T* __restrict dst, const T* __restrict src, index_t n, index_t s) {
  if (s == 1)
    for (index_t i = 0; i < n; ++i) dst[i] = src[i];
  else if (s == 2)
    for (index_t i = 0; i < n; ++i) dst[i] = src[2 * i];
  else
    for (index_t i = 0; i < n; ++i) dst[i] = src[i * s];
}
template <class T>
TSGAN_INLINE void strided_add(T* __restrict dst, const T* __restrict src, index_t n, index_t s) {
  if (s == 1)
    for (index_t i = 0; i < n; ++i) dst[i] += src[i];
  else if (s == 2)
    for (index_t i = 0; i < n; ++i) dst[2 * i] += src[i];
  else
    for (index_t i = 0; i < n; ++i) dst[i * s] += src[i];
}
template <class T>
TSGAN_INLINE void zero(T* __restrict dst, index_t n) {
  for (index_t i = 0; i < n; ++i) dst[i] = T(0);
}

// Output rows narrower than this are unfolded through a table of tap offsets: below it the per-row
// range bookkeeping of the strided copies costs more than the copy itself. Rows of a stride-1
// convolution are plain copies that vectorise, and pay off from 8 pixels.
inline bool narrow_rows(const ConvGeometry& g) { return g.w_out < (g.stride_x == 1 ? 8 : 16); }

// off[tap·P + p]: where output pixel p of tap (ky, kx) reads in an input plane, −1 on the padding.
inline void tap_offsets(const ConvGeometry& g, std::int32_t* off) {
  for (index_t ky = 0; ky < g.kh; ++ky)
    for (index_t kx = 0; kx < g.kw; ++kx)
      for (index_t oy = 0; oy < g.h_out; ++oy)
        for (index_t ox = 0; ox < g.w_out; ++ox) {
          const index_t iy = oy * g.stride_y - g.pad_top + ky * g.dilation_y;
          const index_t ix = ox * g.stride_x - g.pad_left + kx * g.dilation_x;
          const bool inside = iy >= 0 && iy < g.h_in && ix >= 0 && ix < g.w_in;
          *off++ = inside ? static_cast<std::int32_t>(iy * g.w_in + ix) : -1;
        }
}

inline index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

// Taps as shifted planes. Split an input plane by stride phase (phase (ry, rx) holds the pixels whose
// row is ry and column rx modulo the stride) and give each phase the output's row pitch: then tap
// (ky, kx) reads one phase plane shifted by whole rows and columns, so its row of the column matrix
// is one contiguous run of that phase; only the pixels that fall on the padding (which the run
// fills with neighbours from the rows above or below) need fixing. This needs dilation 1 and phases
// no wider than the output (every "same" or halving convolution); with stride 1 and an output as
// wide as the input the plane itself is the only phase. Rows narrower than narrow_rows keep the
// table of tap offsets, which costs less than a run per tap there.
struct ShiftedTaps {
  ConvGeometry g;
  index_t phase_rows;  // of phase 0, the tallest

  static bool applies(const ConvGeometry& g) {
    return g.dilation_y == 1 && g.dilation_x == 1 && ceil_div(g.w_in, g.stride_x) <= g.w_out && !narrow_rows(g);
  }
  explicit ShiftedTaps(const ConvGeometry& geometry) : g(geometry), phase_rows(ceil_div(g.h_in, g.stride_y)) {
    for (index_t ky = 0; ky < g.kh; ++ky)
      for (index_t kx = 0; kx < g.kw; ++kx) taps.push_back(tap(ky, kx));
  }
  bool in_place() const { return g.stride_y == 1 && g.stride_x == 1 && g.w_in == g.w_out; }
  index_t phase_size() const { return phase_rows * g.w_out; }
  index_t buffer_size() const { return in_place() ? 0 : g.stride_y * g.stride_x * phase_size(); }
  index_t phase_height(index_t ry) const { return in_place() ? g.h_in : ceil_div(g.h_in - ry, g.stride_y); }
  index_t phase_width(index_t rx) const { return in_place() ? g.w_in : ceil_div(g.w_in - rx, g.stride_x); }

  // Tap (ky, kx): output pixel (y, x) reads element (y·w_out + x) + shift of phase `phase` for y in
  // [y0, y1) and x in [x0, x1), and the padding elsewhere. As one run it covers [lo, hi).
  struct Tap {
    index_t phase, shift, y0, y1, x0, x1, lo, hi;
    bool empty() const { return y0 == y1 || x0 == x1; }
  };
  std::vector<Tap> taps;  // in (ky, kx) order, computed once: planes deep in a network are small
  Tap tap(index_t ky, index_t kx) const {
    const index_t w = g.w_out;
    const index_t oy = ky - g.pad_top, ox = kx - g.pad_left;  // input offset of output pixel (0, 0)
    const index_t qy = floor_div(oy, g.stride_y), qx = floor_div(ox, g.stride_x);
    const index_t ry = oy - qy * g.stride_y, rx = ox - qx * g.stride_x;
    Tap t;
    t.phase = in_place() ? 0 : (ry * g.stride_x + rx) * phase_size();
    t.shift = qy * w + qx;
    t.y0 = std::clamp<index_t>(-qy, 0, g.h_out);
    t.y1 = std::clamp<index_t>(phase_height(ry) - qy, t.y0, g.h_out);
    t.x0 = std::clamp<index_t>(-qx, 0, w);
    t.x1 = std::clamp<index_t>(phase_width(rx) - qx, t.x0, w);
    t.lo = t.y0 * w + t.x0;
    t.hi = t.empty() ? t.lo : (t.y1 - 1) * w + t.x1;
    return t;
  }
  // Zeroes the pixels of rows [y0, y1) outside columns [x0, x1) of a tap's row of the column matrix.
  template <class T>
  void zero_padding_columns(const Tap& t, T* row) const {
    const index_t w = g.w_out;
    if (t.x0 > 0 || t.x1 < w)
      for (index_t y = t.y0; y < t.y1; ++y) {
        zero(row + y * w, t.x0);
        zero(row + y * w + t.x1, w - t.x1);
      }
  }

  // Splits `plane` into `phases` (buffer_size() elements); returns where the phases start.
  template <class T>
  const T* split(const T* __restrict plane, T* __restrict phases) const {
    if (in_place()) return plane;
    const index_t w = g.w_out;
    for (index_t ry = 0; ry < g.stride_y; ++ry)
      for (index_t rx = 0; rx < g.stride_x; ++rx) {
        T* __restrict dst = phases + (ry * g.stride_x + rx) * phase_size();
        const index_t cols = phase_width(rx);
        for (index_t r = 0; r < phase_height(ry); ++r) {
          strided_copy(dst + r * w, plane + (r * g.stride_y + ry) * g.w_in + rx, cols, g.stride_x);
          zero(dst + r * w + cols, w - cols);  // read by the runs, then zeroed: keep it defined
        }
      }
    return phases;
  }
  // The reverse: adds `phases` into `plane`.
  template <class T>
  void merge(const T* __restrict phases, T* __restrict plane) const {
    for (index_t ry = 0; ry < g.stride_y; ++ry)
      for (index_t rx = 0; rx < g.stride_x; ++rx) {
        const T* __restrict src = phases + (ry * g.stride_x + rx) * phase_size();
        for (index_t r = 0; r < phase_height(ry); ++r)
          strided_add(plane + (r * g.stride_y + ry) * g.w_in + rx, src + r * g.w_out, phase_width(rx), g.stride_x);
      }
  }

  // Writes tap i's row of the column matrix (P elements at dst) from the phases.
  template <class T>
  void copy_tap(const T* __restrict phases, index_t i, T* __restrict dst) const {
    const Tap& t = taps[static_cast<std::size_t>(i)];
    zero(dst, t.lo);
    strided_copy(dst + t.lo, phases + t.phase + (t.lo + t.shift), t.hi - t.lo, index_t{1});
    zero(dst + t.hi, g.out_plane() - t.hi);
    zero_padding_columns(t, dst);
  }
  // Adds tap i's row of the column matrix (src, whose padding pixels it zeroes) into the phases.
  template <class T>
  void add_tap(T* __restrict src, index_t i, T* __restrict phases) const {
    const Tap& t = taps[static_cast<std::size_t>(i)];
    zero_padding_columns(t, src);
    strided_add(phases + t.phase + (t.lo + t.shift), src + t.lo, t.hi - t.lo, index_t{1});
  }

 private:
  static index_t floor_div(index_t a, index_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
};

// Unfolds channels [c0, c0 + channels) of images [img0, img0 + images) into col: row (c, ky, kx),
// column (image − img0)·P + p of a matrix with `ld` columns. One task per (image, channel): its
// kh·kw rows, as shifted planes where they apply, else with the valid ranges of each tap computed
// once (planes deep in a U-Net are a few pixels wide, so per-row bookkeeping would cost more than
// the copy).
template <class T>
void im2col(const ConvGeometry& geometry, const T* x, index_t img0, index_t images, index_t c0, index_t channels,
            T* col, index_t ld) {
  const profile::Scope scope(profile::Op::conv_unfold);
  const ConvGeometry g = geometry;  // a local copy: the stores below cannot alias it
  const index_t P = g.out_plane(), taps = g.kh * g.kw;
  const index_t grain = grain_for(taps * P);
  if (ShiftedTaps::applies(g)) {
    const ShiftedTaps shifted(g);
    parallel_for(images * channels, grain, [&, g, P, taps](index_t t0, index_t t1) {
      Buffer<T, cpu> phases(static_cast<std::size_t>(shifted.buffer_size()));
      for (index_t t = t0; t < t1; ++t) {
        const index_t img = t / channels, c = t % channels;
        const T* split = shifted.split(x + ((img0 + img) * g.c_in + c0 + c) * g.in_plane(), phases.data());
        for (index_t i = 0; i < taps; ++i) shifted.copy_tap(split, i, col + (c * taps + i) * ld + img * P);
      }
    });
    return;
  }
  if (narrow_rows(g)) {
    Buffer<std::int32_t, cpu> table(static_cast<std::size_t>(taps * P));
    tap_offsets(g, table.data());
    const std::int32_t* offsets = table.data();
    parallel_for(images * channels, grain, [=](index_t t0, index_t t1) {
      for (index_t t = t0; t < t1; ++t) {
        const index_t img = t / channels, c = t % channels;
        const T* __restrict plane = x + ((img0 + img) * g.c_in + c0 + c) * g.in_plane();
        T* base = col + c * taps * ld + img * P;
        for (index_t tap = 0; tap < taps; ++tap) {
          T* __restrict dst = base + tap * ld;
          const std::int32_t* __restrict off = offsets + tap * P;
          for (index_t p = 0; p < P; ++p) dst[p] = off[p] >= 0 ? plane[off[p]] : T(0);
        }
      }
    });
    return;
  }
  parallel_for(images * channels, grain, [=](index_t t0, index_t t1) {
    for (index_t t = t0; t < t1; ++t) {
      const index_t img = t / channels, c = t % channels;
      const T* plane = x + ((img0 + img) * g.c_in + c0 + c) * g.in_plane();
      T* base = col + c * taps * ld + img * P;
      for (index_t ky = 0; ky < g.kh; ++ky) {
        const index_t y0 = -g.pad_top + ky * g.dilation_y;
        const ValidRange ys = valid_range(g.h_out, g.h_in, g.stride_y, y0);
        for (index_t kx = 0; kx < g.kw; ++kx) {
          const index_t x0 = -g.pad_left + kx * g.dilation_x;
          const ValidRange xs = valid_range(g.w_out, g.w_in, g.stride_x, x0);
          T* dst = base + (ky * g.kw + kx) * ld;
          zero(dst, ys.lo * g.w_out);
          for (index_t oy = ys.lo; oy < ys.hi; ++oy) {
            T* row = dst + oy * g.w_out;
            zero(row, xs.lo);
            strided_copy(row + xs.lo, plane + (oy * g.stride_y + y0) * g.w_in + x0 + xs.lo * g.stride_x, xs.hi - xs.lo,
                         g.stride_x);
            zero(row + xs.hi, g.w_out - xs.hi);
          }
          zero(dst + ys.hi * g.w_out, (g.h_out - ys.hi) * g.w_out);
        }
      }
    }
  });
}

// Folds col back into images [img0, img0 + images) (the adjoint of im2col): each (image, channel)
// plane is first set to its bias or zero (or, when the result accumulates, gets its bias added),
// then receives the columns' contributions. One thread per plane, so no two threads write the same
// pixel. col is scratch: where the taps apply as shifted planes, its padding pixels are zeroed.
template <class T>
void col2im(const ConvGeometry& geometry, T* col, index_t ld, index_t img0, index_t images, index_t c0,
            index_t channels, T* x, bool accumulate, const T* bias) {
  const profile::Scope scope(profile::Op::conv_unfold);
  const ConvGeometry g = geometry;
  const index_t P = g.out_plane(), taps = g.kh * g.kw;
  auto start_plane = [=](index_t img, index_t c) {
    T* __restrict plane = x + ((img0 + img) * g.c_in + c0 + c) * g.in_plane();
    if (!accumulate) {
      const T b = bias ? bias[c0 + c] : T(0);
      for (index_t i = 0; i < g.in_plane(); ++i) plane[i] = b;
    } else if (bias) {
      const T b = bias[c0 + c];
      for (index_t i = 0; i < g.in_plane(); ++i) plane[i] += b;
    }
    return plane;
  };
  if (ShiftedTaps::applies(g)) {
    const ShiftedTaps shifted(g);
    parallel_for(images * channels, grain_for(taps * P), [&, g, P, taps](index_t t0, index_t t1) {
      Buffer<T, cpu> phases(static_cast<std::size_t>(shifted.buffer_size()));
      for (index_t t = t0; t < t1; ++t) {
        const index_t img = t / channels, c = t % channels;
        T* plane = start_plane(img, c);
        T* sums = shifted.in_place() ? plane : phases.data();
        if (!shifted.in_place()) zero(sums, shifted.buffer_size());
        for (index_t i = 0; i < taps; ++i) shifted.add_tap(col + (c * taps + i) * ld + img * P, i, sums);
        if (!shifted.in_place()) shifted.merge(sums, plane);
      }
    });
    return;
  }
  const bool narrow = narrow_rows(g);
  Buffer<std::int32_t, cpu> table(narrow ? static_cast<std::size_t>(taps * P) : 0);
  if (narrow) tap_offsets(g, table.data());
  const std::int32_t* offsets = table.data();
  parallel_for(images * channels, grain_for(taps * P), [=](index_t t0, index_t t1) {
    for (index_t t = t0; t < t1; ++t) {
      const index_t img = t / channels, c = t % channels;
      T* __restrict plane = start_plane(img, c);
      const T* base = col + c * taps * ld + img * P;
      if (narrow) {  // within one tap no two pixels read the same input pixel
        for (index_t tap = 0; tap < taps; ++tap) {
          const T* __restrict src = base + tap * ld;
          const std::int32_t* __restrict off = offsets + tap * P;
          for (index_t p = 0; p < P; ++p)
            if (off[p] >= 0) plane[off[p]] += src[p];
        }
        continue;
      }
      for (index_t ky = 0; ky < g.kh; ++ky) {
        const index_t y0 = -g.pad_top + ky * g.dilation_y;
        const ValidRange ys = valid_range(g.h_out, g.h_in, g.stride_y, y0);
        for (index_t kx = 0; kx < g.kw; ++kx) {
          const index_t x0 = -g.pad_left + kx * g.dilation_x;
          const ValidRange xs = valid_range(g.w_out, g.w_in, g.stride_x, x0);
          const T* src = base + (ky * g.kw + kx) * ld;
          for (index_t oy = ys.lo; oy < ys.hi; ++oy)
            strided_add(plane + (oy * g.stride_y + y0) * g.w_in + x0 + xs.lo * g.stride_x, src + oy * g.w_out + xs.lo,
                        xs.hi - xs.lo, g.stride_x);
        }
      }
    }
  });
}

// Scatters tmp[c, i·P + p] into y[img0 + i, c, p] (assigning or adding), plus an optional bias.
template <class T>
void unbatch(const T* tmp, index_t img0, index_t images, index_t c, index_t plane, T* y, bool accumulate,
             const T* bias) {
  const profile::Scope scope(profile::Op::conv_unfold);
  parallel_for(images * c, grain_for(plane), [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) {
      const index_t img = i / c, ch = i % c;
      const T* __restrict src = tmp + ch * images * plane + img * plane;
      T* __restrict dst = y + ((img0 + img) * c + ch) * plane;
      const T add = bias ? bias[ch] : T(0);
      if (accumulate)
        for (index_t p = 0; p < plane; ++p) dst[p] += src[p] + add;
      else
        for (index_t p = 0; p < plane; ++p) dst[p] = src[p] + add;
    }
  });
}

// The reverse: y[img0 + i, c, p] into tmp[c, i·P + p].
template <class T>
void batch(const T* y, index_t img0, index_t images, index_t c, index_t plane, T* tmp) {
  const profile::Scope scope(profile::Op::conv_unfold);
  parallel_for(images * c, grain_for(plane), [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) {
      const index_t img = i / c, ch = i % c;
      std::memcpy(tmp + ch * images * plane + img * plane, y + ((img0 + img) * c + ch) * plane,
                  sizeof(T) * static_cast<std::size_t>(plane));
    }
  });
}

template <class T>
void add_bias(T* y, const T* bias, index_t n, index_t c, index_t plane) {
  parallel_for(n * c, grain_for(plane), [&](index_t b, index_t e) {
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
  parallel_for(c, grain_for(n * plane), [&](index_t cb, index_t ce) {
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

// The output side's tap layout D[(o, tap), i·in_plane + q] of dy for the output channels of group
// grp: dy[img0 + i, o, p] lands on the input pixel q that tap reads for output pixel p (nothing on
// the padding). Within a tap no two output pixels read the same input pixel, so this is a copy.
template <class T>
void scatter_taps(const ConvGeometry& g, const std::int32_t* offsets, const T* dy, index_t img0, index_t images,
                  index_t grp, T* d, index_t ld) {
  const profile::Scope scope(profile::Op::conv_unfold);
  const index_t P = g.out_plane(), taps = g.kh * g.kw, cg = g.cout_g(), plane = g.in_plane();
  parallel_for(images * cg, grain_for(taps * plane), [=](index_t t0, index_t t1) {
    for (index_t t = t0; t < t1; ++t) {
      const index_t img = t / cg, o = t % cg;
      const T* __restrict src = dy + ((img0 + img) * g.c_out + grp * cg + o) * P;
      for (index_t tap = 0; tap < taps; ++tap) {
        T* __restrict dst = d + (o * taps + tap) * ld + img * plane;
        const std::int32_t* __restrict off = offsets + tap * P;
        zero(dst, plane);
        for (index_t p = 0; p < P; ++p)
          if (off[p] >= 0) dst[off[p]] = src[p];
      }
    }
  });
}

// The reverse gather: y[img0 + i, o, p] (+)= bias[o] + Σ_tap Z[(o, tap), i·in_plane + off(tap, p)].
template <class T>
void gather_taps(const ConvGeometry& g, const std::int32_t* offsets, const T* z, index_t ld, index_t img0,
                 index_t images, index_t grp, T* y, bool accumulate, const T* bias) {
  const profile::Scope scope(profile::Op::conv_unfold);
  const index_t P = g.out_plane(), taps = g.kh * g.kw, cg = g.cout_g(), plane = g.in_plane();
  parallel_for(images * cg, grain_for(taps * P), [=](index_t t0, index_t t1) {
    for (index_t t = t0; t < t1; ++t) {
      const index_t img = t / cg, o = t % cg;
      T* __restrict dst = y + ((img0 + img) * g.c_out + grp * cg + o) * P;
      const T b = bias ? bias[grp * cg + o] : T(0);
      for (index_t p = 0; p < P; ++p) dst[p] = accumulate ? dst[p] + b : b;
      for (index_t tap = 0; tap < taps; ++tap) {
        const T* __restrict src = z + (o * taps + tap) * ld + img * plane;
        const std::int32_t* __restrict off = offsets + tap * P;
        for (index_t p = 0; p < P; ++p)
          if (off[p] >= 0) dst[p] += src[off[p]];
      }
    }
  });
}

// Calls body(img, col) for images [0, n) of a convolution with a product per image, col being
// col_size elements of column buffer for the image. With at least as many images as threads, the
// images run side by side, each on one thread with its own buffer, where im2col/col2im and the GEMM
// run single-threaded: a product of these sizes (M = 32-256 output channels, planes of 1,000-16,000
// pixels) split between threads loses much of the second one (docs/performance.md), whole images
// lose nothing but the balance of the last round when threads do not divide n. Each image's values
// then come from a single-threaded product at any thread count, so they do not depend on it (Eigen's
// threaded product blocks differently by thread count). Fewer images than threads (one image) run
// one after the other with every thread inside their products, as before.
template <class T, class Body>
void for_each_image(index_t n, index_t col_size, Body&& body) {
  const int threads = num_threads();
  if (n < threads || in_parallel()) {
    Buffer<T, cpu> col(static_cast<std::size_t>(col_size));
    for (index_t img = 0; img < n; ++img) body(img, col.data());
    return;
  }
  Buffer<T, cpu> cols(static_cast<std::size_t>(col_size * threads));
  T* const base = cols.data();
  parallel_items(n, threads, [&](index_t img, int slot) { body(img, base + slot * col_size); });
}

// dw (+)= Σ_img parts[img] over images in order, parallel over the elements (each element's sum in
// the same order whatever the thread count).
template <class T>
void sum_parts(const T* parts, index_t images, index_t size, T* dw, bool accumulate) {
  parallel_for(size, grain_for(images), [=](index_t e0, index_t e1) {
    for (index_t e = e0; e < e1; ++e) {
      T s = accumulate ? dw[e] + parts[e] : parts[e];
      for (index_t img = 1; img < images; ++img) s += parts[img * size + e];
      dw[e] = s;
    }
  });
}

template <class T>
void conv_gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, const T* a, index_t lda, const T* b,
               index_t ldb, T beta, T* c, index_t ldc) {
  const profile::Scope scope(profile::Op::conv_gemm);
  gemm<T>(trans_a, trans_b, m, n, k, T(1), a, lda, b, ldb, beta, c, ldc);
}

}  // namespace cpu_detail

template <>
struct ConvKernels<cpu> {
  // y (+)= conv(x, w) + bias (bias may be null).
  template <class T>
  static void forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y, bool accumulate = false) {
    using namespace cpu_detail;
    const index_t P = g.out_plane(), K = g.col_rows(), cg = g.cout_g(), nb = g.images_per_gemm();
    if (g.output_side()) return output_side_forward(g, x, w, bias, y, accumulate);
    if (nb > 1) {
      Buffer<T, cpu> col(static_cast<std::size_t>(K * nb * P)), tmp(static_cast<std::size_t>(g.c_out * nb * P));
      for (index_t i0 = 0; i0 < g.n; i0 += nb) {
        const index_t images = std::min(nb, g.n - i0), ld = images * P;
        for (index_t grp = 0; grp < g.groups; ++grp) {
          im2col(g, x, i0, images, grp * g.cin_g(), g.cin_g(), col.data(), ld);
          conv_gemm<T>(false, false, cg, ld, K, w + grp * cg * K, K, col.data(), ld, T(0), tmp.data() + grp * cg * ld, ld);
        }
        unbatch(tmp.data(), i0, images, g.c_out, P, y, accumulate, bias);
      }
      return;
    }
    for_each_image<T>(g.n, g.pointwise() ? 0 : K * P, [&](index_t img, T* col) {
      for (index_t grp = 0; grp < g.groups; ++grp) {
        const T* cols = x + (img * g.c_in + grp * g.cin_g()) * g.in_plane();
        if (!g.pointwise()) {
          im2col(g, x, img, 1, grp * g.cin_g(), g.cin_g(), col, P);
          cols = col;
        }
        conv_gemm<T>(false, false, cg, P, K, w + grp * cg * K, K, cols, P, accumulate ? T(1) : T(0),
                     y + (img * g.c_out + grp * cg) * P, P);
      }
    });
    if (bias) cpu_detail::add_bias(y, bias, g.n, g.c_out, P);
  }

  // dx (+)= conv's input gradient for output gradient dy, plus bias[c] on channel c of dx when
  // bias is not null (a transposed convolution's bias, added while dx is in cache).
  template <class T>
  static void backward_data(const ConvGeometry& g, const T* dy, const T* w, T* dx, bool accumulate,
                            const T* bias = nullptr) {
    using namespace cpu_detail;
    const index_t P = g.out_plane(), K = g.col_rows(), cg = g.cout_g(), nb = g.images_per_gemm();
    if (g.output_side()) return output_side_backward_data(g, dy, w, dx, accumulate, bias);
    if (g.pointwise()) {  // dx_n = Wᵀ dy_n directly
      if (!accumulate) std::fill_n(dx, g.n * g.c_in * g.in_plane(), T(0));
      for_each_image<T>(g.n, 0, [&](index_t img, T*) {
        for (index_t grp = 0; grp < g.groups; ++grp)
          conv_gemm<T>(true, false, K, P, cg, w + grp * cg * K, K, dy + (img * g.c_out + grp * cg) * P, P, T(1),
                       dx + (img * g.c_in + grp * g.cin_g()) * g.in_plane(), P);
      });
      if (bias) cpu_detail::add_bias(dx, bias, g.n, g.c_in, g.in_plane());
      return;
    }
    if (nb == 1) {
      for_each_image<T>(g.n, K * P, [&](index_t img, T* col) {
        for (index_t grp = 0; grp < g.groups; ++grp) {
          conv_gemm<T>(true, false, K, P, cg, w + grp * cg * K, K, dy + (img * g.c_out + grp * cg) * P, P, T(0), col, P);
          col2im(g, col, P, img, 1, grp * g.cin_g(), g.cin_g(), dx, accumulate, bias);
        }
      });
      return;
    }
    Buffer<T, cpu> col(static_cast<std::size_t>(K * nb * P)), dyb(static_cast<std::size_t>(g.c_out * nb * P));
    for (index_t i0 = 0; i0 < g.n; i0 += nb) {
      const index_t images = std::min(nb, g.n - i0), ld = images * P;
      batch(dy, i0, images, g.c_out, P, dyb.data());
      for (index_t grp = 0; grp < g.groups; ++grp) {
        conv_gemm<T>(true, false, K, ld, cg, w + grp * cg * K, K, dyb.data() + grp * cg * ld, ld, T(0), col.data(), ld);
        col2im(g, col.data(), ld, i0, images, grp * g.cin_g(), g.cin_g(), dx, accumulate, bias);
      }
    }
  }

  // dw (+)= Σ_n dy_n · col(x_n)ᵀ.
  template <class T>
  static void backward_weight(const ConvGeometry& g, const T* x, const T* dy, T* dw, bool accumulate) {
    using namespace cpu_detail;
    const index_t P = g.out_plane(), K = g.col_rows(), cg = g.cout_g(), nb = g.images_per_gemm();
    if (g.output_side()) return output_side_backward_weight(g, x, dy, dw, accumulate);
    if (nb == 1) return per_image_backward_weight(g, x, dy, dw, accumulate);
    Buffer<T, cpu> col(static_cast<std::size_t>(K * nb * P)), dyb(static_cast<std::size_t>(g.c_out * nb * P));
    for (index_t i0 = 0; i0 < g.n; i0 += nb) {
      const index_t images = std::min(nb, g.n - i0), ld = images * P;
      batch(dy, i0, images, g.c_out, P, dyb.data());
      for (index_t grp = 0; grp < g.groups; ++grp) {
        im2col(g, x, i0, images, grp * g.cin_g(), g.cin_g(), col.data(), ld);
        const bool add = accumulate || i0 > 0;
        conv_gemm<T>(false, true, cg, K, ld, dyb.data() + grp * cg * ld, ld, col.data(), ld, add ? T(1) : T(0),
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

 private:
  // dw (+)= Σ_img dy_img · col(x_img)ᵀ with a product per image. One image goes straight into dw;
  // several each get their own part (n × |w| elements), which are then summed in image order, so
  // that the images can run side by side (for_each_image) and the sum does not depend on how.
  template <class T>
  static void per_image_backward_weight(const ConvGeometry& g, const T* x, const T* dy, T* dw, bool accumulate) {
    using namespace cpu_detail;
    const index_t P = g.out_plane(), K = g.col_rows(), cg = g.cout_g(), size = g.c_out * K;
    Buffer<T, cpu> parts(g.n > 1 ? static_cast<std::size_t>(g.n * size) : 0);
    for_each_image<T>(g.n, g.pointwise() ? 0 : K * P, [&](index_t img, T* col) {
      T* out = g.n > 1 ? parts.data() + img * size : dw;
      const bool add = g.n == 1 && accumulate;
      for (index_t grp = 0; grp < g.groups; ++grp) {
        const T* cols = x + (img * g.c_in + grp * g.cin_g()) * g.in_plane();
        if (!g.pointwise()) {
          im2col(g, x, img, 1, grp * g.cin_g(), g.cin_g(), col, P);
          cols = col;
        }
        conv_gemm<T>(false, true, cg, K, P, dy + (img * g.c_out + grp * cg) * P, P, cols, P, add ? T(1) : T(0),
                     out + grp * cg * K, K);
      }
    });
    if (g.n > 1) sum_parts(parts.data(), g.n, size, dw, accumulate);
  }

  // The output side (ConvGeometry::output_side): with Wₒ = w[o] read as [cin_g, taps] and X the
  // input of a chunk of images as [cin_g, images·in_plane] (per group),
  //   forward:  Z[(o, tap), ·] = Wₒᵀ·X, then y[o, p] = Σ_tap Z[(o, tap), off(tap, p)] (gather_taps);
  //   backward: D = dy scattered into the same tap layout (scatter_taps); dx = Σₒ Wₒ·D[(o, ·), ·],
  //             dWₒ = X·D[(o, ·), ·]ᵀ.
  // Every product is a GEMM whose inner or outer size is kh·kw, and nothing is unfolded over the
  // many input channels.
  template <class T>
  struct OutputSide {
    const ConvGeometry& g;
    index_t nb, plane, taps, rows;
    Buffer<std::int32_t, cpu> table;
    Buffer<T, cpu> xb, zd;
    explicit OutputSide(const ConvGeometry& geometry)
        : g(geometry), nb(g.images_per_gemm()), plane(g.in_plane()), taps(g.kh * g.kw), rows(g.cout_g() * taps),
          table(static_cast<std::size_t>(taps * g.out_plane())),
          xb(static_cast<std::size_t>(g.c_in * nb * plane)),
          zd(static_cast<std::size_t>(rows * nb * plane)) {
      cpu_detail::tap_offsets(g, table.data());
    }
    template <class P>  // T or const T
    P* weight(P* w, index_t grp, index_t o) const {
      return w + (grp * g.cout_g() + o) * g.cin_g() * taps;
    }
  };

  template <class T>
  static void output_side_forward(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y, bool accumulate) {
    using namespace cpu_detail;
    OutputSide<T> s(g);
    for (index_t i0 = 0; i0 < g.n; i0 += s.nb) {
      const index_t images = std::min(s.nb, g.n - i0), ld = images * s.plane;
      batch(x, i0, images, g.c_in, s.plane, s.xb.data());
      for (index_t grp = 0; grp < g.groups; ++grp) {
        for (index_t o = 0; o < g.cout_g(); ++o)
          conv_gemm<T>(true, false, s.taps, ld, g.cin_g(), s.weight(w, grp, o), s.taps, s.xb.data() + grp * g.cin_g() * ld,
                       ld, T(0), s.zd.data() + o * s.taps * ld, ld);
        gather_taps(g, s.table.data(), s.zd.data(), ld, i0, images, grp, y, accumulate, bias);
      }
    }
  }

  template <class T>
  static void output_side_backward_data(const ConvGeometry& g, const T* dy, const T* w, T* dx, bool accumulate,
                                        const T* bias) {
    using namespace cpu_detail;
    OutputSide<T> s(g);  // xb holds dx of the chunk, [c_in, images·in_plane]
    for (index_t i0 = 0; i0 < g.n; i0 += s.nb) {
      const index_t images = std::min(s.nb, g.n - i0), ld = images * s.plane;
      for (index_t grp = 0; grp < g.groups; ++grp) {
        scatter_taps(g, s.table.data(), dy, i0, images, grp, s.zd.data(), ld);
        for (index_t o = 0; o < g.cout_g(); ++o)
          conv_gemm<T>(false, false, g.cin_g(), ld, s.taps, s.weight(w, grp, o), s.taps, s.zd.data() + o * s.taps * ld, ld,
                       o > 0 ? T(1) : T(0), s.xb.data() + grp * g.cin_g() * ld, ld);
      }
      unbatch(s.xb.data(), i0, images, g.c_in, s.plane, dx, accumulate, bias);
    }
  }

  template <class T>
  static void output_side_backward_weight(const ConvGeometry& g, const T* x, const T* dy, T* dw, bool accumulate) {
    using namespace cpu_detail;
    OutputSide<T> s(g);
    for (index_t i0 = 0; i0 < g.n; i0 += s.nb) {
      const index_t images = std::min(s.nb, g.n - i0), ld = images * s.plane;
      batch(x, i0, images, g.c_in, s.plane, s.xb.data());
      for (index_t grp = 0; grp < g.groups; ++grp) {
        scatter_taps(g, s.table.data(), dy, i0, images, grp, s.zd.data(), ld);
        for (index_t o = 0; o < g.cout_g(); ++o)
          conv_gemm<T>(false, true, g.cin_g(), s.taps, ld, s.xb.data() + grp * g.cin_g() * ld, ld,
                       s.zd.data() + o * s.taps * ld, ld, accumulate || i0 > 0 ? T(1) : T(0),
                       s.weight(dw, grp, o), s.taps);
      }
    }
  }
};

}  // namespace tsgan::kernels
