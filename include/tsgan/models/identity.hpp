// The identity network φ of TSGAN's losses: a frozen face recognizer that maps images in [0, 1]
// (RGB, [N, 3, S, S]) to an embedding φ_fc [N, E] and an intermediate feature map φ_p
// [N, C_p, H_p, W_p]. Any module with a `features(x)` member returning both satisfies the
// concept, so another recognizer (LightCNN, with its weights) can be plugged in.
//
// TinyIdentity is a small random convolutional network with that interface, for tests and for
// configurations that train without a pretrained recognizer.
#pragma once

#include "tsgan/nn/layers.hpp"
#include "tsgan/ops/pool.hpp"

namespace tsgan::models {

template <class Embedding, class FeatureMap>
struct IdentityFeatures {
  Embedding embedding;
  FeatureMap feature_map;
};

template <class Phi, class Image>
concept IdentityNetwork = requires(Phi& phi, const Image& x) {
  phi.features(x).embedding;
  phi.features(x).feature_map;
  requires is_var<std::remove_cvref_t<decltype(phi.features(x).embedding)>>::value;
  requires is_var<std::remove_cvref_t<decltype(phi.features(x).feature_map)>>::value;
};

template <index_t Size, class T = float, class D = cpu>
struct TinyIdentity {
  static constexpr index_t embedding_size = 16;
  nn::Conv2d<3, 8, 3, ConvOptions{.stride = 2, .padding = 1}, true, T, D> conv1;
  nn::Conv2d<8, 16, 3, ConvOptions{.stride = 2, .padding = 1}, true, T, D> conv2;
  nn::Linear<16, embedding_size, true, T, D> fc;
  static constexpr std::array field_names{"conv1", "conv2", "fc"};

  template <index_t N>
  auto features(const Var<T, Shape<N, 3, Size, Size>, D>& x) {
    auto h1 = conv1(x);
    using H1 = typename decltype(h1)::shape;
    const Var<T, H1, D> a1 = relu(h1);
    auto h2 = conv2(a1);
    const Var<T, typename decltype(h2)::shape, D> a2 = relu(h2);
    auto embedding = fc(global_avg_pool2d(a2));
    return IdentityFeatures<decltype(embedding), Var<T, H1, D>>{embedding, a1};
  }
};

}  // namespace tsgan::models
