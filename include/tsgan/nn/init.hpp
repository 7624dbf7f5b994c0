// Parameter initialisers, as in torch.nn.init: each draws from a Generator so that the same seed
// gives the same weights on every device. Fan-in and fan-out follow PyTorch: for a weight of shape
// [out, in, k...], fan_in = in·Πk and fan_out = out·Πk.
#pragma once

#include <cmath>

#include "tsgan/expr/random_expr.hpp"
#include "tsgan/nn/module.hpp"

namespace tsgan::nn::init {

template <class S>
constexpr index_t fan_in() {
  static_assert(S::rank >= 2, "tsgan: fan-in needs a weight of rank 2 or more");
  index_t receptive = 1;
  for (std::size_t i = 2; i < S::rank; ++i) receptive *= S::dims[i];
  return S::dims[1] * receptive;
}
template <class S>
constexpr index_t fan_out() {
  index_t receptive = 1;
  for (std::size_t i = 2; i < S::rank; ++i) receptive *= S::dims[i];
  return S::dims[0] * receptive;
}

template <class P>
void constant_(P& p, double value) {
  p.value().fill(static_cast<typename P::value_type>(value));
}

template <class P>
void normal_(P& p, random::Generator& gen, double mean, double stddev) {
  using T = typename P::value_type;
  p.value() = random::normal<typename P::shape, T, typename P::device>(gen, static_cast<T>(mean), static_cast<T>(stddev));
}

template <class P>
void uniform_(P& p, random::Generator& gen, double lo, double hi) {
  using T = typename P::value_type;
  p.value() = random::uniform<typename P::shape, T, typename P::device>(gen, static_cast<T>(lo), static_cast<T>(hi));
}

// Glorot: U(±gain·√(6 / (fan_in + fan_out))).
template <class P>
void xavier_uniform_(P& p, random::Generator& gen, double gain = 1.0) {
  using S = typename P::shape;
  const double bound = gain * std::sqrt(6.0 / double(fan_in<S>() + fan_out<S>()));
  uniform_(p, gen, -bound, bound);
}
template <class P>
void xavier_normal_(P& p, random::Generator& gen, double gain = 1.0) {
  using S = typename P::shape;
  normal_(p, gen, 0.0, gain * std::sqrt(2.0 / double(fan_in<S>() + fan_out<S>())));
}

// He: N(0, gain/√fan) with gain = √(2 / (1 + a²)) for a leaky ReLU of slope a (fan-in mode).
template <class P>
void kaiming_normal_(P& p, random::Generator& gen, double a = 0.0) {
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  normal_(p, gen, 0.0, gain / std::sqrt(double(fan_in<typename P::shape>())));
}
template <class P>
void kaiming_uniform_(P& p, random::Generator& gen, double a = 0.0) {
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  const double bound = gain * std::sqrt(3.0 / double(fan_in<typename P::shape>()));
  uniform_(p, gen, -bound, bound);
}

// Calls f(name, param) for every parameter, e.g. to initialise by name.
template <class M, class F>
void apply(M& m, F&& f) {
  for_each_parameter(m, std::forward<F>(f));
}

}  // namespace tsgan::nn::init
