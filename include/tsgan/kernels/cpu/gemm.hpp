// Matrix products on the CPU, row-major: C = alpha · op(A) · op(B) + beta · C.
//
// With OpenBLAS (the tsgan CMake target links it when found and defines TSGAN_WITH_OPENBLAS)
// this is cblas_sgemm/dgemm; otherwise Eigen's product. OpenBLAS is the default because its
// SGEMM is markedly faster than Eigen's on these machines (docs/performance.md), and every heavy
// layer of the model (convolutions through im2col, linear layers) is a GEMM.
#pragma once

#include <Eigen/Core>

#include "tsgan/core/config.hpp"
#include "tsgan/core/parallel.hpp"

#if defined(TSGAN_WITH_OPENBLAS)
#include <cblas.h>
extern "C" void openblas_set_num_threads(int);
#endif

namespace tsgan::kernels {

#if defined(TSGAN_WITH_OPENBLAS)
namespace cpu_detail {
// Routes tsgan::set_num_threads to OpenBLAS (registered once, before the first product).
inline const bool blas_threads_hooked = [] {
  tsgan::detail::blas_thread_hook() = [](int n) { openblas_set_num_threads(n); };
  openblas_set_num_threads(num_threads());
  return true;
}();
}  // namespace cpu_detail
#endif

// C = alpha · op(A) · op(B) + beta · C for row-major matrices (CPU).

template <class T>
void gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha, const T* a, index_t lda,
          const T* b, index_t ldb, T beta, T* c, index_t ldc) {
  if (m == 0 || n == 0) return;
#if defined(TSGAN_WITH_OPENBLAS)
  (void)cpu_detail::blas_threads_hooked;
  const auto ta = trans_a ? CblasTrans : CblasNoTrans;
  const auto tb = trans_b ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
                static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
  else
    cblas_dgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
                static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
#else
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using ConstMap = Eigen::Map<const Mat, 0, Eigen::OuterStride<>>;
  Eigen::Map<Mat, 0, Eigen::OuterStride<>> C(c, m, n, Eigen::OuterStride<>(ldc));
  const ConstMap A(a, trans_a ? k : m, trans_a ? m : k, Eigen::OuterStride<>(lda));
  const ConstMap B(b, trans_b ? n : k, trans_b ? k : n, Eigen::OuterStride<>(ldb));
  Eigen::setNbThreads(num_threads());
  if (beta == T(0)) C.setZero();
  else if (beta != T(1)) C *= beta;
  if (trans_a && trans_b) C.noalias() += alpha * A.transpose() * B.transpose();
  else if (trans_a) C.noalias() += alpha * A.transpose() * B;
  else if (trans_b) C.noalias() += alpha * A * B.transpose();
  else C.noalias() += alpha * A * B;
#endif
}

}  // namespace tsgan::kernels
