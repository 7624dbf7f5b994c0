// Optimizer updates on the CPU: one pass over a parameter and its state, in the order of
// operations PyTorch 1.13's single-tensor implementations use (so trajectories agree to rounding;
// Eigen's packet operations are never contracted into fused multiply-adds).
#pragma once

#include <cmath>

#include "tsgan/core/parallel.hpp"
#include "tsgan/core/tensor.hpp"
#include "tsgan/expr/vec_cpu.hpp"

namespace tsgan::kernels {

struct AdamStep {
  double lr, beta1, beta2, eps, weight_decay;
  std::int64_t step;  // 1 for the first update
  // AdamW: the parameter shrinks by lr·weight_decay before the update, instead of the decay
  // joining the gradient (so it bypasses the moment estimates).
  bool decoupled = false;
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
  // One pass over p, g, m and v in SIMD packets (a partial packet at the end of each thread's
  // range, so every element goes through the same instructions whatever the thread count). The
  // update is memory-bound: 28 bytes per parameter, so the step of a 40 M-parameter network moves
  // about 1 GB.
  template <class T>
  static void adam(const AdamStep& s, index_t n, T* p, const T* g, T* m, T* v) {
#if TSGAN_HOST_PASS  // nvcc's device pass sees no body: math::Vec is only declared there
    using V = math::Vec<T>;
    constexpr int W = V::width;
    const V b1 = T(s.beta1), b2 = T(s.beta2), a1 = T(1 - s.beta1), a2 = T(1 - s.beta2), wd = T(s.weight_decay);
    const V step_size = T(s.lr / (1 - std::pow(s.beta1, double(s.step))));
    const V bc2_sqrt = T(std::sqrt(1 - std::pow(s.beta2, double(s.step))));
    const V eps = T(s.eps);
    const V shrink = T(1 - s.lr * s.weight_decay);
    const bool decay = s.weight_decay != 0 && !s.decoupled, decoupled = s.weight_decay != 0 && s.decoupled;
    parallel_for(n, 16384, [=](index_t b, index_t e) {
      auto update = [&](index_t i, int w) {
        auto load = [&](const T* src) { return w == W ? V::load(src + i) : V::load_partial(src + i, w); };
        auto store = [&](V x, T* dst) {
          if (w == W) x.store(dst + i);
          else x.store_partial(dst + i, w);
        };
        V param = load(p);
        if (decoupled) param = param * shrink;
        V grad = load(g);
        if (decay) grad = grad + wd * param;
        const V mi = load(m) * b1 + a1 * grad;
        const V vi = load(v) * b2 + a2 * grad * grad;
        const V denom = math::sqrt(vi) / bc2_sqrt + eps;
        store(mi, m);
        store(vi, v);
        store(param - step_size * (mi / denom), p);
      };
      index_t i = b;
      for (; i + W <= e; i += W) update(i, W);
      if (i < e) update(i, static_cast<int>(e - i));
    });
#else
    (void)s, (void)n, (void)p, (void)g, (void)m, (void)v;
#endif
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
