// SGEMM C = op(A) op(B), row-major, at 1 and 2 threads: Eigen's own product against one BLAS
// library, to decide which GEMM tsgan's convolutions call. The shapes are square sizes and the
// GEMMs that an im2col implementation of the paper-config pix2pix step performs (derived with
// `bench/flops.py --config paper --gemm`: the layers with the largest share of the step, per image
// and with the batch folded into N).
//
// One binary per BLAS library, chosen at compile time (bench/CMakeLists.txt): OpenBLAS and BLIS
// both export cblas_sgemm, and Debian's pthread and OpenMP builds of OpenBLAS share a soname, so
// each binary is linked (with an rpath) to exactly one of them:
//   TSGAN_GEMM_OPENBLAS  cblas_sgemm, threads through openblas_set_num_threads
//   TSGAN_GEMM_BLIS      BLIS's native typed API bli_sgemm, threads through
//                        bli_thread_set_num_threads
//
// The "conv" benchmarks put each GEMM between two OpenMP-parallel passes, as a convolution layer
// of tsgan does (an im2col copy before, bias + LeakyReLU after, both through tsgan::parallel_for).
// They show how the BLAS library's threads get along with OpenMP's on the same two cores.
// Results: docs/performance.md.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tsgan/core/parallel.hpp"

#if defined(TSGAN_GEMM_OPENBLAS)
#include <cblas.h>
#elif defined(TSGAN_GEMM_BLIS)
#include <blis.h>
#else
#error "define TSGAN_GEMM_OPENBLAS or TSGAN_GEMM_BLIS (bench/CMakeLists.txt does)"
#endif

namespace {

struct GemmShape {
  const char* label;  // sqN for squares, else <net>.<layer>.<role>[.batch] from flops.py
  long m, n, k;
  bool trans_a, trans_b;

  double flops() const { return 2.0 * static_cast<double>(m) * n * k; }
  long a_rows() const { return trans_a ? k : m; }
  long a_cols() const { return trans_a ? m : k; }
  long b_rows() const { return trans_b ? n : k; }
  long b_cols() const { return trans_b ? k : n; }
};

// Per image, M x N x K as flops.py --gemm prints them; ".batch" folds the 6 images of the paper
// config into N (fwd, igrad) or K (wgrad), as an im2col over the whole batch would.
const GemmShape kShapes[] = {
    {"sq256", 256, 256, 256, false, false},
    {"sq512", 512, 512, 512, false, false},
    {"sq1024", 1024, 1024, 1024, false, false},
    {"sq2048", 2048, 2048, 2048, false, false},
    // D.d4 (256 -> 512, 15 x 15 out): 35 % of the step.
    {"D.d4.fwd", 512, 225, 4096, false, false},
    {"D.d4.fwd.batch", 512, 1350, 4096, false, false},
    {"D.d4.igrad", 4096, 225, 512, true, false},
    {"D.d4.wgrad", 512, 4096, 225, false, true},
    {"D.d4.wgrad.batch", 512, 4096, 1350, false, true},
    // D.d2 / G.enc2 and D.d3 / G.enc3: 64 -> 128 at 32 x 32 and 128 -> 256 at 16 x 16.
    {"D.d2.fwd", 128, 1024, 1024, false, false},
    {"D.d3.fwd", 256, 256, 2048, false, false},
    // Transposed convs of the decoder (col2im GEMMs): G.dec2..dec4 carry 23 % of the step.
    {"G.dec2.fwd", 1024, 1024, 256, true, false},
    {"G.dec4.fwd", 4096, 64, 1024, true, false},
    {"G.dec4.fwd.batch", 4096, 384, 1024, true, false},
    // Skinny ones near the bottleneck, where per-image GEMMs are at their worst.
    {"G.enc4.wgrad", 512, 4096, 64, false, true},
    {"G.dec5.fwd", 8192, 16, 1024, true, false},
    {"G.dec5.fwd.batch", 8192, 96, 1024, true, false},
};

// Shapes of the conv-in-context benchmark: one heavy, one small-N, one with the biggest panels.
const char* const kConvShapes[] = {"D.d4.fwd", "D.d2.fwd", "G.dec4.fwd", "sq1024"};

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float[], AlignedFree>;

Buffer make_buffer(long n, unsigned seed) {
  const std::size_t bytes = ((static_cast<std::size_t>(n) * sizeof(float) + 63) / 64) * 64;
  Buffer b(static_cast<float*>(std::aligned_alloc(64, bytes)));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (long i = 0; i < n; ++i) b[i] = dist(gen);
  return b;
}

struct Operands {
  Buffer a, b, c, b_src, bias;
  explicit Operands(const GemmShape& s)
      : a(make_buffer(s.m * s.k, 1)), b(make_buffer(s.k * s.n, 2)), c(make_buffer(s.m * s.n, 3)),
        b_src(make_buffer(s.k * s.n, 4)), bias(make_buffer(s.m, 5)) {}
};

// ---- the backends ----------------------------------------------------------------------------

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void eigen_threads(int t) { Eigen::setNbThreads(t); }

void eigen_gemm(const GemmShape& s, const float* a, const float* b, float* c) {
  Eigen::Map<const RowMat> A(a, s.a_rows(), s.a_cols());
  Eigen::Map<const RowMat> B(b, s.b_rows(), s.b_cols());
  Eigen::Map<RowMat> C(c, s.m, s.n);
  if (!s.trans_a && !s.trans_b) C.noalias() = A * B;
  else if (s.trans_a && !s.trans_b) C.noalias() = A.transpose() * B;
  else if (!s.trans_a && s.trans_b) C.noalias() = A * B.transpose();
  else C.noalias() = A.transpose() * B.transpose();
}

#if defined(TSGAN_GEMM_OPENBLAS)
const char* blas_name() { return openblas_get_parallel() == 2 ? "openblas-omp" : "openblas"; }
std::string blas_description() {
  const int p = openblas_get_parallel();
  return std::string(openblas_get_config()) + ", core " + openblas_get_corename() +
         (p == 2 ? ", OpenMP threading" : p == 1 ? ", pthread threading" : ", serial");
}
void blas_threads(int t) { openblas_set_num_threads(t); }
void blas_gemm(const GemmShape& s, const float* a, const float* b, float* c) {
  cblas_sgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans, s.trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(s.m), static_cast<int>(s.n), static_cast<int>(s.k), 1.f, a,
              static_cast<int>(s.a_cols()), b, static_cast<int>(s.b_cols()), 0.f, c, static_cast<int>(s.n));
}
#elif defined(TSGAN_GEMM_BLIS)
const char* blas_name() { return "blis"; }
std::string blas_description() {
  return std::string("BLIS ") + bli_info_get_version_str() + ", sgemm kernel config " +
         bli_arch_string(bli_arch_query_id());
}
void blas_threads(int t) { bli_thread_set_num_threads(t); }
// Native typed API: general strides, so row-major needs no flag; op() is the trans_t argument.
void blas_gemm(const GemmShape& s, const float* a, const float* b, float* c) {
  float one = 1.f, zero = 0.f;
  bli_sgemm(s.trans_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, s.trans_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, s.m,
            s.n, s.k, &one, const_cast<float*>(a), s.a_cols(), 1, const_cast<float*>(b), s.b_cols(), 1, &zero,
            c, s.n, 1);
}
#endif

struct Backend {
  const char* name;
  void (*threads)(int);
  void (*gemm)(const GemmShape&, const float*, const float*, float*);
};

// ---- benchmarks --------------------------------------------------------------------------------

void set_threads(const Backend& be, int t) {
  tsgan::set_num_threads(t);  // OpenMP, for the passes around the GEMM
  be.threads(t);
}

void run_gemm(benchmark::State& state, Backend be, GemmShape s, int t) {
  set_threads(be, t);
  Operands op(s);
  for (auto _ : state) {
    be.gemm(s, op.a.get(), op.b.get(), op.c.get());
    benchmark::DoNotOptimize(op.c.get());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPS"] = benchmark::Counter(s.flops() / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// A convolution layer's shape of work: an OpenMP copy that stands for im2col, the GEMM, then an
// OpenMP pass adding the bias and applying LeakyReLU(0.2). GFLOPS counts the GEMM's FLOPs only,
// so it is directly comparable with run_gemm of the same shape.
void run_conv(benchmark::State& state, Backend be, GemmShape s, int t) {
  set_threads(be, t);
  Operands op(s);
  float *b = op.b.get(), *c = op.c.get();
  const float *src = op.b_src.get(), *bias = op.bias.get();
  const long n = s.n;
  for (auto _ : state) {
    tsgan::parallel_for(s.k * s.n, 4096, [&](tsgan::index_t lo, tsgan::index_t hi) {
      std::copy(src + lo, src + hi, b + lo);
    });
    be.gemm(s, op.a.get(), b, c);
    tsgan::parallel_for(s.m, 4, [&](tsgan::index_t lo, tsgan::index_t hi) {
      for (tsgan::index_t r = lo; r < hi; ++r) {
        float* row = c + r * n;
        const float br = bias[r];
#pragma omp simd
        for (long j = 0; j < n; ++j) {
          const float v = row[j] + br;
          row[j] = v > 0.f ? v : 0.2f * v;
        }
      }
    });
    benchmark::ClobberMemory();
  }
  state.counters["GFLOPS"] = benchmark::Counter(s.flops() / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// Each backend against Eigen on every shape, once, before anything is timed: a wrong transpose
// or stride would otherwise show up only as a suspiciously good number.
bool verify(const Backend& be) {
  const Backend eigen{"eigen", eigen_threads, eigen_gemm};
  set_threads(be, 2);
  eigen_threads(2);
  bool ok = true;
  for (const GemmShape& s : kShapes) {
    Operands op(s);
    Buffer ref = make_buffer(s.m * s.n, 6);
    eigen.gemm(s, op.a.get(), op.b.get(), ref.get());
    be.gemm(s, op.a.get(), op.b.get(), op.c.get());
    double err = 0;
    for (long i = 0; i < s.m * s.n; ++i) err = std::max(err, static_cast<double>(std::abs(ref[i] - op.c[i])));
    // Sums of K products of numbers in [-1, 1]: float rounding grows like sqrt(K).
    const double tol = 1e-5 * std::sqrt(static_cast<double>(s.k)) * 8;
    if (!(err <= tol)) {
      std::fprintf(stderr, "bench_gemm: %s disagrees with Eigen on %s: max |diff| %g > %g\n", be.name, s.label,
                   err, tol);
      ok = false;
    }
  }
  return ok;
}

// The best repetition: on a shared machine other jobs only ever make a run slower, so the fastest
// repetition is the closest to what the code does on its own (on a quiet machine max ~ median).
double max_of(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()); }
double min_of(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end()); }

}  // namespace

int main(int argc, char** argv) {
  const Backend backends[] = {{"eigen", eigen_threads, eigen_gemm}, {blas_name(), blas_threads, blas_gemm}};
  if (!verify(backends[1])) return 1;

  for (int t : {1, 2}) {
    for (const Backend& be : backends) {
      for (const GemmShape& s : kShapes) {
        const std::string name = std::string("sgemm/") + be.name + "/" + s.label + "/threads:" + std::to_string(t);
        benchmark::RegisterBenchmark(name.c_str(), run_gemm, be, s, t)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond)
            ->ComputeStatistics("max", max_of)
            ->ComputeStatistics("min", min_of);
      }
      for (const char* label : kConvShapes) {
        const GemmShape s = *std::find_if(std::begin(kShapes), std::end(kShapes),
                                          [&](const GemmShape& x) { return std::string(x.label) == label; });
        const std::string name = std::string("conv/") + be.name + "/" + s.label + "/threads:" + std::to_string(t);
        benchmark::RegisterBenchmark(name.c_str(), run_conv, be, s, t)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond)
            ->ComputeStatistics("max", max_of)
            ->ComputeStatistics("min", min_of);
      }
    }
  }

  benchmark::AddCustomContext("gemm_blas", blas_description());
  benchmark::AddCustomContext("eigen", std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) +
                                           "." + std::to_string(EIGEN_MINOR_VERSION) + ", " +
                                           Eigen::SimdInstructionSetsInUse());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
