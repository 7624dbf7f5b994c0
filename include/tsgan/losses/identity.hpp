// The identity loss F of TSGAN: how far a generated face is from the real one in the identity
// network φ's eyes, on its embedding and on an intermediate feature map:
//   F(X, Y) = mean |φ_fc(X) − φ_fc(Y)| + (1 / (B·C_p)) Σ |φ_p(X) − φ_p(Y)|
// The real image's features are computed without gradient (φ is frozen and Y is data); the
// generated image's features carry the gradient back to the generator through φ.
#pragma once

#include "tsgan/autograd/reduce.hpp"

namespace tsgan::losses {

template <class Fake, class Real>
auto identity_loss(const Fake& fake, const Real& real) {
  using Map = typename std::remove_cvref_t<decltype(fake.feature_map)>;
  using T = typename Map::value_type;
  constexpr T scale = T(1) / T(Map::shape::dims[0] * Map::shape::dims[1]);
  return eval(mean(abs(fake.embedding - real.embedding)) + sum(abs(fake.feature_map - real.feature_map)) * scale);
}

}  // namespace tsgan::losses
