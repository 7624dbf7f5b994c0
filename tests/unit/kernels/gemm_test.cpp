// The CPU GEMM behind convolutions and linear layers: both backends (OpenBLAS when linked, Eigen's
// product) against a direct loop in double, for every transpose combination, leading dimensions
// wider than the matrices and the alpha/beta cases; and how OpenBLAS's kernel names are ranked
// when tsgan decides whether to trust them.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "support.hpp"
#include "tsgan/kernels/cpu/gemm.hpp"

using namespace tsgan;
using kernels::GemmBackend;

namespace {

template <class T>
void check_gemm(GemmBackend backend, bool ta, bool tb, index_t m, index_t n, index_t k, T alpha, T beta) {
  CAPTURE(ta);
  CAPTURE(tb);
  CAPTURE(m);
  CAPTURE(n);
  CAPTURE(k);
  std::mt19937 rng(static_cast<unsigned>(m * 131 + n * 7 + k));
  std::uniform_real_distribution<double> u(-1, 1);
  const index_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5;
  std::vector<T> a(static_cast<std::size_t>((ta ? k : m) * lda)), b(static_cast<std::size_t>((tb ? n : k) * ldb)),
      c(static_cast<std::size_t>(m * ldc));
  for (auto* v : {&a, &b, &c})
    for (auto& e : *v) e = static_cast<T>(u(rng));
  std::vector<double> want(c.begin(), c.end());
  for (index_t i = 0; i < m; ++i)
    for (index_t j = 0; j < n; ++j) {
      double s = 0;
      for (index_t p = 0; p < k; ++p)
        s += double(ta ? a[p * lda + i] : a[i * lda + p]) * double(tb ? b[j * ldb + p] : b[p * ldb + j]);
      want[i * ldc + j] = double(alpha) * s + (beta == T(0) ? 0.0 : double(beta) * double(c[i * ldc + j]));
    }
  kernels::set_gemm_backend(backend);
  kernels::gemm<T>(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
  const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-12;
  for (index_t i = 0; i < m; ++i)
    for (index_t j = 0; j < n; ++j)
      if (!test::close(c[i * ldc + j], want[i * ldc + j], tol, tol)) {
        FAIL("C(" << i << ", " << j << "): got " << c[i * ldc + j] << ", direct loop " << want[i * ldc + j]);
        return;
      }
  for (index_t i = 0; i < m; ++i)  // the padding between rows of C is left alone
    for (index_t j = n; j < ldc; ++j) CHECK(c[i * ldc + j] == T(want[i * ldc + j]));
}

}  // namespace

TEST_SUITE("kernels.gemm") {
  TEST_CASE_TEMPLATE("both backends compute alpha op(A) op(B) + beta C", T, float, double) {
    const GemmBackend chosen = kernels::gemm_backend();
    for (GemmBackend backend : {GemmBackend::blas, GemmBackend::eigen}) {
      CAPTURE(static_cast<int>(backend));
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          check_gemm<T>(backend, ta, tb, 17, 23, 31, T(1), T(0));
          check_gemm<T>(backend, ta, tb, 64, 5, 130, T(0.5), T(1));
          check_gemm<T>(backend, ta, tb, 3, 70, 9, T(-2), T(0.25));
        }
    }
    kernels::set_gemm_backend(chosen);
  }

  TEST_CASE("large products on two threads") {
    const GemmBackend chosen = kernels::gemm_backend();
    const int threads = num_threads();
    set_num_threads(2);
    for (GemmBackend backend : {GemmBackend::blas, GemmBackend::eigen})
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          check_gemm<float>(backend, ta, tb, 130, 300, 120, 1.f, 0.f);
          check_gemm<float>(backend, ta, tb, 333, 97, 150, 0.5f, 1.f);
        }
    set_num_threads(threads);
    kernels::set_gemm_backend(chosen);
  }

  TEST_CASE("OpenBLAS kernel names are ranked by the instructions they use") {
    using kernels::cpu_detail::openblas_core_level;
    CHECK(openblas_core_level("Prescott") == 0);
    CHECK(openblas_core_level("Core2") == 0);
    CHECK(openblas_core_level("Nehalem") == 0);
    CHECK(openblas_core_level("Sandybridge") == 1);
    CHECK(openblas_core_level("Haswell") == 2);
    CHECK(openblas_core_level("Zen") == 2);
    CHECK(openblas_core_level("SkylakeX") == 3);
    CHECK(openblas_core_level("COOPERLAKE") == 3);
    CHECK(openblas_core_level("armv8") == -1);  // not an x86 core: never called weak
    CHECK(kernels::cpu_detail::cpu_simd_level() >= 0);
  }

  TEST_CASE("without OpenBLAS, or with kernels below the CPU and Eigen compiled for more, Eigen multiplies") {
#if !defined(TSGAN_WITH_OPENBLAS)
    CHECK(kernels::gemm_backend() == GemmBackend::eigen);
#else
    const int core = kernels::cpu_detail::openblas_core_level(openblas_get_corename());
    const int cpu = kernels::cpu_detail::cpu_simd_level(), eigen = kernels::cpu_detail::eigen_simd_level();
    const bool weak = core >= 0 && core < cpu && eigen > core;
    CHECK(kernels::gemm_backend() == (weak ? GemmBackend::eigen : GemmBackend::blas));
#endif
  }
}
