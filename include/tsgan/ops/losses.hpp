// Loss functions on Vars. Each is a fused elementwise expression inside one reduction (no
// temporary tensors), except total variation, which reads neighbouring pixels and has its own node.
//
// Conventions follow PyTorch: `mean` forms average over every element, `sum` forms add them up.
//
// Classification losses take [N, C] scores and integer class targets [N] (a host tensor):
//
//   auto l = cross_entropy(logits, targets);                        // mean over the batch
//   auto w = cross_entropy(logits, targets, class_weights);         // Σ w[t]·loss / Σ w[t]
//   auto s = nll_loss<Reduction::none>(log_probs, targets);         // [N], one loss per sample
//
// As in PyTorch, samples whose target is ignore_index (−100 unless given) count in neither the
// sum nor the weighted mean's divisor (a batch with every sample ignored has a NaN mean), and
// the weighted mean divides by the weights of the targets rather than by N. The targets become
// one coefficient per (sample, class) on the host, so the loss is one fused product and sum on
// either device. A target outside [0, C) is a tsgan::Error naming the sample.
#pragma once

#include <concepts>
#include <optional>

#include "tsgan/autograd/reduce.hpp"
#include "tsgan/ops/node.hpp"
#include "tsgan/ops/softmax.hpp"
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

enum class Reduction { mean, sum, none };

namespace detail {

// coefficient[n, c] = w[c] when c is sample n's target (and the target is not ignored), else 0;
// total = the sum of the coefficients (the weighted mean's divisor).
template <class T, index_t N, index_t C, std::integral I, class Dt>
std::pair<Tensor<T, Shape<N, C>>, double> target_coefficients(const Tensor<I, Shape<N>, Dt>& targets,
                                                             const Tensor<T, Shape<C>>* weights, index_t ignore_index) {
  const auto host = targets.template to<cpu>();
  Tensor<T, Shape<N, C>> coefficient(T(0));
  double total = 0;
  for (index_t n = 0; n < N; ++n) {
    const auto t = static_cast<index_t>(host[n]);
    if (t == ignore_index) continue;
    if (t < 0 || t >= C)
      fail("tsgan: classification loss: target {} of sample {} is outside the {} classes [0, {})", t, n, C, C);
    const T w = weights ? (*weights)[t] : T(1);
    coefficient(n, t) = w;
    total += double(w);
  }
  return {std::move(coefficient), total};
}

template <Reduction R, class T, index_t N, index_t C, class D, std::integral I, class Dt>
auto nll_loss_impl(const Var<T, Shape<N, C>, D>& log_probs, const Tensor<I, Shape<N>, Dt>& targets,
                   const Tensor<T, Shape<C>>* weights, index_t ignore_index) {
  auto [coefficient, total] = target_coefficients(targets, weights, ignore_index);
  const auto c = log_probs.graph().input(coefficient.template to<D>());
  if constexpr (R == Reduction::none) {
    return sum<Axes<1>>(log_probs * c * T(-1));
  } else {
    const T scale = R == Reduction::sum ? T(-1) : T(-1 / total);  // −inf when all are ignored: 0·inf = NaN
    return sum(log_probs * c * scale);
  }
}

}  // namespace detail

// Negative log-likelihood of log-probabilities [N, C] (log_softmax's output).
template <Reduction R = Reduction::mean, class T, index_t N, index_t C, class D, std::integral I, class Dt>
auto nll_loss(const Var<T, Shape<N, C>, D>& log_probs, const Tensor<I, Shape<N>, Dt>& targets,
              index_t ignore_index = -100) {
  return detail::nll_loss_impl<R>(log_probs, targets, static_cast<const Tensor<T, Shape<C>>*>(nullptr), ignore_index);
}
template <Reduction R = Reduction::mean, class T, index_t N, index_t C, class D, std::integral I, class Dt>
auto nll_loss(const Var<T, Shape<N, C>, D>& log_probs, const Tensor<I, Shape<N>, Dt>& targets,
              const Tensor<T, Shape<C>>& class_weights, index_t ignore_index = -100) {
  return detail::nll_loss_impl<R>(log_probs, targets, &class_weights, ignore_index);
}

// Cross-entropy of logits [N, C]: nll_loss of their log_softmax along the classes.
template <Reduction R = Reduction::mean, class T, index_t N, index_t C, class D, std::integral I, class Dt>
auto cross_entropy(const Var<T, Shape<N, C>, D>& logits, const Tensor<I, Shape<N>, Dt>& targets,
                   index_t ignore_index = -100) {
  return nll_loss<R>(log_softmax<1>(logits), targets, ignore_index);
}
template <Reduction R = Reduction::mean, class T, index_t N, index_t C, class D, std::integral I, class Dt>
auto cross_entropy(const Var<T, Shape<N, C>, D>& logits, const Tensor<I, Shape<N>, Dt>& targets,
                   const Tensor<T, Shape<C>>& class_weights, index_t ignore_index = -100) {
  return nll_loss<R>(log_softmax<1>(logits), targets, class_weights, ignore_index);
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
