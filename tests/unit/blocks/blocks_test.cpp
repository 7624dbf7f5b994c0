// The TSGAN blocks: shapes from their types, gradients against finite differences, and the
// properties that make them what they are (a decoder only takes its own encoder's skips; mask
// attention ignores occluded features; the discriminators' logit maps). Templated over the
// device: on the GPU the same checks, and values and gradients (inputs and every parameter) that
// match the CPU's for the same seed.
#include <doctest/doctest.h>

#include "support.hpp"
#include "tsgan/autograd/gradcheck.hpp"
#include "tsgan/blocks/discriminator.hpp"
#include "tsgan/blocks/mask_attention.hpp"
#include "tsgan/blocks/unet.hpp"

using namespace tsgan;

namespace {
template <class M>
void init(M& m, std::uint64_t seed) {
  nn::name_parameters(m);
  random::Generator g(seed);
  nn::reset_parameters(m, g);
}

// A module of type M<Dv> initialised from `seed`: the same weights on every device.
template <template <class> class M, std::uint64_t Seed>
struct Made {
  template <class Dv>
  M<Dv> operator()(std::type_identity<Dv>) const {
    M<Dv> m;
    init(m, Seed);
    return m;
  }
};

// The small double-precision U-Net of the gradient checks, encoder and decoder in one module.
template <class Dv>
struct SmallUNet {
  using Spec = blocks::UNetSpec<2, 1, 8, 2, 2, double, Dv>;
  blocks::UNetEncoder<Spec> enc;
  blocks::UNetDecoder<Spec> dec;
  static constexpr std::array field_names{"enc", "dec"};
  template <class X>
  auto operator()(const X& x) {
    return dec(enc(x));
  }
};
template <class Dv>
using SmallAttention = blocks::MaskAttention<4, false, false, double, Dv>;
template <class Dv>
using LearnableAttention = blocks::MaskAttention<16, true, true, double, Dv>;
template <class Dv>
using SmallResidualD = blocks::ResidualDiscriminator<3, 2, double, Dv>;
template <class Dv>
using SmallPatchD = blocks::PatchDiscriminator<3, 2, double, Dv>;
}  // namespace

TEST_SUITE("blocks") {
  TEST_CASE_TEMPLATE("U-Net: encoder skips and decoder output have the spec's shapes; widths cap at 8x", D,
                     TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    using Spec = blocks::UNetSpec<4, 3, 32, 5, 8, float, D>;
    static_assert(Spec::width(0) == 8 && Spec::width(3) == 64 && Spec::width(4) == 64);
    static_assert(Spec::side(0) == 16 && Spec::side(4) == 1);
    blocks::UNetEncoder<Spec> enc;
    blocks::UNetDecoder<Spec> dec;
    init(enc, 1);
    init(dec, 2);
    const auto x = test::random_tensor<float, Shape<2, 4, 32, 32>, D>(3);
    Graph g;
    auto skips = enc(g.input(x));
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(skips.template get<0>())>, Var<float, Shape<2, 8, 16, 16>, D>>);
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(skips.template get<4>())>, Var<float, Shape<2, 64, 1, 1>, D>>);
    auto y = dec(skips);
    static_assert(std::is_same_v<decltype(y), Var<float, Shape<2, 3, 32, 32>, D>>);
    const auto& yh = test::to_host(y.value());
    for (index_t i = 0; i < yh.size; ++i) REQUIRE(std::abs(yh[i]) <= 1.f);  // tanh output
    // Names: PyTorch-style paths through the levels; no bias where batch norm follows.
    std::vector<std::string> names;
    nn::for_each_parameter(enc, [&](const std::string& n, auto&) { names.push_back(n); });
    CHECK(names.front() == "0.conv.weight");
    CHECK(names[1] == "0.conv.bias");
    CHECK(names[2] == "1.conv.weight");
    CHECK(names[3] == "1.norm.weight");
  }

  TEST_CASE_TEMPLATE("U-Net gradients match finite differences (double, batch norm in training mode)", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    SmallUNet<D> net;
    init(net, 4);
    const auto x = test::random_tensor<double, Shape<2, 2, 8, 8>>(6);
    const auto r = gradcheck([&](const auto& v) { return net(v); }, x.template to<D>());
    CHECK_MESSAGE(r.ok, r.message);
    test::check_module_parity<D>(Made<SmallUNet, 4>{}, [](auto& m, const auto& v) { return m(v); }, x);
  }

  TEST_CASE_TEMPLATE("mask attention: output shape, occluded features are ignored, gradients", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    SmallAttention<D> mam;
    init(mam, 7);
    const auto e = test::random_tensor<double, Shape<2, 4, 3, 3>>(8);
    Tensor<double, Shape<2, 1, 3, 3>> mask;
    mask[4] = 1;   // item 0, centre pixel occluded
    mask[9] = 1;   // item 1, first pixel
    const auto mask_d = mask.template to<D>();
    Graph g;
    auto y = mam(g.input(e.template to<D>()), g.input(mask_d));
    static_assert(std::is_same_v<decltype(y), Var<double, Shape<2, 4, 3, 3>, D>>);
    // Changing the features under the mask changes nothing: X_m zeroes them before Q, K and O.
    auto e2 = e.clone();
    for (index_t c = 0; c < 4; ++c) e2(0, c, 1, 1) += 5.0;
    auto y2 = mam(g.input(e2.template to<D>()), g.input(mask_d));
    const auto& yh = test::to_host(y.value());
    const auto& y2h = test::to_host(y2.value());
    for (index_t i = 0; i < yh.size; ++i) REQUIRE(yh[i] == doctest::Approx(y2h[i]).epsilon(1e-14));
    const auto r = gradcheck([&](const auto& v) { return mam(v, mask_d); }, e.template to<D>());
    CHECK_MESSAGE(r.ok, r.message);
    test::check_module_parity<D>(Made<SmallAttention, 7>{}, [](auto& m, const auto& v, const auto& k) { return m(v, k); },
                                 e, mask);
    // C' = C/8 and a learnable gamma that starts at 0 (the block starts as X_m).
    LearnableAttention<D> small;
    init(small, 9);
    static_assert(decltype(small)::key_channels == 2);
    const auto e3 = test::random_tensor<double, Shape<1, 16, 2, 2>>(10);
    const Tensor<double, Shape<1, 1, 2, 2>, D> clear;
    auto y3 = small(g.input(e3.template to<D>()), g.input(clear));
    const auto& y3h = test::to_host(y3.value());
    for (index_t i = 0; i < y3h.size; ++i) CHECK(y3h[i] == e3[i]);
    const auto e3d = e3.template to<D>();
    const auto rg = gradcheck_params([&](Graph& graph) { return small(graph.input(e3d), graph.input(clear)); },
                                     small.gamma, small.query.weight);
    CHECK_MESSAGE(rg.ok, rg.message);
    // gamma 0 passes no gradient to query and key: set it to 0.5 so that the parity covers them.
    auto made = [](auto dev) {
      auto m = Made<LearnableAttention, 9>{}(dev);
      m.gamma.value().fill(0.5);
      return m;
    };
    test::check_module_parity<D>(made, [](auto& m, const auto& v, const auto& k) { return m(v, k); }, e3,
                                 Tensor<double, Shape<1, 1, 2, 2>>());
  }

  TEST_CASE_TEMPLATE("discriminators: logit maps of the documented sizes, gradients", D, TSGAN_TEST_DEVICES) {
    TSGAN_SKIP_UNAVAILABLE(D);
    blocks::ResidualDiscriminator<3, 4, float, D> res;
    blocks::PatchDiscriminator<3, 4, float, D> patch;
    init(res, 11);
    init(patch, 12);
    const auto x = test::random_tensor<float, Shape<2, 3, 128, 128>, D>(13);
    Graph g;
    static_assert(std::is_same_v<decltype(res(g.input(x))), Var<float, Shape<2, 1, 4, 4>, D>>);  // 4x4 at 128
    static_assert(std::is_same_v<decltype(patch(g.input(x))), Var<float, Shape<2, 1, 14, 14>, D>>);
    SmallResidualD<D> small;
    init(small, 14);
    const auto xs = test::random_tensor<double, Shape<2, 3, 32, 32>>(15);
    GradcheckOptions o;
    o.max_elements = 64;
    const auto r = gradcheck(o, [&](const auto& v) { return small(v); }, xs.template to<D>());
    CHECK_MESSAGE(r.ok, r.message);
    test::check_module_parity<D>(Made<SmallResidualD, 14>{}, [](auto& m, const auto& v) { return m(v); }, xs);
    test::check_module_parity<D>(Made<SmallPatchD, 16>{}, [](auto& m, const auto& v) { return m(v); }, xs);
  }
}
