// Loss functions on Vars. Each is a fused elementwise expression inside one reduction (no
// temporary tensors), except total variation, which reads neighbouring pixels and has its own node.
//
// Conventions follow PyTorch: `mean` forms average over every element, `sum` forms add them up.
#pragma once

#include "tsgan/autograd/reduce.hpp"
#include "tsgan/ops/node.hpp"
#if defined(__CUDACC__)
#include "tsgan/kernels/cuda/losses.cuh"
#endif

namespace tsgan {

template <class A, class B>
auto l1_loss(const A& x, const B& y) {
  return mean(abs(x - y));
}
template <class A, class B>
auto l1_loss_sum(const A& x, const B& y) {
  return sum(abs(x - y));
}
template <class A, class B>
auto mse_loss(const A& x, const B& y) {
  return mean(square(x - y));
}

// Binary cross-entropy on logits with soft targets t in [0, 1] (a tensor, a Var or a number),
// averaged: mean(softplus(x) − x·t), which is log(1 + e^x) − x·t without overflow.
template <class A, class Target>
auto bce_with_logits(const A& logits, const Target& target) {
  return mean(softplus(logits) - logits * target);
}

// Cosine similarity along `Axis`: Σ a·b / max(‖a‖·‖b‖, eps).
template <int Axis, class A, class B>
auto cosine_similarity(const A& a, const B& b, double eps = 1e-8) {
  const auto dot = sum<Axes<Axis>>(a * b);
  const auto na = sum<Axes<Axis>>(square(a));
  const auto nb = sum<Axes<Axis>>(square(b));
  return eval(dot / maximum(sqrt(na * nb), eps));
}

// Squared Euclidean distance along `Axis`: Σ (a − b)².
template <int Axis, class A, class B>
auto squared_distance(const A& a, const B& b) {
  return sum<Axes<Axis>>(square(a - b));
}

namespace kernels {
template <class D>
struct TotalVariationKernels;

template <>
struct TotalVariationKernels<cpu> {
  // tv[n] = Σ_{c,h,w} |x[h+1, w] − x[h, w]| + |x[h, w+1] − x[h, w]| for each image n.
  template <class T>
  static void forward(const T* x, index_t n, index_t c, index_t h, index_t w, T* tv) {
    parallel_for(n, 1, [&](index_t b, index_t e) {
      for (index_t img = b; img < e; ++img) {
        double s = 0;
        const T* p = x + img * c * h * w;
        for (index_t ch = 0; ch < c; ++ch, p += h * w)
          for (index_t y = 0; y < h; ++y)
            for (index_t i = 0; i < w; ++i) {
              if (y + 1 < h) s += std::abs(double(p[(y + 1) * w + i]) - double(p[y * w + i]));
              if (i + 1 < w) s += std::abs(double(p[y * w + i + 1]) - double(p[y * w + i]));
            }
        tv[img] = static_cast<T>(s);
      }
    });
  }
  // dx (+)= g[n] · ∂tv[n]/∂x, where each difference d contributes sign(d) to its later pixel and
  // −sign(d) to its earlier one.
  template <class T>
  static void backward(const T* x, const T* g, index_t n, index_t c, index_t h, index_t w, T* dx, bool accumulate) {
    auto sign = [](T d) { return T((d > T(0)) - (d < T(0))); };
    parallel_for(n * c, 1, [&](index_t b, index_t e) {
      for (index_t plane = b; plane < e; ++plane) {
        const T* p = x + plane * h * w;
        T* q = dx + plane * h * w;
        const T gi = g[plane / c];
        for (index_t y = 0; y < h; ++y)
          for (index_t i = 0; i < w; ++i) {
            T v = 0;
            if (y + 1 < h) v -= sign(p[(y + 1) * w + i] - p[y * w + i]);
            if (y > 0) v += sign(p[y * w + i] - p[(y - 1) * w + i]);
            if (i + 1 < w) v -= sign(p[y * w + i + 1] - p[y * w + i]);
            if (i > 0) v += sign(p[y * w + i] - p[y * w + i - 1]);
            q[y * w + i] = accumulate ? q[y * w + i] + gi * v : gi * v;
          }
      }
    });
  }
};
}  // namespace kernels

namespace detail {
template <class T, index_t N, index_t C, index_t H, index_t W, class D>
class TotalVariationNode final : public Node {
 public:
  TotalVariationNode(Var<T, Shape<N, C, H, W>, D> x, Slot<T, Shape<N>, D>* out) : x_(x), out_(out) {}
  void backward() override {
    const T* g = ops::output_grad(out_);
    if (!g) return;
    ops::write_grad(x_, [&](T* dx, bool acc) {
      kernels::TotalVariationKernels<D>::backward(x_.value().data(), g, N, C, H, W, dx, acc);
    });
    out_->grad.release();
  }

 private:
  Var<T, Shape<N, C, H, W>, D> x_;
  Slot<T, Shape<N>, D>* out_;
};
}  // namespace detail

// Anisotropic total variation of each image of a batch: Σ |vertical differences| + Σ |horizontal
// differences| over channels and pixels, one value per image ([N]).
template <class T, index_t N, index_t C, index_t H, index_t W, class D>
Var<T, Shape<N>, D> total_variation(const Var<T, Shape<N, C, H, W>, D>& x) {
  const bool grad = ops::needs_grad(x);
  auto out = ops::make_output<T, Shape<N>, D>(x.graph(), grad);
  kernels::TotalVariationKernels<D>::forward(x.value().data(), N, C, H, W, out.data());
  if (grad) x.graph().template record<detail::TotalVariationNode<T, N, C, H, W, D>>(x, out.slot);
  return out.var(x.graph());
}

}  // namespace tsgan
