// Matrix products on the CPU, row-major: C = alpha · op(A) · op(B) + beta · C.
//
// With OpenBLAS (the tsgan CMake target links it when found and defines TSGAN_WITH_OPENBLAS;
// cmake/TsganBlas.cmake prefers its OpenMP build) this is cblas_sgemm/dgemm; otherwise Eigen's
// product. OpenBLAS is the default because its SGEMM is markedly faster than Eigen's on these
// machines (docs/performance.md), and every heavy layer of the model (convolutions through
// im2col, linear layers) is a GEMM. Products with a small side (at most 8 columns, or an inner
// size of at most 8) skip both: kernels/cpu/thin_gemm.hpp reads their large operand once where a
// BLAS packs it first, whichever backend is chosen.
//
// OpenBLAS picks its kernels when it loads, from the CPU it recognises; an OpenBLAS older than the
// CPU falls back to old kernels (Debian 12's 0.3.21 runs its SSE3 "Prescott" code on recent Xeons,
// 7x slower). At the first product tsgan compares the kernels OpenBLAS chose with the CPU: when
// they are below it, it says so once on stderr (with the OPENBLAS_CORETYPE that fixes it), and
// when Eigen was compiled for more than those kernels it uses Eigen's product instead.
#pragma once

#include <Eigen/Core>
#include <cctype>
#include <cstdio>
#include <string>

#include "tsgan/core/config.hpp"
#include "tsgan/core/parallel.hpp"
#include "tsgan/kernels/cpu/thin_gemm.hpp"

#if defined(TSGAN_WITH_OPENBLAS)
#include <cblas.h>
extern "C" void openblas_set_num_threads(int);
extern "C" char* openblas_get_corename(void);
#endif

namespace tsgan::kernels {

enum class GemmBackend { blas, eigen };

namespace cpu_detail {

// Vector instruction levels: 0 SSE, 1 AVX, 2 AVX2 + FMA, 3 AVX-512.
inline int cpu_simd_level() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return 3;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 2;
  if (__builtin_cpu_supports("avx")) return 1;
#endif
  return 0;
}

// What this translation unit's Eigen was compiled for.
constexpr int eigen_simd_level() {
#if defined(EIGEN_VECTORIZE_AVX512)
  return 3;
#elif defined(EIGEN_VECTORIZE_AVX2) && defined(EIGEN_VECTORIZE_FMA)
  return 2;
#elif defined(EIGEN_VECTORIZE_AVX)
  return 1;
#else
  return 0;
#endif
}

// The level of an OpenBLAS x86 core name (openblas_get_corename); -1 when it is not an x86 core
// this table knows, which is never treated as weak.
inline int openblas_core_level(std::string name) {
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* n : {"skylakex", "cooperlake", "sapphirerapids"})
    if (name == n) return 3;
  for (const char* n : {"haswell", "zen", "excavator"})
    if (name == n) return 2;
  for (const char* n : {"sandybridge", "bulldozer", "piledriver", "steamroller"})
    if (name == n) return 1;
  for (const char* n : {"prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai", "coppermine",
                        "northwood", "banias", "opteron", "barcelona", "bobcat", "athlon", "nano", "generic"})
    if (name == n) return 0;
  return -1;
}

inline const char* coretype_for(int level) {
  return level >= 3 ? "SkylakeX" : level == 2 ? "Haswell" : "Sandybridge";
}
inline const char* simd_name(int level) {
  return level >= 3 ? "AVX-512" : level == 2 ? "AVX2" : level == 1 ? "AVX" : "SSE";
}

// The backend products use, decided once (at the first product) unless a test forces one.
inline GemmBackend& gemm_backend_setting() {
  static GemmBackend backend = [] {
#if defined(TSGAN_WITH_OPENBLAS)
    const char* core = openblas_get_corename();
    const std::string name = core ? core : "";
    const int have = openblas_core_level(name), cpu = cpu_simd_level(), eigen = eigen_simd_level();
    if (have < 0 || have >= cpu) return GemmBackend::blas;
    const bool use_eigen = eigen > have;
    std::fprintf(stderr,
                 "tsgan: OpenBLAS chose its '%s' kernels (%s), below this CPU's %s; %s. Set "
                 "OPENBLAS_CORETYPE=%s in the environment before the program starts to get OpenBLAS's %s "
                 "kernels (docs/performance.md).\n",
                 name.c_str(), simd_name(have), simd_name(cpu),
                 use_eigen ? "tsgan uses Eigen's matrix product instead" : "tsgan keeps it (Eigen is not faster here)",
                 coretype_for(cpu), simd_name(cpu));
    return use_eigen ? GemmBackend::eigen : GemmBackend::blas;
#else
    return GemmBackend::eigen;
#endif
  }();
  return backend;
}

#if defined(TSGAN_WITH_OPENBLAS)
// Routes tsgan::set_num_threads to OpenBLAS (registered once, before the first product).
inline const bool blas_threads_hooked = [] {
  tsgan::detail::blas_thread_hook() = [](int n) { openblas_set_num_threads(n); };
  openblas_set_num_threads(num_threads());
  return true;
}();
#endif

template <class T>
void eigen_gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha, const T* a, index_t lda,
                const T* b, index_t ldb, T beta, T* c, index_t ldc) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using ConstMap = Eigen::Map<const Mat, 0, Eigen::OuterStride<>>;
  Eigen::Map<Mat, 0, Eigen::OuterStride<>> C(c, m, n, Eigen::OuterStride<>(ldc));
  const ConstMap A(a, trans_a ? k : m, trans_a ? m : k, Eigen::OuterStride<>(lda));
  const ConstMap B(b, trans_b ? n : k, trans_b ? k : n, Eigen::OuterStride<>(ldb));
  if (!in_parallel()) Eigen::setNbThreads(num_threads());  // a process-wide setting; inside a region Eigen runs serially
  if (beta == T(0)) C.setZero();
  else if (beta != T(1)) C *= beta;
  if (trans_a && trans_b) C.noalias() += alpha * A.transpose() * B.transpose();
  else if (trans_a) C.noalias() += alpha * A.transpose() * B;
  else if (trans_b) C.noalias() += alpha * A * B.transpose();
  else C.noalias() += alpha * A * B;
}

}  // namespace cpu_detail

// The backend the products use now.
inline GemmBackend gemm_backend() { return cpu_detail::gemm_backend_setting(); }
// Forces a backend (tests compare both); blas is ignored without OpenBLAS.
inline void set_gemm_backend(GemmBackend b) {
#if !defined(TSGAN_WITH_OPENBLAS)
  b = GemmBackend::eigen;
#endif
  cpu_detail::gemm_backend_setting() = b;
}

// C = alpha · op(A) · op(B) + beta · C for row-major matrices (CPU).
template <class T>
void gemm(bool trans_a, bool trans_b, index_t m, index_t n, index_t k, T alpha, const T* a, index_t lda,
          const T* b, index_t ldb, T beta, T* c, index_t ldc) {
  if (m == 0 || n == 0) return;
  if (is_thin(trans_a, trans_b, n, k)) return thin_gemm<T>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#if defined(TSGAN_WITH_OPENBLAS)
  (void)cpu_detail::blas_threads_hooked;
  if (gemm_backend() == GemmBackend::blas) {
    const auto ta = trans_a ? CblasTrans : CblasNoTrans;
    const auto tb = trans_b ? CblasTrans : CblasNoTrans;
    if constexpr (std::is_same_v<T, float>)
      cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
                  static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
    else
      cblas_dgemm(CblasRowMajor, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
                  static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
    return;
  }
#endif
  cpu_detail::eigen_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace tsgan::kernels
