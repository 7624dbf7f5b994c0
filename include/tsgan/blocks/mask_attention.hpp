// MaskAttention (MAM): attention on a U-Net skip, guided by the occlusion mask (TSGAN).
//
// For a skip feature E [B, C, H, W] and the mask M_l [B, 1, H, W] (1 = occluded) at that
// resolution: X_m = E ⊙ (1 − M_l); Q and K are two 1×1 convolutions of X_m with C' channels;
// A = softmax over the last axis of K·Qᵀ ([B, N, N], N = H·W); O = A·X_m; Y = X_m + γ·O.
// Switches (method doc [D]): C' = C or C/8; γ fixed at 1 or learnable starting at 0.
#pragma once

#include "tsgan/nn/layers.hpp"
#include "tsgan/ops/layout.hpp"
#include "tsgan/ops/linear.hpp"
#include "tsgan/ops/softmax.hpp"

namespace tsgan::blocks {

struct FixedGamma {};

template <index_t C, bool ReduceChannels = false, bool LearnableGamma = false, class T = float, class D = cpu>
struct MaskAttention {
  static constexpr index_t key_channels = ReduceChannels ? std::max<index_t>(1, C / 8) : C;
  nn::Conv2d<C, key_channels, 1, ConvOptions{}, true, T, D> query;
  nn::Conv2d<C, key_channels, 1, ConvOptions{}, true, T, D> key;
  [[no_unique_address]] std::conditional_t<LearnableGamma, Param<T, Shape<1>, D>, FixedGamma> gamma;
  static constexpr std::array field_names{"query", "key", "gamma"};

  template <index_t B, index_t H, index_t W, class Mask>
  Var<T, Shape<B, C, H, W>, D> operator()(const Var<T, Shape<B, C, H, W>, D>& e, const Mask& mask) {
    constexpr index_t N = H * W;
    using Feature = Shape<B, C, H, W>;
    const Var<T, Feature, D> xm = e * (T(1) - mask);
    const auto q = reshape<Shape<B, key_channels, N>>(query(xm));
    const auto k = reshape<Shape<B, key_channels, N>>(key(xm));
    const auto attention = softmax<-1>(matmul<true, false>(k, q));           // [B, N, N]: (K·Qᵀ)[n, m]
    const auto xr = reshape<Shape<B, C, N>>(xm);
    const auto o = reshape<Feature>(matmul<false, true>(xr, attention));      // O[c, n] = Σ_m A[n, m]·X[c, m]
    if constexpr (LearnableGamma) return Var<T, Feature, D>(xm + e.graph().param(gamma) * o);
    else return Var<T, Feature, D>(xm + o);
  }
};

}  // namespace tsgan::blocks
