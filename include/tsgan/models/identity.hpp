// The identity network φ of TSGAN's losses: a frozen face recognizer that maps images in [0, 1]
// (RGB, [N, 3, S, S]) to an embedding φ_fc [N, E] and an intermediate feature map φ_p
// [N, C_p, H_p, W_p]. Any module with a `features(x)` member returning both satisfies the
// concept, so another recognizer (LightCNN, with its weights) can be plugged in.
//
// TinyIdentity is a small pretrained stand-in for configurations that cannot afford the real
// recognizer (config::Tiny at 32 px): three 3×3 stride-2 convolutions (16, 32, 64 channels, ReLU),
// a global mean and a linear layer to a 64-value embedding; φ_p is the second convolution's output
// (32 × 8 × 8 at 32 px). Its weights are built in (tiny_identity_weights.hpp, made by
// tools/tiny-identity/train.py: a face classifier trained on LFW people outside View 2 folds
// 6-10), so a TinyIdentity separates identities as soon as it is constructed; docs/model.md has
// its measured separation.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "tsgan/core/copy.hpp"
#include "tsgan/core/error.hpp"
#include "tsgan/models/tiny_identity_weights.hpp"
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
  static constexpr index_t embedding_size = 64;
  nn::Conv2d<3, 16, 3, ConvOptions{.stride = 2, .padding = 1}, true, T, D> conv1;
  nn::Conv2d<16, 32, 3, ConvOptions{.stride = 2, .padding = 1}, true, T, D> conv2;
  nn::Conv2d<32, 64, 3, ConvOptions{.stride = 2, .padding = 1}, true, T, D> conv3;
  nn::Linear<64, embedding_size, true, T, D> fc;

  // A constructor makes the struct no aggregate, so it lists its layers itself.
  template <class V>
  void visit(V& v) {
    v.child("conv1", conv1);
    v.child("conv2", conv2);
    v.child("conv3", conv3);
    v.child("fc", fc);
  }

  TinyIdentity() {
    nn::for_each_parameter(*this, [&](const std::string& name, auto& p) {
      constexpr index_t n = std::remove_cvref_t<decltype(p)>::shape::size;
      const std::span<const float> values = built_in(name);
      if (static_cast<index_t>(values.size()) != n)
        fail("tsgan: TinyIdentity's built-in '{}' has {} values, the parameter {}", name, values.size(), n);
      std::vector<T> host(values.begin(), values.end());
      copy_from_host<D>(p.value().data(), host.data(), n);
    });
  }

  template <index_t N>
  auto features(const Var<T, Shape<N, 3, Size, Size>, D>& x) {
    const auto a1 = eval(relu(conv1(x)));
    const auto a2 = eval(relu(conv2(a1)));
    const auto a3 = eval(relu(conv3(a2)));
    auto embedding = fc(global_avg_pool2d(a3));
    return IdentityFeatures<decltype(embedding), std::remove_cvref_t<decltype(a2)>>{embedding, a2};
  }

 private:
  static std::span<const float> built_in(const std::string& name) {
    namespace w = tiny_identity_weights;
    if (name == "conv1.weight") return w::conv1_weight;
    if (name == "conv1.bias") return w::conv1_bias;
    if (name == "conv2.weight") return w::conv2_weight;
    if (name == "conv2.bias") return w::conv2_bias;
    if (name == "conv3.weight") return w::conv3_weight;
    if (name == "conv3.bias") return w::conv3_bias;
    if (name == "fc.weight") return w::fc_weight;
    if (name == "fc.bias") return w::fc_bias;
    fail("tsgan: TinyIdentity has no built-in weights for a parameter '{}'", name);
  }
};

}  // namespace tsgan::models
