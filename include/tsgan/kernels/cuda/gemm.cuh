// Matrix products on the GPU: MatmulKernels<cuda>, the same calls and semantics as
// MatmulKernels<cpu> (ops/linear.hpp), on cuBLAS.
//
// gemm_batched is one cublasGemmStridedBatchedEx call (one launch for every matrix of a batch)
// with an explicit compute type: CUBLAS_COMPUTE_32F for float (pure FP32), or
// CUBLAS_COMPUTE_32F_FAST_TF32 while set_tf32(true); CUBLAS_COMPUTE_64F for double. The handle
// keeps cuBLAS's default math mode, so nothing but that argument decides whether tensor cores
// round the inputs. cuBLAS is column-major and tsgan row-major: a row-major C = op(A)·op(B) is the
// column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, so the operands are passed swapped, with the leading
// dimensions the CPU path uses.
//
// The bias add and its gradient are our own kernels; the gradient is the deterministic
// per-channel sum of launch.cuh over a [rows, cols] matrix.
#pragma once

#include <cublas_v2.h>

#include <type_traits>

#include "tsgan/core/settings.hpp"
#include "tsgan/kernels/cuda/conv.cuh"
#include "tsgan/kernels/cuda/launch.cuh"

namespace tsgan::kernels {

template <class D>
struct MatmulKernels;

template <>
struct MatmulKernels<cuda> {
  // For each of `batch` matrices: C (+)= op(A) · op(B), with op(A) [m, k], op(B) [k, n].
  template <class T>
  static void gemm_batched(bool ta, bool tb, index_t batch, index_t m, index_t n, index_t k, const T* a, const T* b,
                           T* c, bool accumulate) {
    if (m == 0 || n == 0 || batch == 0) return;
    const T alpha = 1, beta = accumulate ? 1 : 0;
    if (k == 0) {  // an empty sum: C = beta·C
      if (!accumulate) zero_fill<cuda>(c, batch * m * n);
      return;
    }
    constexpr bool fp32 = std::is_same_v<T, float>;
    constexpr cudaDataType_t type = fp32 ? CUDA_R_32F : CUDA_R_64F;
    const cublasComputeType_t compute = fp32 ? (tf32_enabled() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F)
                                             : CUBLAS_COMPUTE_64F;
    const index_t lda = ta ? m : k, ldb = tb ? k : n;
    auto i = [](index_t v) { return static_cast<int>(v); };
    TSGAN_CUDA_CHECK(cublasGemmStridedBatchedEx(cuda_context().cublas(), tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                                ta ? CUBLAS_OP_T : CUBLAS_OP_N, i(n), i(m), i(k), &alpha, b, type,
                                                i(ldb), static_cast<long long>(k * n), a, type, i(lda),
                                                static_cast<long long>(m * k), &beta, c, type, i(n),
                                                static_cast<long long>(m * n), i(batch), compute, CUBLAS_GEMM_DEFAULT));
  }

  // y[r, o] += b[o] for `rows` rows.
  template <class T>
  static void add_rows(T* y, const T* b, index_t rows, index_t cols) {
    cuda_detail::for_each(rows * cols, [=] __device__(index_t i) { y[i] += b[i % cols]; },
                          "tsgan::kernels::MatmulKernels<cuda>::add_rows");
  }

  // db[o] (+)= Σ_r dy[r, o], in double, in a fixed order.
  template <class T>
  static void sum_rows(const T* dy, index_t rows, index_t cols, T* db, bool accumulate) {
    ConvKernels<cuda>::bias_grad(dy, rows, cols, 1, db, accumulate);
  }
};

}  // namespace tsgan::kernels
