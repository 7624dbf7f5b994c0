// Batch normalisation on the CPU, per channel of an [N, C, ...] tensor (NCHW, or [N, C]).
//
// Statistics are one pass over the input: per (image, channel) plane, sums of (x − K) and
// (x − K)² in double, where the shift K is the channel's first value. Shifting keeps the
// one-pass variance accurate when the mean is large against the spread (E[x²] − E[x]² would
// cancel); double sums keep it accurate over large planes. The partial sums of the planes are
// combined per channel in a fixed order, so results do not depend on the thread count. The
// backward pass is one reduction (Σdy, Σdy·x̂ per channel) and one elementwise pass; x̂ is
// recomputed from x and the saved mean and 1/σ rather than stored.
#pragma once

#include <algorithm>
#include <cmath>

#include "tsgan/core/parallel.hpp"
#include "tsgan/core/tensor.hpp"

namespace tsgan::kernels {

// [n, c, plane]: plane is the product of the dimensions after the channel (1 for [N, C]).
struct NormGeometry {
  index_t n, c, plane;
  index_t count() const { return n * plane; }  // values per channel
};

// Where a kernel writes one gradient: null when it is not needed; overwritten or added to.
template <class T>
struct GradOut {
  T* data = nullptr;
  bool accumulate = false;
};

template <class D>
struct NormKernels;

namespace cpu_detail {

// Sums over each channel of f(plane, ch, s1, s2), which adds one plane's two sums into s1, s2.
// Planes run in parallel into partials that are then added per channel in image order.
template <class F>
void channel_sums(const NormGeometry& g, double* s1, double* s2, F&& f) {
  Buffer<double, cpu> part(static_cast<std::size_t>(2 * g.n * g.c));
  double* p = part.data();
  parallel_for(g.n * g.c, grain_for(g.plane), [&](index_t b, index_t e) {
    for (index_t i = b; i < e; ++i) {
      double a = 0, q = 0;
      f(i, i % g.c, a, q);
      p[2 * i] = a;
      p[2 * i + 1] = q;
    }
  });
  for (index_t ch = 0; ch < g.c; ++ch) {
    double a = 0, q = 0;
    for (index_t img = 0; img < g.n; ++img) {
      a += p[2 * (img * g.c + ch)];
      q += p[2 * (img * g.c + ch) + 1];
    }
    s1[ch] = a;
    s2[ch] = q;
  }
}

}  // namespace cpu_detail

template <>
struct NormKernels<cpu> {
  // mean and invstd = 1/sqrt(biased variance + eps) of each channel. When running_mean is not
  // null, running = (1 − momentum)·running + momentum·batch, with the unbiased variance for
  // running_var (PyTorch), `passes` times over: what that many passes over this batch would do,
  // rounded to T after each as they would be.
  template <class T>
  static void batch_stats(const NormGeometry& g, const T* x, double eps, T* mean, T* invstd, T* running_mean,
                          T* running_var, double momentum, int passes) {
    Buffer<double, cpu> sums(static_cast<std::size_t>(2 * g.c));
    double* s1 = sums.data();
    double* s2 = s1 + g.c;
    cpu_detail::channel_sums(g, s1, s2, [&](index_t i, index_t ch, double& a, double& q) {
      const double k = x[ch * g.plane];
      const T* src = x + i * g.plane;
      for (index_t p = 0; p < g.plane; ++p) {
        const double d = double(src[p]) - k;
        a += d;
        q += d * d;
      }
    });
    const double m = double(g.count());
    for (index_t ch = 0; ch < g.c; ++ch) {
      const double k = x[ch * g.plane];
      const double mu = k + s1[ch] / m;
      const double var = std::max(0.0, (s2[ch] - s1[ch] * s1[ch] / m) / m);
      mean[ch] = T(mu);
      invstd[ch] = T(1 / std::sqrt(var + eps));
      for (int k = 0; running_mean && k < passes; ++k) {
        running_mean[ch] = T((1 - momentum) * double(running_mean[ch]) + momentum * mu);
        running_var[ch] = T((1 - momentum) * double(running_var[ch]) + momentum * var * m / (m - 1));
      }
    }
  }

  // The statistics of evaluation mode: mean = running_mean, invstd = 1/sqrt(running_var + eps).
  template <class T>
  static void running_stats(const NormGeometry& g, const T* running_mean, const T* running_var, double eps, T* mean,
                            T* invstd) {
    for (index_t ch = 0; ch < g.c; ++ch) {
      mean[ch] = running_mean[ch];
      invstd[ch] = T(1 / std::sqrt(double(running_var[ch]) + eps));
    }
  }

  // y = (x − mean)·invstd·gamma + beta; gamma and beta may be null (1 and 0).
  template <class T>
  static void normalize(const NormGeometry& g, const T* x, const T* mean, const T* invstd, const T* gamma,
                        const T* beta, T* y) {
    parallel_for(g.n * g.c, grain_for(g.plane), [&](index_t b, index_t e) {
      for (index_t i = b; i < e; ++i) {
        const index_t ch = i % g.c;
        const T mu = mean[ch], scale = invstd[ch] * (gamma ? gamma[ch] : T(1)), shift = beta ? beta[ch] : T(0);
        const T* src = x + i * g.plane;
        T* dst = y + i * g.plane;
        for (index_t p = 0; p < g.plane; ++p) dst[p] = (src[p] - mu) * scale + shift;
      }
    });
  }

  // Gradients of normalize() for output gradient dy, with x̂ = (x − mean)·invstd:
  //   dgamma = Σ dy·x̂,  dbeta = Σ dy,
  //   dx = γ·invstd·dy                                   (evaluation: the statistics are constants)
  //   dx = γ·invstd/M·(M·dy − Σdy − x̂·Σ(dy·x̂))           (training: they depend on x; M = N·plane)
  template <class T>
  static void backward(const NormGeometry& g, bool training, const T* x, const T* dy, const T* mean,
                       const T* invstd, const T* gamma, GradOut<T> dx, GradOut<T> dgamma, GradOut<T> dbeta) {
    const bool reduce = dgamma.data || dbeta.data || (training && dx.data);
    Buffer<double, cpu> sums(static_cast<std::size_t>(reduce ? 2 * g.c : 0));
    double* sdy = sums.data();
    double* sdyx = reduce ? sdy + g.c : nullptr;
    if (reduce) {
      cpu_detail::channel_sums(g, sdy, sdyx, [&](index_t i, index_t ch, double& a, double& q) {
        const T mu = mean[ch], s = invstd[ch];
        const T* xs = x + i * g.plane;
        const T* gs = dy + i * g.plane;
        for (index_t p = 0; p < g.plane; ++p) {
          a += double(gs[p]);
          q += double(gs[p]) * double((xs[p] - mu) * s);
        }
      });
      for (index_t ch = 0; ch < g.c; ++ch) {
        if (dgamma.data) dgamma.data[ch] = T(sdyx[ch]) + (dgamma.accumulate ? dgamma.data[ch] : T(0));
        if (dbeta.data) dbeta.data[ch] = T(sdy[ch]) + (dbeta.accumulate ? dbeta.data[ch] : T(0));
      }
    }
    if (!dx.data) return;
    const double m = double(g.count());
    parallel_for(g.n * g.c, grain_for(g.plane), [&](index_t b, index_t e) {
      for (index_t i = b; i < e; ++i) {
        const index_t ch = i % g.c;
        // dx = k1·dy + k2·(x − mean) + k0, the closed form above with x̂ expanded.
        const double s = double(invstd[ch]), k1 = s * (gamma ? double(gamma[ch]) : 1.0);
        const T c1 = T(k1);
        const T c2 = training ? T(-k1 * s * sdyx[ch] / m) : T(0);
        const T c0 = training ? T(-k1 * sdy[ch] / m) : T(0);
        const T mu = mean[ch];
        const T* xs = x + i * g.plane;
        const T* gs = dy + i * g.plane;
        T* out = dx.data + i * g.plane;
        if (dx.accumulate)
          for (index_t p = 0; p < g.plane; ++p) out[p] += c1 * gs[p] + c2 * (xs[p] - mu) + c0;
        else
          for (index_t p = 0; p < g.plane; ++p) out[p] = c1 * gs[p] + c2 * (xs[p] - mu) + c0;
      }
    });
  }
};

}  // namespace tsgan::kernels
