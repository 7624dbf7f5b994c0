// The pix2pix benchmark workload in tsgan (design note bench-workload.md): a U-Net generator and a
// PatchGAN discriminator, and one full GAN training step, written to match
// bench/reference/pix2pix.py line by line. bench/pix2pix.cpp times it; its tests train it.
//
// The networks are built from the library's modules (nn::Conv2d, nn::ConvTranspose2d,
// nn::BatchNorm2d) with their channels and sizes as template arguments. Each convolution also
// describes itself (ConvLayer), and the FLOP count is computed from those descriptions with
// bench/flops.py's convention; a CTest holds the two counts equal.
#pragma once

#include <array>
#include <bit>
#include <string>
#include <tuple>
#include <vector>

#include "tsgan/nn/layers.hpp"
#include "tsgan/nn/init.hpp"
#include "tsgan/nn/norm.hpp"
#include "tsgan/ops/layout.hpp"
#include "tsgan/ops/losses.hpp"
#include "tsgan/optim/adam.hpp"
#include "tsgan/tsgan.hpp"

namespace pix2pix {

using tsgan::index_t;
using tsgan::Shape;
using tsgan::Var;

// H = W = Size, batch N, base width: flops.py's configs small and paper.
template <index_t Size, index_t Batch, index_t Base>
struct Config {
  static_assert(std::has_single_bit(static_cast<unsigned long>(Size)), "the U-Net needs a power-of-two size");
  static constexpr index_t size = Size, batch = Batch, base = Base;
  static constexpr index_t levels = std::bit_width(static_cast<unsigned long>(Size)) - 1;  // log2(Size)
  static constexpr index_t in_channels = 4, out_channels = 3;
  // Channels and side of encoder level I (1-based) output: base, 2 base, 4 base, 8 base, 8 base, ...
  static constexpr index_t width(index_t i) { return Base * std::min<index_t>(index_t{1} << (i - 1), 8); }
  static constexpr index_t side(index_t i) { return Size >> i; }
};
using Small = Config<64, 4, 32>;
using Paper = Config<128, 6, 64>;

// One convolution as flops.py's Conv describes it.
struct ConvLayer {
  std::string net, name;
  bool transposed;
  index_t cin, cout, k, stride, pad, hin, hout;
  bool bias, bn;
  std::string act;
  // One forward pass over a batch (flops.py's forward_flops): a transposed conv counts its input
  // plane, a conv its output plane.
  double pass_flops(index_t batch) const {
    const double plane = transposed ? double(hin) * double(hin) : double(hout) * double(hout);
    return 2.0 * double(batch) * double(cin) * double(cout) * double(k * k) * plane;
  }
  // (forward, weight-gradient, input-gradient) passes per training step (flops.py's passes()).
  std::array<int, 3> passes() const {
    const bool first = name == "enc1" || name == "d1";
    if (net == "G") return {1, 1, first ? 0 : 1};
    return {3, 2, first ? 1 : 3};
  }
  double step_flops(index_t batch) const {
    const auto p = passes();
    return pass_flops(batch) * double(p[0] + p[1] + p[2]);
  }
};

inline constexpr tsgan::ConvOptions down{.stride = 2, .padding = 1};
inline constexpr tsgan::ConvOptions flat{.stride = 1, .padding = 1};
inline constexpr tsgan::ConvTransposeOptions up{.stride = 2, .padding = 1};
inline constexpr double slope = 0.2;

struct NoNorm {};

// Encoder level I: conv(4, 2, 1) -> BN (not on the first) -> LeakyReLU(0.2). A conv followed by
// batch norm has no bias (the reference's choice, as pix2pix's).
template <class C, index_t I>
struct EncoderLevel {
  static constexpr bool bn = I > 1;
  static constexpr index_t in = I == 1 ? C::in_channels : C::width(I - 1), out = C::width(I);
  static constexpr index_t hin = C::size >> (I - 1), hout = C::side(I);
  tsgan::nn::Conv2d<in, out, 4, down, !bn> conv;
  [[no_unique_address]] std::conditional_t<bn, tsgan::nn::BatchNorm2d<out>, NoNorm> norm;
  static constexpr std::array field_names{"conv", "norm"};

  static ConvLayer layer() {
    return {"G", "enc" + std::to_string(I), false, in, out, 4, 2, 1, hin, hout, !bn, bn, "lrelu"};
  }
  template <class S>
  auto operator()(const Var<float, S>& x) {
    if constexpr (bn) return Var<float, Shape<C::batch, out, hout, hout>>(leaky_relu(norm(conv(x)), slope));
    else return Var<float, Shape<C::batch, out, hout, hout>>(leaky_relu(conv(x), slope));
  }
};

// Decoder level I (L, ..., 1): convT(4, 2, 1) -> BN -> ReLU; the outermost one convT + bias -> tanh.
// Level L reads the 1x1 bottleneck, the others the concatenation of the level below's output and
// encoder level I's.
template <class C, index_t I>
struct DecoderLevel {
  static constexpr bool outermost = I == 1;
  static constexpr index_t in = I == C::levels ? C::width(I) : 2 * C::width(I);
  static constexpr index_t out = outermost ? C::out_channels : C::width(I - 1);
  static constexpr index_t hin = C::side(I), hout = C::size >> (I - 1);
  tsgan::nn::ConvTranspose2d<in, out, 4, up, outermost> conv;
  [[no_unique_address]] std::conditional_t<!outermost, tsgan::nn::BatchNorm2d<out>, NoNorm> norm;
  static constexpr std::array field_names{"conv", "norm"};

  static ConvLayer layer() {
    return {"G", "dec" + std::to_string(I), true, in, out, 4, 2, 1, hin, hout, outermost, !outermost,
            outermost ? "tanh" : "relu"};
  }
  template <class S>
  auto operator()(const Var<float, S>& x) {
    using Y = Shape<C::batch, out, hout, hout>;
    if constexpr (outermost) return Var<float, Y>(tanh(conv(x)));
    else return Var<float, Y>(relu(norm(conv(x))));
  }
};

template <class C>
struct UNetGenerator {
  template <std::size_t... I>
  static auto make_enc(std::index_sequence<I...>) -> std::tuple<EncoderLevel<C, I + 1>...>;
  template <std::size_t... I>
  static auto make_dec(std::index_sequence<I...>) -> std::tuple<DecoderLevel<C, I + 1>...>;
  decltype(make_enc(std::make_index_sequence<C::levels>{})) enc;  // enc[i] is level i + 1
  decltype(make_dec(std::make_index_sequence<C::levels>{})) dec;
  static constexpr std::array field_names{"enc", "dec"};

  auto operator()(const Var<float, Shape<C::batch, C::in_channels, C::size, C::size>>& x) { return level<1>(x); }

  // Encoder levels first, then the decoder from the bottleneck up (flops.py's order).
  static std::vector<ConvLayer> layers() {
    std::vector<ConvLayer> out;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (out.push_back(EncoderLevel<C, I + 1>::layer()), ...);
      (out.push_back(DecoderLevel<C, C::levels - I>::layer()), ...);
    }(std::make_index_sequence<C::levels>{});
    return out;
  }

 private:
  // Level I's encoder, everything below it, and level I's decoder.
  template <index_t I, class X>
  auto level(const X& x) {
    auto e = std::get<I - 1>(enc)(x);
    if constexpr (I == C::levels) return std::get<I - 1>(dec)(e);
    else return std::get<I - 1>(dec)(tsgan::concat<1>(level<I + 1>(e), e));
  }
};

// PatchGAN on cat(condition, image): d1..d3 stride 2, d4 and d5 stride 1; logits out.
template <class C, index_t I>
struct DiscLevel {
  static constexpr index_t b = C::base;
  static constexpr index_t in = I == 1 ? C::in_channels + C::out_channels : b << (I - 2);
  static constexpr index_t out = I == 5 ? 1 : b << (I - 1);
  static constexpr index_t stride = I <= 3 ? 2 : 1;
  static constexpr bool bn = I >= 2 && I <= 4, bias = !bn, act = I < 5;
  static constexpr tsgan::ConvOptions opt = stride == 2 ? down : flat;
  tsgan::nn::Conv2d<in, out, 4, opt, bias> conv;
  [[no_unique_address]] std::conditional_t<bn, tsgan::nn::BatchNorm2d<out>, NoNorm> norm;
  static constexpr std::array field_names{"conv", "norm"};

  template <class S>
  auto operator()(const Var<float, S>& x) {
    auto h = conv(x);
    using Y = typename decltype(h)::shape;
    if constexpr (bn) return Var<float, Y>(leaky_relu(norm(h), slope));
    else if constexpr (act) return Var<float, Y>(leaky_relu(h, slope));
    else return h;
  }
  static ConvLayer layer(index_t hin) {
    const index_t hout = (hin + 2 - 4) / stride + 1;
    return {"D", "d" + std::to_string(I), false, in, out, 4, stride, 1, hin, hout, bias, bn, act ? "lrelu" : "none"};
  }
};

template <class C>
struct PatchDiscriminator {
  DiscLevel<C, 1> d1;
  DiscLevel<C, 2> d2;
  DiscLevel<C, 3> d3;
  DiscLevel<C, 4> d4;
  DiscLevel<C, 5> d5;
  static constexpr std::array field_names{"d1", "d2", "d3", "d4", "d5"};

  template <class S>
  auto operator()(const Var<float, S>& x) {
    return d5(d4(d3(d2(d1(x)))));
  }
  static std::vector<ConvLayer> layers() {
    std::vector<ConvLayer> out;
    index_t h = C::size;
    auto add = [&](ConvLayer l) {
      h = l.hout;
      out.push_back(std::move(l));
    };
    add(DiscLevel<C, 1>::layer(h));
    add(DiscLevel<C, 2>::layer(h));
    add(DiscLevel<C, 3>::layer(h));
    add(DiscLevel<C, 4>::layer(h));
    add(DiscLevel<C, 5>::layer(h));
    return out;
  }
};

template <class C>
std::vector<ConvLayer> layers() {
  auto g = UNetGenerator<C>::layers();
  for (auto& l : PatchDiscriminator<C>::layers()) g.push_back(l);
  return g;
}

template <class C>
double step_flops() {
  double f = 0;
  for (const auto& l : layers<C>()) f += l.step_flops(C::batch);
  return f;
}

// pix2pix's 'normal' init: conv weights N(0, 0.02), BN weights N(1, 0.02), biases 0.
template <class M>
void init_weights(M& m, tsgan::random::Generator& gen) {
  tsgan::nn::for_each_parameter(m, [&](const std::string& name, auto& p) {
    using P = std::remove_cvref_t<decltype(p)>;
    const bool weight = name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0;
    if (!weight) tsgan::nn::init::constant_(p, 0.0);
    else if constexpr (P::shape::rank == 4) tsgan::nn::init::normal_(p, gen, 0.0, 0.02);
    else tsgan::nn::init::normal_(p, gen, 1.0, 0.02);
  });
}

struct Losses {
  float d, g, l1;
};

// The networks, their optimizers, one fixed batch and the training step.
template <class C>
struct Trainer {
  using Input = tsgan::Tensor<float, Shape<C::batch, C::in_channels, C::size, C::size>>;
  using Image = tsgan::Tensor<float, Shape<C::batch, C::out_channels, C::size, C::size>>;

  UNetGenerator<C> G;
  PatchDiscriminator<C> D;
  tsgan::optim::Adam<float> opt_g, opt_d;
  Input x{tsgan::uninitialized};
  Image real{tsgan::uninitialized};
  tsgan::Graph graph_g, graph_d;

  static constexpr tsgan::optim::AdamOptions adam{.lr = 1e-4, .beta1 = 0.5, .beta2 = 0.999};

  explicit Trainer(std::uint64_t seed) : opt_g(make_opt(G, seed, 0)), opt_d(make_opt(D, seed, 1)) {
    // One fixed batch: RGB in [-1, 1] plus a 0/1 occlusion mask (30 % ones), and the target image.
    tsgan::random::Generator gen(seed + 2);
    x.template channels<3>(0) = tsgan::random::uniform<Shape<C::batch, 3, C::size, C::size>>(gen, -1.f, 1.f);
    x.template channels<1>(3) = tsgan::random::bernoulli<Shape<C::batch, 1, C::size, C::size>>(gen, 0.3f);
    real = tsgan::random::uniform<typename Image::shape>(gen, -1.f, 1.f);
  }

  // fake = G(x); D step on the detached fake and the real image; G step with D frozen.
  Losses step() {
    using namespace tsgan;
    // The generator's forward pass stays on graph_g until the G step's backward. The D step runs on
    // its own graph and reads the fake as a constant (detached): no gradient reaches G from it.
    auto xg = graph_g.input(x);
    auto fake = G(xg);

    nn::unfreeze(D);
    nn::zero_grad(D);
    auto xd = graph_d.input(x);
    auto logit_fake = D(concat<1>(xd, graph_d.input(fake.value())));
    auto logit_real = D(concat<1>(xd, graph_d.input(real)));
    Var<float, Shape<>> loss_d = 0.5f * (bce_with_logits(logit_fake, 0.f) + bce_with_logits(logit_real, 1.f));
    loss_d.backward();
    opt_d.step();
    const float ld = loss_d.value()[0];
    graph_d.reset();

    nn::freeze(D);
    nn::zero_grad(G);
    auto logit = D(concat<1>(xg, fake));
    auto l1 = l1_loss(fake, graph_g.input(real));
    Var<float, Shape<>> loss_g = bce_with_logits(logit, 1.f) + 100.f * l1;
    loss_g.backward();
    opt_g.step();
    const Losses out{ld, loss_g.value()[0], l1.value()[0]};
    graph_g.reset();
    return out;
  }

 private:
  template <class M>
  static tsgan::optim::Adam<float> make_opt(M& m, std::uint64_t seed, std::uint64_t stream) {
    tsgan::random::Generator gen(seed * 3 + stream);
    init_weights(m, gen);
    tsgan::nn::name_parameters(m);
    tsgan::nn::train(m);
    return tsgan::optim::Adam<float>(m, adam);
  }
};

}  // namespace pix2pix
