// BatchNorm2d as a module: learnable scale and shift, running statistics as buffers, PyTorch's
// names (`weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked`) and momentum
// convention (running = (1 − momentum)·running + momentum·batch; TensorFlow's decay 0.9 is 0.1).
// `passes` > 1 makes each training-mode call count as that many passes over its batch: the running
// statistics move and num_batches_tracked counts that many times (for a caller that shares one
// pass between two uses that used to run one each, as TSGAN's step does).
#pragma once

#include "tsgan/nn/module.hpp"
#include "tsgan/ops/norm.hpp"

namespace tsgan::nn {

template <index_t C, class T = float, class D = cpu>
struct BatchNorm2d {
  Param<T, Shape<C>, D> weight;
  Param<T, Shape<C>, D> bias;
  Tensor<T, Shape<C>, D> running_mean;
  Tensor<T, Shape<C>, D> running_var;
  Tensor<std::int64_t, Shape<>, cpu> num_batches_tracked;
  double momentum = 0.1;
  double eps = 1e-5;
  bool training = true;
  int passes = 1;

  BatchNorm2d() { reset_parameters(); }
  BatchNorm2d(double momentum_, double eps_) : BatchNorm2d() {
    momentum = momentum_;
    eps = eps_;
  }

  template <class V>
  void visit(V& v) {
    v.param("weight", weight);
    v.param("bias", bias);
    v.buffer("running_mean", running_mean);
    v.buffer("running_var", running_var);
    v.buffer("num_batches_tracked", num_batches_tracked);
    v.training(training);
  }
  void reset_parameters() {
    weight.value().fill(T(1));
    bias.value().fill(T(0));
    running_mean.fill(T(0));
    running_var.fill(T(1));
    num_batches_tracked[0] = 0;
  }
  void reset_parameters(random::Generator&) { reset_parameters(); }

  template <ShapeType S>
  Var<T, S, D> operator()(const Var<T, S, D>& x) {
    Graph& g = x.graph();
    if (training) num_batches_tracked[0] += passes;
    return batch_norm(x, g.param(weight), g.param(bias), running_mean, running_var, training, momentum, eps, passes);
  }
};

}  // namespace tsgan::nn
