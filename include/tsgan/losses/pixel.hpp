// Pixel-level losses of TSGAN, with TP-GAN's normalisations (the method document's [T] items):
//   pixel L1   (1 / (B·C)) Σ_{b,c,h,w} |X − Y|           (summed over pixels, averaged over B·C)
//   symmetry   (1 / (B·C)) Σ_{b,c,h} Σ_{w < W/2} |stopgrad(P[h, w]) − P[h, W−1−w]|,
//              P = avgpool2×2(Î_f): the right half is pulled towards the mirror of the left
//   TV         mean over the batch of each image's anisotropic total variation
#pragma once

#include "tsgan/ops/layout.hpp"
#include "tsgan/ops/losses.hpp"
#include "tsgan/ops/pool.hpp"

namespace tsgan::losses {

template <class X, class Y>
auto pixel_l1(const X& x, const Y& y) {
  using S = typename expr::node_t<const X&>::shape;
  using T = typename expr::node_t<const X&>::value_type;
  return eval(sum(abs(x - y)) * (T(1) / T(S::dims[0] * S::dims[1])));
}

template <class T, index_t B, index_t C, index_t H, index_t W, class D>
Var<T, Shape<>, D> symmetry(const Var<T, Shape<B, C, H, W>, D>& x) {
  static_assert(H % 2 == 0 && W % 4 == 0, "tsgan: the symmetry loss pools 2×2 and compares the halves of each row");
  const auto p = avg_pool2d<PoolOptions{.kernel = 2}>(x);
  // Column w < PW / 2 of the mirror image is column PW − 1 − w of P: slicing both to the left half
  // pairs each column with its partner (on any device, without a mask tensor to upload).
  constexpr index_t half = W / 4;
  const auto left = slice<3, 0, half>(detach(p));
  const auto mirrored_right = slice<3, 0, half>(flip_horizontal(p));
  return eval(sum(abs(left - mirrored_right)) * (T(1) / T(B * C)));
}

template <class T, index_t B, index_t C, index_t H, index_t W, class D>
Var<T, Shape<>, D> total_variation_loss(const Var<T, Shape<B, C, H, W>, D>& x) {
  return mean(total_variation(x));
}

}  // namespace tsgan::losses
