// The TSGAN blocks: shapes from their types, gradients against finite differences, and the
// properties that make them what they are (a decoder only takes its own encoder's skips; mask
// attention ignores occluded features; the discriminators' logit maps).
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
}  // namespace

TEST_SUITE("blocks") {
  TEST_CASE("U-Net: encoder skips and decoder output have the spec's shapes; widths cap at 8x") {
    using Spec = blocks::UNetSpec<4, 3, 32, 5, 8>;
    static_assert(Spec::width(0) == 8 && Spec::width(3) == 64 && Spec::width(4) == 64);
    static_assert(Spec::side(0) == 16 && Spec::side(4) == 1);
    blocks::UNetEncoder<Spec> enc;
    blocks::UNetDecoder<Spec> dec;
    init(enc, 1);
    init(dec, 2);
    const auto x = test::random_tensor<float, Shape<2, 4, 32, 32>>(3);
    Graph g;
    auto skips = enc(g.input(x));
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(skips.get<0>())>, Var<float, Shape<2, 8, 16, 16>>>);
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(skips.get<4>())>, Var<float, Shape<2, 64, 1, 1>>>);
    auto y = dec(skips);
    static_assert(std::is_same_v<decltype(y), Var<float, Shape<2, 3, 32, 32>>>);
    for (index_t i = 0; i < y.size; ++i) REQUIRE(std::abs(y.value()[i]) <= 1.f);  // tanh output
    // Names: PyTorch-style paths through the levels; no bias where batch norm follows.
    std::vector<std::string> names;
    nn::for_each_parameter(enc, [&](const std::string& n, auto&) { names.push_back(n); });
    CHECK(names.front() == "0.conv.weight");
    CHECK(names[1] == "0.conv.bias");
    CHECK(names[2] == "1.conv.weight");
    CHECK(names[3] == "1.norm.weight");
  }

  TEST_CASE("U-Net gradients match finite differences (double, batch norm in training mode)") {
    using Spec = blocks::UNetSpec<2, 1, 8, 2, 2, double>;
    blocks::UNetEncoder<Spec> enc;
    blocks::UNetDecoder<Spec> dec;
    init(enc, 4);
    init(dec, 5);
    const auto x = test::random_tensor<double, Shape<2, 2, 8, 8>>(6);
    const auto r = gradcheck([&](const auto& v) { return dec(enc(v)); }, x);
    CHECK_MESSAGE(r.ok, r.message);
  }

  TEST_CASE("mask attention: output shape, occluded features are ignored, gradients") {
    blocks::MaskAttention<4, false, false, double> mam;
    init(mam, 7);
    const auto e = test::random_tensor<double, Shape<2, 4, 3, 3>>(8);
    Tensor<double, Shape<2, 1, 3, 3>> mask;
    mask[4] = 1;   // item 0, centre pixel occluded
    mask[9] = 1;   // item 1, first pixel
    Graph g;
    auto y = mam(g.input(e), g.input(mask));
    static_assert(std::is_same_v<decltype(y), Var<double, Shape<2, 4, 3, 3>>>);
    // Changing the features under the mask changes nothing: X_m zeroes them before Q, K and O.
    auto e2 = e.clone();
    for (index_t c = 0; c < 4; ++c) e2(0, c, 1, 1) += 5.0;
    auto y2 = mam(g.input(e2), g.input(mask));
    for (index_t i = 0; i < y.size; ++i) REQUIRE(y.value()[i] == doctest::Approx(y2.value()[i]).epsilon(1e-14));
    const auto r = gradcheck([&](const auto& v) { return mam(v, mask); }, e);
    CHECK_MESSAGE(r.ok, r.message);
    // C' = C/8 and a learnable gamma that starts at 0 (the block starts as X_m).
    blocks::MaskAttention<16, true, true, double> small;
    init(small, 9);
    static_assert(decltype(small)::key_channels == 2);
    const auto e3 = test::random_tensor<double, Shape<1, 16, 2, 2>>(10);
    auto y3 = small(g.input(e3), g.input(Tensor<double, Shape<1, 1, 2, 2>>()));
    for (index_t i = 0; i < y3.size; ++i) CHECK(y3.value()[i] == e3[i]);
    const auto rg = gradcheck_params([&](Graph& graph) { return small(graph.input(e3), graph.input(Tensor<double, Shape<1, 1, 2, 2>>())); },
                                     small.gamma, small.query.weight);
    CHECK_MESSAGE(rg.ok, rg.message);
  }

  TEST_CASE("discriminators: logit maps of the documented sizes, gradients") {
    blocks::ResidualDiscriminator<3, 4> res;
    blocks::PatchDiscriminator<3, 4> patch;
    init(res, 11);
    init(patch, 12);
    const auto x = test::random_tensor<float, Shape<2, 3, 128, 128>>(13);
    Graph g;
    static_assert(std::is_same_v<decltype(res(g.input(x))), Var<float, Shape<2, 1, 4, 4>>>);  // 4x4 at 128
    static_assert(std::is_same_v<decltype(patch(g.input(x))), Var<float, Shape<2, 1, 14, 14>>>);
    blocks::ResidualDiscriminator<3, 2, double> small;
    init(small, 14);
    const auto xs = test::random_tensor<double, Shape<2, 3, 32, 32>>(15);
    GradcheckOptions o;
    o.max_elements = 64;
    const auto r = gradcheck(o, [&](const auto& v) { return small(v); }, xs);
    CHECK_MESSAGE(r.ok, r.message);
  }
}
