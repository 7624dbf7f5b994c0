// softmax and log_softmax along one axis, composed from logsumexp (a reduction node whose backward
// is the softmax itself) and one fused elementwise node: no dedicated kernel to keep in sync, and
// the GPU gets them with the expression evaluator.
#pragma once

#include "tsgan/autograd/reduce.hpp"

namespace tsgan {

template <int Axis, class T, ShapeType S, class D>
Var<T, S, D> log_softmax(const Var<T, S, D>& x) {
  const auto lse = logsumexp<Axes<Axis>, true>(x);
  return Var<T, S, D>(x - lse);
}

template <int Axis, class T, ShapeType S, class D>
Var<T, S, D> softmax(const Var<T, S, D>& x) {
  const auto lse = logsumexp<Axes<Axis>, true>(x);
  return Var<T, S, D>(exp(x - lse));
}

}  // namespace tsgan
