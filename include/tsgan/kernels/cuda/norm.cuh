// Batch normalisation on the GPU: NormKernels<cuda>, the same calls and semantics as
// NormKernels<cpu> (kernels/cpu/norm.hpp), with our own kernels.
//
// Not cuDNN: its batch-norm calls (cudnnBatchNormalizationForwardTraining and friends) are
// deprecated in cuDNN 9, do not document the order of their sums, cannot leave the running
// statistics alone without also skipping the saved ones, and would tie the op to NCHW 4-D inputs;
// ours take [N, C, ...] as the CPU does. The statistics are the CPU's arithmetic: per channel,
// sums of (x − K) and (x − K)² in double with K the channel's first value, then mean, biased
// variance, 1/σ and the running update in double. The sums are launch.cuh's deterministic
// per-channel reductions, so a GPU step gives the same bits every time. normalize() and the
// input gradient are one elementwise kernel each; the backward reduction (Σdy, Σdy·x̂) is one
// more per-channel sum, and x̂ is recomputed from x as on the CPU.
#pragma once

#include "tsgan/kernels/cpu/norm.hpp"
#include "tsgan/kernels/cuda/launch.cuh"

namespace tsgan::kernels {

template <>
struct NormKernels<cuda> {
  template <class T>
  static void batch_stats(const NormGeometry& g, const T* x, double eps, T* mean, T* invstd, T* running_mean,
                          T* running_var, double momentum, int passes) {
    const index_t c = g.c, plane = g.plane;
    Buffer<double, cuda> sums(static_cast<std::size_t>(2 * c));
    double* s = sums.data();
    cuda_detail::channel_sums<2>(g.n, c, plane, [=] __device__(index_t img, index_t ch, index_t p) {
      const double d = double(x[(img * c + ch) * plane + p]) - double(x[ch * plane]);
      return cuda_detail::Sums<2>{{d, d * d}};
    }, s);
    const double m = double(g.count());
    cuda_detail::for_each(c, [=] __device__(index_t ch) {
      const double k = x[ch * plane];
      const double s1 = s[2 * ch], s2 = s[2 * ch + 1];
      const double mu = k + s1 / m;
      const double var = ::fmax(0.0, (s2 - s1 * s1 / m) / m);
      mean[ch] = T(mu);
      invstd[ch] = T(1 / ::sqrt(var + eps));
      for (int k = 0; running_mean && k < passes; ++k) {
        running_mean[ch] = T((1 - momentum) * double(running_mean[ch]) + momentum * mu);
        running_var[ch] = T((1 - momentum) * double(running_var[ch]) + momentum * var * m / (m - 1));
      }
    }, "tsgan::kernels::NormKernels<cuda>::batch_stats");
  }

  template <class T>
  static void running_stats(const NormGeometry& g, const T* running_mean, const T* running_var, double eps, T* mean,
                            T* invstd) {
    cuda_detail::for_each(g.c, [=] __device__(index_t ch) {
      mean[ch] = running_mean[ch];
      invstd[ch] = T(1 / ::sqrt(double(running_var[ch]) + eps));
    }, "tsgan::kernels::NormKernels<cuda>::running_stats");
  }

  // y = (x − mean)·invstd·gamma + beta; gamma and beta may be null (1 and 0).
  template <class T>
  static void normalize(const NormGeometry& g, const T* x, const T* mean, const T* invstd, const T* gamma,
                        const T* beta, T* y) {
    const index_t c = g.c, plane = g.plane;
    cuda_detail::for_each(g.n * c * plane, [=] __device__(index_t i) {
      const index_t ch = i / plane % c;
      const T scale = invstd[ch] * (gamma ? gamma[ch] : T(1)), shift = beta ? beta[ch] : T(0);
      y[i] = (x[i] - mean[ch]) * scale + shift;
    }, "tsgan::kernels::NormKernels<cuda>::normalize");
  }

  // The gradients of normalize(); see NormKernels<cpu>::backward for the formulas.
  template <class T>
  static void backward(const NormGeometry& g, bool training, const T* x, const T* dy, const T* mean,
                       const T* invstd, const T* gamma, GradOut<T> dx, GradOut<T> dgamma, GradOut<T> dbeta) {
    const index_t c = g.c, plane = g.plane;
    const bool reduce = dgamma.data || dbeta.data || (training && dx.data);
    Buffer<double, cuda> sums(static_cast<std::size_t>(reduce ? 2 * c : 0));
    double* s = sums.data();  // Σdy, Σdy·x̂ per channel, interleaved
    if (reduce) {
      cuda_detail::channel_sums<2>(g.n, c, plane, [=] __device__(index_t img, index_t ch, index_t p) {
        const index_t i = (img * c + ch) * plane + p;
        const T xhat = (x[i] - mean[ch]) * invstd[ch];
        return cuda_detail::Sums<2>{{double(dy[i]), double(dy[i]) * double(xhat)}};
      }, s);
      T* dg = dgamma.data;
      T* db = dbeta.data;
      const bool acc_g = dgamma.accumulate, acc_b = dbeta.accumulate;
      if (dg || db)
        cuda_detail::for_each(c, [=] __device__(index_t ch) {
          if (dg) dg[ch] = T(s[2 * ch + 1]) + (acc_g ? dg[ch] : T(0));
          if (db) db[ch] = T(s[2 * ch]) + (acc_b ? db[ch] : T(0));
        }, "tsgan::kernels::NormKernels<cuda>::backward (dgamma, dbeta)");
    }
    if (!dx.data) return;
    const double m = double(g.count());
    T* out = dx.data;
    const bool acc = dx.accumulate;
    cuda_detail::for_each(g.n * c * plane, [=] __device__(index_t i) {
      const index_t ch = i / plane % c;
      // dx = k1·dy + k2·(x − mean) + k0, as on the CPU.
      const double sd = double(invstd[ch]), k1 = sd * (gamma ? double(gamma[ch]) : 1.0);
      const T c1 = T(k1);
      const T c2 = training ? T(-k1 * sd * s[2 * ch + 1] / m) : T(0);
      const T c0 = training ? T(-k1 * s[2 * ch] / m) : T(0);
      const T v = c1 * dy[i] + c2 * (x[i] - mean[ch]) + c0;
      out[i] = acc ? out[i] + v : v;
    }, "tsgan::kernels::NormKernels<cuda>::backward (dx)");
  }
};

}  // namespace tsgan::kernels
