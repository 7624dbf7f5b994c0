// Matrix products with one small side on the CPU (row-major, as kernels/cpu/gemm.hpp):
// C = alpha · op(A) · op(B) + beta · C where C has at most `thin_max` columns (A·B and Aᵀ·B) or
// the inner size is at most `thin_max` (A·Bᵀ).
//
// They come from the deepest level of a U-Net: a 4 × 4 convolution on 1 × 1 planes has one column
// per image against a weight of 512 × 8,192 floats (16 MB), and its weight gradient is a product
// with an inner size of one per image. A BLAS packs the large operand into its panels before
// multiplying, which for so few columns reads and writes it twice more than the product needs
// (OpenBLAS: 22–27 GFLOP/s there instead of 230, docs/performance.md). These kernels read the
// large operand once, straight from memory, and repack only the small one (padded with zeros to
// 8). Rows of C are split between threads; each element's sum runs in the same order whatever the
// thread count.
#pragma once

#include <algorithm>
#include <cstdint>

#include "tsgan/core/parallel.hpp"
#include "tsgan/core/tensor.hpp"
#include "tsgan/expr/vec_cpu.hpp"

namespace tsgan::kernels {

// The largest small side these kernels take.
inline constexpr index_t thin_max = 8;

#if TSGAN_HOST_PASS  // nvcc's device pass sees no kernels: math::Vec is only declared there
namespace thin_detail {

// Blocks of rows of C a kernel computes at once: each block's 8 accumulators and the operands fill
// the vector registers (32 with AVX-512, 16 below it).
#if defined(EIGEN_VECTORIZE_AVX512)
inline constexpr int rows_at_once = 3;
#else
inline constexpr int rows_at_once = 1;
#endif
inline constexpr int S = static_cast<int>(thin_max);

template <class T>
T combine(T alpha, T sum, T beta, T c) {
  return beta == T(0) ? alpha * sum : alpha * sum + beta * c;
}

// Scratch for the repacked small operand, zero where it pads.
template <class T>
Buffer<T, cpu> zeroed(index_t size) {
  Buffer<T, cpu> buffer(static_cast<std::size_t>(size));
  std::fill_n(buffer.data(), size, T(0));
  return buffer;
}

// Calls rows(i0, i1) on whole blocks of `block` rows of [0, m), split between threads (`work`:
// elements a block touches); returns where the whole blocks end, for the caller to finish.
template <class F>
index_t for_row_blocks(index_t m, index_t block, index_t work, F&& rows) {
  const index_t blocks = m / block;
  parallel_for(blocks, grain_for(work), [&](index_t b0, index_t b1) { rows(b0 * block, b1 * block); });
  return blocks * block;
}

// C = A·B, n <= S: R rows of C at a time, each element a dot product over k in SIMD lanes (bt
// holds Bᵀ as S rows of kp >= k elements, zero beyond n and k).
template <class T, int R>
void nn_rows(index_t i0, index_t i1, index_t n, index_t k, T alpha, const T* a, index_t lda, const T* bt, index_t kp,
             T beta, T* c, index_t ldc) {
  using V = math::Vec<T>;
  constexpr int W = V::width;
  const index_t full = k / W * W;
  for (index_t i = i0; i < i1; i += R) {
    V acc[R][S];
    for (auto& row : acc)
      for (auto& v : row) v = V(T(0));
    for (index_t p = 0; p < full; p += W) {
      V x[R];
      for (int r = 0; r < R; ++r) {
        __builtin_prefetch(a + (i + r) * lda + p + 512);
        x[r] = V::load(a + (i + r) * lda + p);
      }
      for (int j = 0; j < S; ++j) {
        const V y = V::load(bt + j * kp + p);
        for (int r = 0; r < R; ++r) acc[r][j] = math::fma(x[r], y, acc[r][j]);
      }
    }
    if (full < k)
      for (int r = 0; r < R; ++r) {
        const V x = V::load_partial(a + (i + r) * lda + full, static_cast<int>(k - full));
        for (int j = 0; j < S; ++j) acc[r][j] = math::fma(x, V::load(bt + j * kp + full), acc[r][j]);
      }
    for (int r = 0; r < R; ++r)
      for (index_t j = 0; j < n; ++j) {
        T& out = c[(i + r) * ldc + j];
        out = combine(alpha, math::reduce_sum(acc[r][j]), beta, out);
      }
  }
}

template <class T>
void nn(index_t m, index_t n, index_t k, T alpha, const T* a, index_t lda, const T* b, index_t ldb, T beta, T* c,
        index_t ldc) {
  constexpr int W = math::Vec<T>::width, R = rows_at_once;
  const index_t kp = (k + W - 1) / W * W;
  const Buffer<T, cpu> packed = zeroed<T>(S * kp);
  T* bt = packed.data();
  for (index_t p = 0; p < k; ++p)
    for (index_t j = 0; j < n; ++j) bt[j * kp + p] = b[p * ldb + j];
  const index_t done = for_row_blocks(m, R, R * k * S, [&](index_t i0, index_t i1) {
    nn_rows<T, R>(i0, i1, n, k, alpha, a, lda, bt, kp, beta, c, ldc);
  });
  nn_rows<T, 1>(done, m, n, k, alpha, a, lda, bt, kp, beta, c, ldc);
}

// C = Aᵀ·B, n <= S (A is k × m): R SIMD packets of rows of C at a time, a row per lane,
// accumulating over k with B's entries broadcast (bp holds B as k rows of S, zero beyond n).
template <class T, int R>
void tn_rows(index_t i0, index_t i1, index_t n, index_t k, T alpha, const T* a, index_t lda, const T* bp, T beta, T* c,
             index_t ldc) {
  using V = math::Vec<T>;
  constexpr int W = V::width;
  for (index_t i = i0; i < i1; i += R * W) {
    V acc[R][S];
    for (auto& row : acc)
      for (auto& v : row) v = V(T(0));
    for (index_t p = 0; p < k; ++p) {
      V x[R];
      for (int r = 0; r < R; ++r) {
        __builtin_prefetch(a + (p + 16) * lda + i + r * W);
        x[r] = V::load(a + p * lda + i + r * W);
      }
      for (int j = 0; j < S; ++j) {
        const V y(bp[p * S + j]);
        for (int r = 0; r < R; ++r) acc[r][j] = math::fma(x[r], y, acc[r][j]);
      }
    }
    alignas(64) T lanes[W];
    for (int r = 0; r < R; ++r)
      for (index_t j = 0; j < n; ++j) {
        acc[r][j].store(lanes);
        for (int l = 0; l < W; ++l) {
          T& out = c[(i + r * W + l) * ldc + j];
          out = combine(alpha, lanes[l], beta, out);
        }
      }
  }
}

template <class T>
void tn(index_t m, index_t n, index_t k, T alpha, const T* a, index_t lda, const T* b, index_t ldb, T beta, T* c,
        index_t ldc) {
  constexpr int W = math::Vec<T>::width, R = rows_at_once;
  const Buffer<T, cpu> packed = zeroed<T>(k * S);
  T* bp = packed.data();
  for (index_t p = 0; p < k; ++p)
    for (index_t j = 0; j < n; ++j) bp[p * S + j] = b[p * ldb + j];
  const index_t done = for_row_blocks(m, R * W, R * W * k * S, [&](index_t i0, index_t i1) {
    tn_rows<T, R>(i0, i1, n, k, alpha, a, lda, bp, beta, c, ldc);
  });
  const index_t packets = m / W;
  tn_rows<T, 1>(done, packets * W, n, k, alpha, a, lda, bp, beta, c, ldc);
  for (index_t i = packets * W; i < m; ++i)  // fewer rows than a packet: one at a time
    for (index_t j = 0; j < n; ++j) {
      T s = 0;
      for (index_t p = 0; p < k; ++p) s = math::fma(a[p * lda + i], bp[p * S + j], s);
      c[i * ldc + j] = combine(alpha, s, beta, c[i * ldc + j]);
    }
}

// C = A·Bᵀ, k <= S (B is n × k): R rows of C at a time, their k entries of A broadcast in
// registers, against Bᵀ packed as S rows of n (zero beyond k).
template <class T, int R>
void nt_rows(index_t i0, index_t i1, index_t n, index_t k, T alpha, const T* a, index_t lda, const T* bt, T beta, T* c,
             index_t ldc) {
  using V = math::Vec<T>;
  constexpr int W = V::width;
  const V va(alpha), vb(beta);
  for (index_t i = i0; i < i1; i += R) {
    V x[R][S];
    for (int r = 0; r < R; ++r)
      for (int p = 0; p < S; ++p) x[r][p] = V(p < k ? a[(i + r) * lda + p] : T(0));
    auto block = [&](index_t j, int w) {
      V acc[R];
      for (auto& v : acc) v = V(T(0));
      for (int p = 0; p < S; ++p) {
        const V y = w == W ? V::load(bt + p * n + j) : V::load_partial(bt + p * n + j, w);
        for (int r = 0; r < R; ++r) acc[r] = math::fma(x[r][p], y, acc[r]);
      }
      for (int r = 0; r < R; ++r) {
        T* out = c + (i + r) * ldc + j;
        V v = va * acc[r];
        if (beta != T(0)) v = v + vb * (w == W ? V::load(out) : V::load_partial(out, w));
        if (w < W) v.store_partial(out, w);
        else if (beta == T(0) && reinterpret_cast<std::uintptr_t>(out) % sizeof(V) == 0) v.stream(out);
        else v.store(out);
      }
    };
    index_t j = 0;
    for (; j + W <= n; j += W) block(j, W);
    if (j < n) block(j, static_cast<int>(n - j));
  }
  math::stream_fence();
}

template <class T>
void nt(index_t m, index_t n, index_t k, T alpha, const T* a, index_t lda, const T* b, index_t ldb, T beta, T* c,
        index_t ldc) {
  constexpr int R = rows_at_once;
  const Buffer<T, cpu> packed = zeroed<T>(S * n);
  T* bt = packed.data();
  for (index_t j = 0; j < n; ++j)
    for (index_t p = 0; p < k; ++p) bt[p * n + j] = b[j * ldb + p];
  const index_t done = for_row_blocks(m, R, R * n * S, [&](index_t i0, index_t i1) {
    nt_rows<T, R>(i0, i1, n, k, alpha, a, lda, bt, beta, c, ldc);
  });
  nt_rows<T, 1>(done, m, n, k, alpha, a, lda, bt, beta, c, ldc);
}

}  // namespace thin_detail
#endif

// Whether thin_gemm computes this product: A·B or Aᵀ·B with at most thin_max columns, A·Bᵀ with
// an inner size of at most thin_max.
inline bool is_thin(bool trans_a, bool trans_b, index_t n, index_t k) {
  if (trans_b) return !trans_a && k <= thin_max;
  return n <= thin_max;
}

// C = alpha · op(A) · op(B) + beta · C for a product that is_thin (beta = 0: C is not read).
template <class T>
void thin_gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha, const T* a, index_t lda,
               const T* b, index_t ldb, T beta, T* c, index_t ldc) {
#if TSGAN_HOST_PASS
  if (trans_b) thin_detail::nt(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else if (trans_a) thin_detail::tn(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else thin_detail::nn(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#else
  (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)lda, (void)b, (void)ldb,
      (void)beta, (void)c, (void)ldc;
#endif
}

}  // namespace tsgan::kernels
