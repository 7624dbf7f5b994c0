// libtsgan-gemm-shapes.so: put in front of OpenBLAS with LD_PRELOAD, it times every cblas_sgemm
// call of a program and, at exit, writes one line per call to $TSGAN_GEMM_SHAPES_OUT: its start
// on the monotonic clock (s), transposes, M, N, K, the leading dimensions, whether beta was zero,
// and its duration (ns). bench/gemm_shapes.py runs tsgan-bench-tsgan under it and keeps the calls
// of the timed steps. tsgan's own kernels (kernels/cpu/thin_gemm.hpp) do not pass through it.
#include <dlfcn.h>

#include <cblas.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

namespace {

using Sgemm = void (*)(CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, blasint, blasint, blasint, float, const float*,
                       blasint, const float*, blasint, float, float*, blasint);

struct Call {
  double start_s;
  bool trans_a, trans_b, beta_zero;
  blasint m, n, k, lda, ldb, ldc;
  long long ns;
};

// tsgan calls the BLAS from several threads at once where images run side by side, so each thread
// keeps its own log; they are merged at exit.
struct Log {
  std::vector<Call> calls;
  Log() { calls.reserve(1 << 16); }
};

std::mutex logs_mutex;
std::vector<Log*>& logs() {
  static auto* all = new std::vector<Log*>;  // never destroyed: `writer` reads it at exit
  return *all;
}

Log& this_thread_log() {
  thread_local Log* log = [] {
    auto* l = new Log;  // kept until exit: its calls are written then
    const std::lock_guard lock(logs_mutex);
    logs().push_back(l);
    return l;
  }();
  return *log;
}

struct Writer {
  ~Writer() {
    const char* path = std::getenv("TSGAN_GEMM_SHAPES_OUT");  // nothing is written anywhere else
    if (!path) {
      std::fputs("libtsgan-gemm-shapes: TSGAN_GEMM_SHAPES_OUT is not set; the timings were not written\n", stderr);
      return;
    }
    std::FILE* f = std::fopen(path, "w");
    if (!f) {
      std::fprintf(stderr, "libtsgan-gemm-shapes: %s: cannot write the timings\n", path);
      return;
    }
    for (const Log* log : logs())
      for (const Call& c : log->calls)
        std::fprintf(f, "%.6f\t%c%c\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%lld\n", c.start_s, c.trans_a ? 'T' : 'N',
                     c.trans_b ? 'T' : 'N', c.m, c.n, c.k, c.lda, c.ldb, c.ldc, c.beta_zero ? 1 : 0, c.ns);
    std::fclose(f);
  }
} writer;

}  // namespace

extern "C" void cblas_sgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n,
                            blasint k, float alpha, const float* a, blasint lda, const float* b, blasint ldb,
                            float beta, float* c, blasint ldc) {
  static const auto real = reinterpret_cast<Sgemm>(dlsym(RTLD_NEXT, "cblas_sgemm"));
  const auto t0 = std::chrono::steady_clock::now();
  real(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  const auto t1 = std::chrono::steady_clock::now();
  this_thread_log().calls.push_back({std::chrono::duration<double>(t0.time_since_epoch()).count(), ta == CblasTrans,
                                     tb == CblasTrans, beta == 0.f, m, n, k, lda, ldb, ldc,
                                     std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count()});
}
