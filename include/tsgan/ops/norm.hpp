// Batch normalisation on Vars, over the channel axis of [N, C, H, W] (or [N, C], or any [N, C, ...]):
//
//   auto y = batch_norm(x, gamma, beta, running_mean, running_var, training);      // affine
//   auto z = batch_norm(x, running_mean, running_var, training, 0.1, 1e-3);       // no affine
//
// Training normalises with the batch mean and biased variance and updates the running statistics
// in place, running = (1 − momentum)·running + momentum·batch, with the unbiased batch variance
// for running_var. Evaluation normalises with the running statistics and leaves them alone.
// `passes` (default 1) moves the running statistics that many times, as that many training-mode
// passes over the same batch would, for a caller whose one pass stands for several (TSGAN's step).
//
// `momentum` has PyTorch's meaning (the weight of the new batch, default 0.1). TensorFlow/Keras
// call the weight of the old value momentum: TF momentum 0.9 (the TSGAN paper's) is tsgan 0.1.
// gamma and beta are Vars (learnable); the running statistics are plain tensors (no gradient).
// A per-channel tensor that does not match the input's channels is a compile error naming both.
#pragma once

#include "tsgan/kernels/cpu/norm.hpp"
#if defined(__CUDACC__)
#include "tsgan/kernels/cuda/norm.cuh"
#endif
#include "tsgan/ops/node.hpp"

namespace tsgan {

template <ShapeType X, ShapeType C>
struct CheckBatchNormShapes {
  static constexpr bool value = X::rank >= 2 && C::rank == 1 && C::dims[0] == X::dims[X::rank >= 2 ? 1 : 0];
  static_assert(value, "tsgan: batch_norm expects an input [N, C, ...] and per-channel tensors [C] "
                       "(first: input shape, second: per-channel shape)");
};

namespace detail {

template <ShapeType X, index_t C>
struct BatchNormPlan {
  static_assert(CheckBatchNormShapes<X, Shape<C>>::value);
  static constexpr kernels::NormGeometry geometry{X::dims[0], C, X::size / (X::dims[0] * C)};
};

template <class T, ShapeType X, index_t C, class D>
class BatchNormNode final : public Node {
  using PerChannel = Var<T, Shape<C>, D>;

 public:
  BatchNormNode(const kernels::NormGeometry& g, bool training, Var<T, X, D> x, const PerChannel* gamma,
                const PerChannel* beta, Tensor<T, Shape<C>, D> mean, Tensor<T, Shape<C>, D> invstd, Slot<T, X, D>* out)
      : g_(g), training_(training), x_(x), gamma_(gamma ? std::optional(*gamma) : std::nullopt),
        beta_(beta ? std::optional(*beta) : std::nullopt), mean_(std::move(mean)), invstd_(std::move(invstd)), out_(out) {}

  void backward() override {
    const T* dy = ops::output_grad(out_);
    if (!dy) return;
    const profile::Scope scope(profile::Op::norm_backward);
    kernels::GradOut<T> dx, dgamma, dbeta;
    ops::write_grad(x_, [&](T* p, bool acc) { dx = {p, acc}; });
    if (gamma_) ops::write_grad(*gamma_, [&](T* p, bool acc) { dgamma = {p, acc}; });
    if (beta_) ops::write_grad(*beta_, [&](T* p, bool acc) { dbeta = {p, acc}; });
    kernels::NormKernels<D>::backward(g_, training_, x_.value().data(), dy, mean_.data(), invstd_.data(),
                                      gamma_ ? gamma_->value().data() : nullptr, dx, dgamma, dbeta);
    out_->grad.release();
  }

 private:
  kernels::NormGeometry g_;
  bool training_;
  Var<T, X, D> x_;
  std::optional<PerChannel> gamma_, beta_;
  Tensor<T, Shape<C>, D> mean_, invstd_;  // the statistics the forward pass used
  Slot<T, X, D>* out_;
};

template <class T, ShapeType X, class D, index_t C>
Var<T, X, D> batch_norm_impl(const Var<T, X, D>& x, const Var<T, Shape<C>, D>* gamma, const Var<T, Shape<C>, D>* beta,
                             Tensor<T, Shape<C>, D>& running_mean, Tensor<T, Shape<C>, D>& running_var, bool training,
                             double momentum, double eps, int passes) {
  constexpr kernels::NormGeometry g = BatchNormPlan<X, C>::geometry;
  using K = kernels::NormKernels<D>;
  if (training && g.count() < 2)
    fail("tsgan: batch_norm in training mode needs more than one value per channel (the input has {})", g.count());
  const bool grad = ops::needs_grad(x) || (gamma && ops::needs_grad(*gamma)) || (beta && ops::needs_grad(*beta));
  auto out = ops::make_output<T, X, D>(x.graph(), grad);
  const profile::Scope scope(profile::Op::norm_forward);
  Tensor<T, Shape<C>, D> mean(uninitialized), invstd(uninitialized);
  if (training)
    K::batch_stats(g, x.value().data(), eps, mean.data(), invstd.data(), running_mean.data(), running_var.data(), momentum,
                   passes);
  else
    K::running_stats(g, running_mean.data(), running_var.data(), eps, mean.data(), invstd.data());
  K::normalize(g, x.value().data(), mean.data(), invstd.data(), gamma ? gamma->value().data() : nullptr,
               beta ? beta->value().data() : nullptr, out.data());
  if (grad)
    x.graph().template record<BatchNormNode<T, X, C, D>>(g, training, x, gamma, beta, std::move(mean), std::move(invstd),
                                                         out.slot);
  return out.var(x.graph());
}

}  // namespace detail

template <class T, ShapeType X, class D, index_t C>
Var<T, X, D> batch_norm(const Var<T, X, D>& x, const Var<T, Shape<C>, D>& gamma, const Var<T, Shape<C>, D>& beta,
                        Tensor<T, Shape<C>, D>& running_mean, Tensor<T, Shape<C>, D>& running_var, bool training,
                        double momentum = 0.1, double eps = 1e-5, int passes = 1) {
  return detail::batch_norm_impl<T, X, D, C>(x, &gamma, &beta, running_mean, running_var, training, momentum, eps, passes);
}

template <class T, ShapeType X, class D, index_t C>
Var<T, X, D> batch_norm(const Var<T, X, D>& x, Tensor<T, Shape<C>, D>& running_mean, Tensor<T, Shape<C>, D>& running_var,
                        bool training, double momentum = 0.1, double eps = 1e-5, int passes = 1) {
  return detail::batch_norm_impl<T, X, D, C>(x, nullptr, nullptr, running_mean, running_var, training, momentum, eps,
                                             passes);
}

}  // namespace tsgan
