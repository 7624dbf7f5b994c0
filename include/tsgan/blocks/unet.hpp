// The U-Net of pix2pix (`unet_128`), split into an encoder and a decoder that share a UNetSpec.
//
// Encoder level i: conv 4×4 stride 2 padding 1 to width(i) = base·min(2^i, 8), with a LeakyReLU
// before it (all but the first level) and batch norm after it (all but the first and the
// innermost level); convolutions followed by batch norm have no bias. The encoder returns
// UNetSkips<Spec, N>: every level's output, typed by the spec. The decoder mirrors it with
// transposed convolutions (ReLU before, batch norm after, tanh or a sigmoid at the end), concatenating the skip
// of each level — after an optional per-level transform, which is where TSGAN's mask attention
// sits. A decoder accepts only the skips of an encoder with the same spec, so an encoder level
// without its decoder partner (or with another U-Net's) does not compile.
#pragma once

#include <tuple>
#include <utility>

#include "tsgan/nn/layers.hpp"
#include "tsgan/nn/norm.hpp"
#include "tsgan/ops/layout.hpp"

namespace tsgan::blocks {

// The decoder's last activation: pix2pix's tanh (output in [−1, 1]) or a sigmoid ([0, 1]).
enum class UNetOutput { tanh, sigmoid };

template <index_t InChannels, index_t OutChannels, index_t Size, index_t Levels, index_t BaseWidth, class T = float,
          class D = cpu, UNetOutput Output = UNetOutput::tanh>
struct UNetSpec {
  static_assert(Levels >= 2, "tsgan: a U-Net needs at least two levels");
  static_assert(Size % (index_t{1} << Levels) == 0,
                "tsgan: the image size must be divisible by 2^levels (each level halves it)");
  using value_type = T;
  using device = D;
  static constexpr index_t in_channels = InChannels, out_channels = OutChannels, size = Size, levels = Levels;
  static constexpr UNetOutput output = Output;
  // Channels and side of encoder level i's output.
  static constexpr index_t width(index_t i) { return BaseWidth * std::min<index_t>(index_t{1} << i, 8); }
  static constexpr index_t side(index_t i) { return Size >> (i + 1); }
  template <index_t N, index_t I>
  using skip_t = Var<T, Shape<N, width(I), side(I), side(I)>, D>;
};

struct NoNorm {};

namespace detail {
inline constexpr ConvOptions down{.stride = 2, .padding = 1};
inline constexpr ConvTransposeOptions up{.stride = 2, .padding = 1};
}  // namespace detail

template <class Spec, index_t I>
struct EncoderLevel {
  using T = typename Spec::value_type;
  using D = typename Spec::device;
  static constexpr bool norm_after = I > 0 && I < Spec::levels - 1;
  static constexpr index_t in = I == 0 ? Spec::in_channels : Spec::width(I - 1);
  static constexpr index_t out = Spec::width(I);

  nn::Conv2d<in, out, 4, detail::down, !norm_after, T, D> conv;
  [[no_unique_address]] std::conditional_t<norm_after, nn::BatchNorm2d<out, T, D>, NoNorm> norm;
  static constexpr std::array field_names{"conv", "norm"};

  template <ShapeType S>
  auto operator()(const Var<T, S, D>& x, double slope) {
    if constexpr (I == 0) {
      return conv(x);
    } else {
      auto h = conv(Var<T, S, D>(leaky_relu(x, slope)));
      if constexpr (norm_after) return norm(h);
      else return h;
    }
  }
};

// Decoder level I consumes encoder level I's output: the innermost one directly, the others as a
// skip concatenated with the level below's output.
template <class Spec, index_t I>
struct DecoderLevel {
  using T = typename Spec::value_type;
  using D = typename Spec::device;
  static constexpr bool outermost = I == 0;
  static constexpr index_t in = I == Spec::levels - 1 ? Spec::width(I) : 2 * Spec::width(I);
  static constexpr index_t out = outermost ? Spec::out_channels : Spec::width(I - 1);

  nn::ConvTranspose2d<in, out, 4, detail::up, outermost, T, D> conv;
  [[no_unique_address]] std::conditional_t<!outermost, nn::BatchNorm2d<out, T, D>, NoNorm> norm;
  static constexpr std::array field_names{"conv", "norm"};

  template <ShapeType S>
  auto operator()(const Var<T, S, D>& x) {
    auto h = conv(Var<T, S, D>(relu(x)));
    if constexpr (outermost && Spec::output == UNetOutput::tanh) return Var<T, typename decltype(h)::shape, D>(tanh(h));
    else if constexpr (outermost) return Var<T, typename decltype(h)::shape, D>(sigmoid(h));
    else return norm(h);
  }
};

// Every encoder level's output, for one batch size; only a decoder of the same spec takes it.
template <class Spec, index_t N>
struct UNetSkips {
  template <std::size_t... I>
  static auto make_tuple(std::index_sequence<I...>) -> std::tuple<typename Spec::template skip_t<N, I>...>;
  decltype(make_tuple(std::make_index_sequence<Spec::levels>{})) levels;

  template <index_t I>
  const auto& get() const {
    return std::get<I>(levels);
  }
};

template <class Spec>
struct UNetEncoder {
  using T = typename Spec::value_type;
  using D = typename Spec::device;
  template <std::size_t... I>
  static auto make_levels(std::index_sequence<I...>) -> std::tuple<EncoderLevel<Spec, I>...>;
  decltype(make_levels(std::make_index_sequence<Spec::levels>{})) levels;
  double slope = 0.2;

  template <class V>
  void visit(V& v) {
    visit_levels(v, std::make_index_sequence<Spec::levels>{});
  }

  template <index_t N>
  UNetSkips<Spec, N> operator()(const Var<T, Shape<N, Spec::in_channels, Spec::size, Spec::size>, D>& x) {
    return UNetSkips<Spec, N>{forward_from<0>(x)};
  }

 private:
  template <class V, std::size_t... I>
  void visit_levels(V& v, std::index_sequence<I...>) {
    (v.child(std::to_string(I), std::get<I>(levels)), ...);
  }
  // The outputs of levels I, I + 1, ..., innermost.
  template <index_t I, class X>
  auto forward_from(const X& x) {
    auto e = std::get<I>(levels)(x, slope);
    if constexpr (I + 1 < Spec::levels) return std::tuple_cat(std::make_tuple(e), forward_from<I + 1>(e));
    else return std::make_tuple(e);
  }
};

template <class Expected, class Given>
struct CheckSameUNet {
  static constexpr bool value = std::is_same_v<Expected, Given>;
  static_assert(value, "tsgan: a UNetDecoder takes the skips of an encoder with the same UNetSpec "
                       "(first: the decoder's spec, second: the skips' spec)");
};

// Leaves a skip unchanged.
struct IdentitySkips {
  template <index_t Level, class V>
  V operator()(const V& skip) const {
    return skip;
  }
};

template <class Spec>
struct UNetDecoder {
  using T = typename Spec::value_type;
  using D = typename Spec::device;
  template <std::size_t... I>
  static auto make_levels(std::index_sequence<I...>) -> std::tuple<DecoderLevel<Spec, I>...>;
  decltype(make_levels(std::make_index_sequence<Spec::levels>{})) levels;

  template <class V>
  void visit(V& v) {
    visit_levels(v, std::make_index_sequence<Spec::levels>{});
  }

  // transform.template operator()<Level>(skip) may change a skip before it is concatenated.
  template <class OtherSpec, index_t N, class SkipTransform = IdentitySkips>
  auto operator()(const UNetSkips<OtherSpec, N>& skips, SkipTransform&& transform = {}) {
    static_assert(CheckSameUNet<Spec, OtherSpec>::value);
    constexpr index_t L = Spec::levels;
    auto y = std::get<L - 1>(levels)(skips.template get<L - 1>());
    return up<L - 2>(y, skips, transform);
  }

 private:
  template <class V, std::size_t... I>
  void visit_levels(V& v, std::index_sequence<I...>) {
    (v.child(std::to_string(I), std::get<I>(levels)), ...);
  }
  template <index_t I, class Y, index_t N, class SkipTransform>
  auto up(const Y& y, const UNetSkips<Spec, N>& skips, SkipTransform& transform) {
    const auto skip = transform.template operator()<I>(skips.template get<I>());
    auto next = std::get<I>(levels)(concat<1>(skip, y));
    if constexpr (I == 0) return next;
    else return up<I - 1>(next, skips, transform);
  }
};

}  // namespace tsgan::blocks
