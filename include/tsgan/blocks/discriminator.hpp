// Discriminators: TSGAN's residual discriminator (after TP-GAN's) and pix2pix's PatchGAN. Both
// map images [B, C, S, S] to a map of logits [B, 1, h, w].
//
// Residual: 3×3 stride-2 'same' convolutions with bias, w → 2w → 4w → 8w (batch norm and
// LeakyReLU after all but the first, which has LeakyReLU only), a residual block, one more stride-2
// convolution at 8w, another residual block, and a 1×1 convolution to one channel: a 4×4 map for
// 128-pixel inputs. Residual block: y = LReLU(x + BN(conv(LReLU(BN(conv(x)))))).
// PatchGAN (n_layers = 3): 4×4 convolutions, strides 2, 2, 2, 1, 1; batch norm on the middle
// three; LeakyReLU after all but the last.
#pragma once

#include "tsgan/nn/layers.hpp"
#include "tsgan/nn/norm.hpp"

namespace tsgan::blocks {

template <index_t C, class T, class D>
struct ResidualBlock {
  nn::Conv2d<C, C, 3, ConvOptions{.same = true}, true, T, D> conv1;
  nn::BatchNorm2d<C, T, D> norm1;
  nn::Conv2d<C, C, 3, ConvOptions{.same = true}, true, T, D> conv2;
  nn::BatchNorm2d<C, T, D> norm2;
  static constexpr std::array field_names{"conv1", "norm1", "conv2", "norm2"};

  template <ShapeType S>
  Var<T, S, D> operator()(const Var<T, S, D>& x, double slope) {
    const Var<T, S, D> h = leaky_relu(norm1(conv1(x)), slope);
    return Var<T, S, D>(leaky_relu(x + norm2(conv2(h)), slope));
  }
};

template <index_t InChannels, index_t Width, class T = float, class D = cpu>
struct ResidualDiscriminator {
  static constexpr ConvOptions down{.stride = 2, .same = true};
  nn::Conv2d<InChannels, Width, 3, down, true, T, D> conv0;
  nn::Conv2d<Width, 2 * Width, 3, down, true, T, D> conv1;
  nn::BatchNorm2d<2 * Width, T, D> norm1;
  nn::Conv2d<2 * Width, 4 * Width, 3, down, true, T, D> conv2;
  nn::BatchNorm2d<4 * Width, T, D> norm2;
  nn::Conv2d<4 * Width, 8 * Width, 3, down, true, T, D> conv3;
  nn::BatchNorm2d<8 * Width, T, D> norm3;
  ResidualBlock<8 * Width, T, D> res1;
  nn::Conv2d<8 * Width, 8 * Width, 3, down, true, T, D> conv4;
  nn::BatchNorm2d<8 * Width, T, D> norm4;
  ResidualBlock<8 * Width, T, D> res2;
  nn::Conv2d<8 * Width, 1, 1, ConvOptions{}, true, T, D> logits;
  double slope = 0.2;
  static constexpr std::array field_names{"conv0", "conv1", "norm1", "conv2", "norm2", "conv3", "norm3",
                                          "res1",  "conv4", "norm4", "res2",  "logits", "slope"};

  template <ShapeType S>
  auto operator()(const Var<T, S, D>& x) {
    auto lrelu = [&](const auto& v) { return eval(leaky_relu(v, slope)); };
    auto h0 = lrelu(conv0(x));
    auto h1 = lrelu(norm1(conv1(h0)));
    auto h2 = lrelu(norm2(conv2(h1)));
    auto h3 = res1(lrelu(norm3(conv3(h2))), slope);
    auto h4 = res2(lrelu(norm4(conv4(h3))), slope);
    return logits(h4);
  }
};

template <index_t InChannels, index_t Width, class T = float, class D = cpu>
struct PatchDiscriminator {
  nn::Conv2d<InChannels, Width, 4, ConvOptions{.stride = 2, .padding = 1}, true, T, D> conv0;
  nn::Conv2d<Width, 2 * Width, 4, ConvOptions{.stride = 2, .padding = 1}, false, T, D> conv1;
  nn::BatchNorm2d<2 * Width, T, D> norm1;
  nn::Conv2d<2 * Width, 4 * Width, 4, ConvOptions{.stride = 2, .padding = 1}, false, T, D> conv2;
  nn::BatchNorm2d<4 * Width, T, D> norm2;
  nn::Conv2d<4 * Width, 8 * Width, 4, ConvOptions{.stride = 1, .padding = 1}, false, T, D> conv3;
  nn::BatchNorm2d<8 * Width, T, D> norm3;
  nn::Conv2d<8 * Width, 1, 4, ConvOptions{.stride = 1, .padding = 1}, true, T, D> logits;
  double slope = 0.2;
  static constexpr std::array field_names{"conv0", "conv1", "norm1", "conv2", "norm2",
                                          "conv3", "norm3", "logits", "slope"};

  template <ShapeType S>
  auto operator()(const Var<T, S, D>& x) {
    auto lrelu = [&](const auto& v) { return eval(leaky_relu(v, slope)); };
    auto h0 = lrelu(conv0(x));
    auto h1 = lrelu(norm1(conv1(h0)));
    auto h2 = lrelu(norm2(conv2(h1)));
    auto h3 = lrelu(norm3(conv3(h2)));
    return logits(h3);
  }
};

}  // namespace tsgan::blocks
