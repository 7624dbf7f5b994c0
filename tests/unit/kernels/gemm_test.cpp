// The CPU GEMM behind convolutions and linear layers: both backends (OpenBLAS when linked, Eigen's
// product) and the kernels for products with a small side (kernels/cpu/thin_gemm.hpp) against a
// direct loop in double, for every transpose combination, leading dimensions wider than the
// matrices and the alpha/beta cases; the small-side kernels also at one to three threads bit for
// bit; and how OpenBLAS's kernel names are ranked when tsgan decides whether to trust them.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <limits>
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

// C = op(A)·op(B) through thin_gemm, C starting as NaN (beta = 0 must not read it), at `threads`
// threads; C's rows start at 64-byte boundaries when ldc allows, as for a weight gradient.
std::vector<float> thin_product(bool ta, bool tb, index_t m, index_t n, index_t k, int threads) {
  std::mt19937 rng(static_cast<unsigned>(m + 3 * n + 7 * k));
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> a(static_cast<std::size_t>(m * k)), b(static_cast<std::size_t>(k * n)),
      storage(static_cast<std::size_t>(m * n + 16), std::numeric_limits<float>::quiet_NaN());
  for (auto* v : {&a, &b})
    for (auto& e : *v) e = u(rng);
  float* c = storage.data();
  while (reinterpret_cast<std::uintptr_t>(c) % 64 != 0) ++c;
  const int saved = num_threads();
  set_num_threads(threads);
  kernels::thin_gemm<float>(ta, tb, m, n, k, 1.f, a.data(), ta ? m : k, b.data(), tb ? k : n, 0.f, c, n);
  set_num_threads(saved);
  for (index_t i = 0; i < m; ++i)
    for (index_t j = 0; j < n; ++j) {
      double s = 0;
      for (index_t p = 0; p < k; ++p)
        s += double(ta ? a[p * m + i] : a[i * k + p]) * double(tb ? b[j * k + p] : b[p * n + j]);
      if (!test::close(c[i * n + j], s, 1e-4, 1e-4)) {
        FAIL("C(" << i << ", " << j << "): got " << c[i * n + j] << ", direct loop " << s);
        break;
      }
    }
  return {c, c + m * n};
}

}  // namespace

TEST_SUITE("kernels.gemm") {
  TEST_CASE_TEMPLATE("products with a small side go to the thin kernels and match a direct loop", T, float, double) {
    using kernels::is_thin;
    const GemmBackend chosen = kernels::gemm_backend();
    CHECK(is_thin(false, false, 6, 8192));  // 1 x 1 planes of a batch of 6 against a 4 x 4 x 512 weight
    CHECK(is_thin(true, false, 6, 512));
    CHECK(is_thin(false, true, 8192, 6));   // its weight gradient: inner size 6
    CHECK_FALSE(is_thin(false, false, 9, 8192));
    CHECK_FALSE(is_thin(false, true, 8192, 9));
    CHECK_FALSE(is_thin(true, true, 6, 6));
    // Row counts that leave partial blocks and packets, inner sizes off the SIMD width, n from 1 to
    // 8 (A·B, Aᵀ·B) and k from 1 to 8 (A·Bᵀ).
    for (bool ta : {false, true}) {
      check_gemm<T>(GemmBackend::eigen, ta, false, 37, 6, 1000, T(1), T(0));
      check_gemm<T>(GemmBackend::eigen, ta, false, 200, 8, 77, T(0.5), T(1));
      check_gemm<T>(GemmBackend::eigen, ta, false, 5, 1, 3, T(-2), T(0.25));
      check_gemm<T>(GemmBackend::eigen, ta, false, 49, 3, 16, T(1), T(-1));
    }
    check_gemm<T>(GemmBackend::eigen, false, true, 7, 203, 6, T(1), T(0));
    check_gemm<T>(GemmBackend::eigen, false, true, 64, 40, 8, T(0.5), T(1));
    check_gemm<T>(GemmBackend::eigen, false, true, 4, 5, 1, T(-2), T(0.25));
    kernels::set_gemm_backend(chosen);
  }

  TEST_CASE("the thin kernels give the same bits at one, two and three threads, and never read C at beta = 0") {
    struct Case {
      bool ta, tb;
      index_t m, n, k;
    };
    for (const Case& c : {Case{false, false, 301, 6, 531}, Case{true, false, 517, 6, 129}, Case{false, true, 97, 523, 6},
                          Case{false, true, 40, 256, 8}}) {
      CAPTURE(c.ta);
      CAPTURE(c.tb);
      CAPTURE(c.m);
      const auto one = thin_product(c.ta, c.tb, c.m, c.n, c.k, 1);
      for (int threads : {2, 3}) {
        CAPTURE(threads);
        const auto many = thin_product(c.ta, c.tb, c.m, c.n, c.k, threads);
        CHECK(std::memcmp(many.data(), one.data(), one.size() * sizeof(float)) == 0);
      }
    }
  }

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
