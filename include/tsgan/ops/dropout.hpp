// Dropout: in training, each element is kept with probability 1 − p and scaled by 1 / (1 − p), so
// the expected output is the input; in eval mode (training = false) the input is returned as is.
//
//   random::Generator gen(seed);
//   auto y = dropout(x, 0.5, gen);            // a fresh mask per call: gen advances
//   auto z = dropout(x, 0.5, gen, training);  // the identity when !training
//
// The mask is element i of the generator's Philox stream (core/random.hpp) at the position the
// call reserves: the same seed and position give the same mask on every device and thread count,
// and one fused elementwise node computes y = x · mask · scale with its gradient mask · scale.
// p = 1 gives zeros; p outside [0, 1] is a tsgan::Error.
#pragma once

#include "tsgan/autograd/var.hpp"
#include "tsgan/core/error.hpp"
#include "tsgan/expr/random_expr.hpp"

namespace tsgan {

template <class T, ShapeType S, class D>
Var<T, S, D> dropout(const Var<T, S, D>& x, double p, random::Generator& gen, bool training = true) {
  if (!(p >= 0 && p <= 1)) fail("tsgan: dropout probability {} is outside [0, 1]", p);
  if (!training || p == 0) return x;
  if (p == 1) return Var<T, S, D>(x * T(0));
  return Var<T, S, D>(x * random::bernoulli<S, T, D>(gen, T(1 - p)) * T(1 / (1 - p)));
}

}  // namespace tsgan
