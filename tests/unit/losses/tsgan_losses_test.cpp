// TSGAN's loss terms on tiny fixed inputs computed by hand, their documented properties, and
// their gradients.
#include <doctest/doctest.h>

#include <cmath>

#include "support.hpp"
#include "tsgan/autograd/gradcheck.hpp"
#include "tsgan/losses/adversarial.hpp"
#include "tsgan/losses/dual_triplet.hpp"
#include "tsgan/losses/identity.hpp"
#include "tsgan/losses/pixel.hpp"

using namespace tsgan;

TEST_SUITE("losses") {
  TEST_CASE("sigmoid cross-entropy: soft real target 0.9, fake target 0") {
    Tensor<double, Shape<2, 1, 1, 2>> logits;
    const double v[4] = {0.5, -1.0, 2.0, 0.0};
    for (int i = 0; i < 4; ++i) logits[i] = v[i];
    Graph g;
    auto x = g.input(logits);
    auto sp = [](double z) { return std::log1p(std::exp(z)); };
    double want_real = 0, want_fake = 0;
    for (double z : v) {
      want_real += sp(z) - 0.9 * z;
      want_fake += sp(z);
    }
    CHECK(losses::generator_adversarial_loss(x, 0.9).value()[0] == doctest::Approx(want_real / 4));
    CHECK(losses::discriminator_loss(x, x, 0.9).value()[0] == doctest::Approx((want_real + want_fake) / 4));
  }

  TEST_CASE("pixel L1 sums over pixels and averages over batch x channels") {
    Tensor<double, Shape<2, 1, 2, 2>> a, b;
    for (index_t i = 0; i < 8; ++i) {
      a[i] = double(i);
      b[i] = double(i) + (i % 2 ? 1.0 : -0.5);
    }
    Graph g;
    CHECK(losses::pixel_l1(g.input(a), g.input(b)).value()[0] == doctest::Approx((4 * 1.0 + 4 * 0.5) / 2));
    CHECK(gradcheck([&](const auto& x) { return losses::pixel_l1(x, b); }, test::random_tensor<double, Shape<2, 1, 2, 2>>(1)).ok);
  }

  TEST_CASE("symmetry: zero for a mirror-symmetric face, a hand value otherwise, gradients only through the right half") {
    Tensor<double, Shape<1, 1, 2, 8>> sym;  // pooled to 1 x 4: columns 0..3
    const double row[8] = {1, 3, 5, 7, 7, 5, 3, 1};
    for (index_t y = 0; y < 2; ++y)
      for (index_t x = 0; x < 8; ++x) sym(0, 0, y, x) = row[x];
    Graph g;
    CHECK(losses::symmetry(g.input(sym)).value()[0] == 0.0);
    Tensor<double, Shape<1, 1, 2, 8>> ramp;
    for (index_t y = 0; y < 2; ++y)
      for (index_t x = 0; x < 8; ++x) ramp(0, 0, y, x) = double(x);
    // Pooled: 0.5, 2.5, 4.5, 6.5; left half w < 2: |0.5 − 6.5| + |2.5 − 4.5| = 8.
    CHECK(losses::symmetry(g.input(ramp)).value()[0] == doctest::Approx(8.0));
    auto v = g.variable(ramp.clone());
    losses::symmetry(v).backward();
    // The left columns (stop-gradient side) get nothing; the right ones get ±1/4 per pixel.
    CHECK(v.grad()(0, 0, 0, 0) == 0.0);
    CHECK(v.grad()(0, 0, 0, 7) == doctest::Approx(0.25));
  }

  TEST_CASE("total variation: zero for a constant image, mean over the batch") {
    Tensor<double, Shape<2, 1, 2, 2>> x;
    const double v[8] = {0, 1, 3, 2, 5, 5, 5, 5};
    for (int i = 0; i < 8; ++i) x[i] = v[i];
    Graph g;
    CHECK(losses::total_variation_loss(g.input(x)).value()[0] == doctest::Approx((6.0 + 0.0) / 2));
  }

  TEST_CASE("identity loss: mean |Δembedding| + Σ |Δfeature map| / (B·C_p)") {
    struct Features {
      Var<double, Shape<2, 3>> embedding;
      Var<double, Shape<2, 2, 1, 2>> feature_map;
    };
    Tensor<double, Shape<2, 3>> e1, e2;
    Tensor<double, Shape<2, 2, 1, 2>> m1, m2;
    for (index_t i = 0; i < 6; ++i) e2[i] = 0.5;        // |Δ| = 0.5 each → mean 0.5
    for (index_t i = 0; i < 8; ++i) m2[i] = double(i);  // Σ = 28 → / 4 = 7
    Graph g;
    Features a{g.input(e1), g.input(m1)}, b{g.input(e2), g.input(m2)};
    CHECK(losses::identity_loss(a, b).value()[0] == doctest::Approx(0.5 + 7.0));
  }

  TEST_CASE("dual triplet: ln 2 when both distances are equal, smaller for a far negative, gradients") {
    losses::DualTripletLoss<double, 4> dtl;
    const auto real = test::random_tensor<double, Shape<3, 4>>(1);
    const auto fake = test::random_tensor<double, Shape<3, 4>>(2);
    Graph g;
    // Negative equal to the positive: d⁺ = d⁻, softplus(0) = ln 2.
    auto same = dtl(g.input(fake), g.input(real), real.clone());
    CHECK(same.value()[0] == doctest::Approx(std::log(2.0)));
    // A negative opposite to the fake embedding: d⁻ = 4, d⁺ = 0 when fake = real.
    Tensor<double, Shape<3, 4>> opposite = real * -1.0;
    auto far = dtl(g.input(real), g.input(real), std::move(opposite));
    CHECK(far.value()[0] == doctest::Approx(std::log1p(std::exp(-4.0))));
    const auto r = gradcheck([&](const auto& f) { return dtl(f, real, test::random_tensor<double, Shape<3, 4>>(3)); }, fake);
    CHECK_MESSAGE(r.ok, r.message);
  }

  TEST_CASE("dual triplet negatives: batch roll skips the same identity; running centres pick the nearest other") {
    losses::DualTripletLoss<double, 2> roll;
    Tensor<double, Shape<4, 2>> real;
    for (index_t i = 0; i < 8; ++i) real[i] = double(i);
    const std::array<std::int64_t, 4> ids{7, 7, 3, 7};
    auto neg = roll.negatives(real, ids);
    for (index_t b = 0; b < 4; ++b) {
      const index_t want = b == 2 ? 3 : 2;  // the next item of another identity, cyclically
      CHECK(neg(b, 0) == real(want, 0));
    }
    losses::DualTripletLoss<double, 2> centres(losses::Negatives::running_centres);
    Tensor<double, Shape<3, 2>> r;
    const double v[6] = {1, 0, 0, 1, -1, 0};
    for (int i = 0; i < 6; ++i) r[i] = v[i];
    centres.update_centres(r, std::array<std::int64_t, 3>{1, 2, 3});
    auto n = centres.negatives(r, std::array<std::int64_t, 3>{1, 2, 3});
    CHECK(n(0, 0) == 0.0);  // nearest other centre to (1, 0) is (0, 1), not (−1, 0)
    CHECK(n(0, 1) == 1.0);
    Tensor<double, Shape<2, 2>> one_id;
    CHECK_THROWS_WITH_AS(roll.negatives(one_id, std::array<std::int64_t, 2>{5, 5}), doctest::Contains("two identities"), Error);
  }
}
