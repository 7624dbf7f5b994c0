// Optimizer updates on the CPU: one pass over a parameter and its state, in the order of
// operations PyTorch 1.13's single-tensor implementations use (so trajectories agree to rounding).
#pragma once

#include <cmath>

#include "tsgan/core/parallel.hpp"
#include "tsgan/core/tensor.hpp"

namespace tsgan::kernels {

struct AdamStep {
  double lr, beta1, beta2, eps, weight_decay;
  std::int64_t step;  // 1 for the first update
};

struct SgdStep {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  bool first;  // the momentum buffer starts as a copy of the first gradient
};

template <class D>
struct OptimKernels;

template <>
struct OptimKernels<cpu> {
  template <class T>
  static void adam(const AdamStep& s, index_t n, T* p, const T* g, T* m, T* v) {
    const T b1 = T(s.beta1), b2 = T(s.beta2), a1 = T(1 - s.beta1), a2 = T(1 - s.beta2), wd = T(s.weight_decay);
    const T step_size = T(s.lr / (1 - std::pow(s.beta1, double(s.step))));
    const T bc2_sqrt = T(std::sqrt(1 - std::pow(s.beta2, double(s.step))));
    const T eps = T(s.eps);
    parallel_for(n, 16384, [&](index_t b, index_t e) {
#pragma omp simd
      for (index_t i = b; i < e; ++i) {
        const T grad = wd != T(0) ? g[i] + wd * p[i] : g[i];
        m[i] = m[i] * b1 + a1 * grad;
        v[i] = v[i] * b2 + a2 * grad * grad;
        const T denom = std::sqrt(v[i]) / bc2_sqrt + eps;
        p[i] = p[i] - step_size * (m[i] / denom);
      }
    });
  }

  template <class T>
  static void sgd(const SgdStep& s, index_t n, T* p, const T* g, T* buf) {
    const T lr = T(s.lr), mom = T(s.momentum), damp = T(1 - s.dampening), wd = T(s.weight_decay);
    parallel_for(n, 16384, [&](index_t b, index_t e) {
      for (index_t i = b; i < e; ++i) {
        T d = wd != T(0) ? g[i] + wd * p[i] : g[i];
        if (mom != T(0)) {
          buf[i] = s.first ? d : buf[i] * mom + damp * d;
          d = s.nesterov ? d + mom * buf[i] : buf[i];
        }
        p[i] = p[i] - lr * d;
      }
    });
  }
};

}  // namespace tsgan::kernels
